"""One training loop for every model of the course: `fit`, `predict`, and the `History` they record.

    history = fit(model, train_loader, dev_loader, loss_fn=..., score_fn=..., epochs=10)
    history.plot()

`fit` runs on CPU, CUDA or Apple MPS, on several GPUs under ``accelerate launch``, in fp16/bf16
mixed precision, writes safetensors checkpoints and resumes from them exactly.
"""
import copy
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Callable

import numpy as np
import torch
from accelerate import Accelerator
from accelerate.state import AcceleratorState
from accelerate.utils import DataLoaderConfiguration
from torch.utils.data import DataLoader
from tqdm.auto import tqdm

from faslearn import metrics
from faslearn.checkpoints import load_checkpoint, save_checkpoint
from faslearn.utils import check_number, derive_seed, get_device, seed_everything

if TYPE_CHECKING:  # for annotations only: imported where used, so `import faslearn.train` stays light
    import pandas
    from matplotlib.figure import Figure


def _headline_keys(record: dict) -> list[str]:
    """The few numbers worth watching: losses, dev ACER, and HTER/AUC of every test split."""
    return [k for k in record if k.endswith("_loss") or k == "dev_acer"
            or (k.endswith(("_hter", "_auc")) and not k.startswith("dev_"))]


def make_accelerator(device: str | None, mixed_precision: str, data_seed: int | None = None) -> Accelerator:
    """A fresh accelerate ``Accelerator`` on ``device`` ("cpu" forces the CPU; otherwise accelerate picks the
    GPU or MPS) in ``mixed_precision`` ("no", "fp16", "bf16"). accelerate keeps one state per process: it is
    reset, so successive loops in a notebook may use different precisions. With ``data_seed`` the data
    loaders it prepares shuffle as a function of (data_seed, epoch), which every process agrees on."""
    if mixed_precision not in ("no", "fp16", "bf16"):
        raise ValueError(f"mixed_precision must be 'no', 'fp16' or 'bf16', got {mixed_precision!r}")
    try:
        wanted = get_device(device)  # "cuda" without a GPU would otherwise train on the CPU without a word
    except (RuntimeError, TypeError):
        raise ValueError(f"device must be 'cpu', 'cuda', 'cuda:N', 'mps' or None, got {device!r}") from None
    if wanted.type == "cuda" and not torch.cuda.is_available():
        raise ValueError(f"device={device!r} but torch sees no CUDA GPU; use device=None (the best there is) or 'cpu'")
    if wanted.type == "mps" and not torch.backends.mps.is_available():
        raise ValueError(f"device={device!r} but this torch has no Apple MPS backend; use device=None or 'cpu'")
    AcceleratorState._reset_state()
    loaders = DataLoaderConfiguration(use_seedable_sampler=True, data_seed=data_seed) if data_seed is not None else None
    return Accelerator(cpu=wanted.type == "cpu", mixed_precision=mixed_precision,
                       dataloader_config=loaders)


def reseed(seed: int, index: int) -> int:
    """Reset Python's, NumPy's and torch's generators from (seed, index), e.g. (run seed, epoch), and return
    the seed used: every random draw of that epoch or step is then the same whether or not the run was
    interrupted before it, which is what makes resuming exact."""
    index_seed = derive_seed(seed, index)
    seed_everything(index_seed)
    return index_seed


def load_resume_state(path: Path | None, run: dict, module: torch.nn.Module, optimizer: torch.optim.Optimizer,
                      scheduler: torch.optim.lr_scheduler.LRScheduler | None = None,
                      compare: tuple[str, ...] | None = None) -> dict | None:
    """The state saved in the checkpoint ``path`` by an earlier run of the same loop, loaded into ``module``,
    ``optimizer`` and ``scheduler``; None when there is none to resume. The earlier run's settings must equal
    ``run`` (on the keys ``compare`` only, where given), else ValueError: weights trained otherwise would
    silently continue under new settings."""
    if path is None or not path.is_file():
        return None
    state = load_checkpoint(path, module, optimizer, scheduler)
    keys = compare or tuple(run)
    if {k: state["run"].get(k) for k in keys} != {k: run[k] for k in keys} or set(state["run"]) != set(run):
        raise ValueError(f"{path} was written by a run with {state['run']}, not {run}; "
                         "pass resume=False or another checkpoint_dir")
    return state


def save_resume_state(path: Path | None, accelerator: Accelerator, module: torch.nn.Module,
                      optimizer: torch.optim.Optimizer, scheduler: torch.optim.lr_scheduler.LRScheduler | None = None,
                      state: dict | None = None) -> None:
    """Write the checkpoint ``load_resume_state`` reads (weights, optimizer, scheduler, ``state``) to ``path``,
    from the main process only, while the others wait; nothing when ``path`` is None."""
    if path is None:
        return
    if accelerator.is_main_process:
        save_checkpoint(path, accelerator.unwrap_model(module), optimizer, scheduler, state)
    accelerator.wait_for_everyone()


@dataclass
class History:
    """What `fit` measured: ``records[i]`` is the dict of epoch i+1 (epoch, lr, train_loss,
    dev_loss, dev_<metric>, <test split>_<metric>)."""

    records: list[dict] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.records)

    def __getitem__(self, key: str) -> list[float]:
        """One column: ``history["dev_acer"]`` is the dev ACER of every epoch."""
        return [record.get(key, math.nan) for record in self.records]

    @property
    def last(self) -> dict:
        return self.records[-1]

    def best(self, key: str, mode: str | None = None) -> dict:
        """The record with the lowest ``key`` (the highest for AUC, or when ``mode="max"``)."""
        mode = mode or ("max" if key.endswith("auc") else "min")
        candidates = [r for r in self.records if not math.isnan(r.get(key, math.nan))]
        if not candidates:
            raise ValueError(f"no epoch recorded a value for {key!r}; keys are {list(self.last)}")
        return (max if mode == "max" else min)(candidates, key=lambda r: r[key])

    def to_frame(self) -> "pandas.DataFrame":
        """A pandas DataFrame indexed by epoch (needs pandas)."""
        import pandas as pd

        return pd.DataFrame(self.records).set_index("epoch")

    def plot(self, keys: list[str] | None = None) -> "Figure":
        """Curves against epoch: losses on the left, error rates and AUC on the right."""
        from matplotlib.figure import Figure  # not pyplot: the returned figure is shown once

        keys = keys or _headline_keys(self.last)
        loss_keys = [k for k in keys if k.endswith("loss")]
        panels = [p for p in (loss_keys, [k for k in keys if k not in loss_keys]) if p]
        fig = Figure(figsize=(5 * len(panels), 3.5))
        for ax, panel in zip(fig.subplots(1, len(panels), squeeze=False)[0], panels):
            for key in panel:
                ax.plot(self["epoch"], self[key], marker="o", label=key)
            ax.set_xlabel("epoch")
            ax.legend()
        fig.tight_layout()
        return fig


@torch.no_grad()
def predict(model: torch.nn.Module, loader: DataLoader, score_fn: Callable, *, input_key: str = "image",
            loss_fn: Callable | None = None, device: str | torch.device | None = None,
            accelerator: Accelerator | None = None) -> dict:
    """Score every sample of ``loader`` (higher = bona fide), in loader order.

    Returns numpy arrays ``scores``, ``labels``, ``pai`` and ``video`` (None when the batches carry
    no such key), plus the mean per-sample ``loss`` when ``loss_fn`` is given. The model runs on
    ``device`` (default: where its parameters are). `fit` passes its ``accelerator`` instead, which
    places the batches and gathers the shards of all processes.
    """
    was_training = model.training
    model.eval()
    if accelerator is None:
        device = torch.device(device) if device else next(model.parameters()).device
        model.to(device)
    gather = accelerator.gather_for_metrics if accelerator else (lambda x: x)
    columns = {"scores": [], "labels": [], "pai": [], "video": [], "loss": []}
    for batch in loader:
        if accelerator is None:
            batch = {k: v.to(device) if torch.is_tensor(v) else v for k, v in batch.items()}
        outputs = model(batch[input_key])
        columns["scores"].append(gather(score_fn(outputs, batch).float()).cpu().numpy())
        columns["labels"].append(gather(batch["label"]).cpu().numpy())
        for key in ("pai", "video"):
            if key in batch:
                columns[key].append(np.asarray(gather(list(batch[key]))))
        if loss_fn is not None:
            # the batch mean once per sample: their average over the data set weighs batches by size
            batch_loss = loss_fn(outputs, batch).detach().float().expand(len(batch["label"]))
            columns["loss"].append(gather(batch_loss.contiguous()).cpu().numpy())
    model.train(was_training)
    result = {k: np.concatenate(v) if v else None for k, v in columns.items() if k != "loss"}
    if loss_fn is not None:
        result["loss"] = float(np.concatenate(columns["loss"]).mean())
    return result


def fit(model: torch.nn.Module, train_loader: DataLoader, dev_loader: DataLoader, *, loss_fn: Callable,
        score_fn: Callable, epochs: int, lr: float = 1e-3, weight_decay: float = 1e-4, optimizer: str = "adamw",
        scheduler: str | None = "cosine", input_key: str = "image", device: str | None = None,
        mixed_precision: str = "no", checkpoint_dir: str | Path | None = None, resume: bool = True, seed: int = 0,
        test_loaders: dict[str, DataLoader] | None = None, progress: bool = True, grad_clip: float | None = None,
        on_epoch_end: Callable[[dict], None] | None = None, log: Callable | None = print) -> History:
    """Train ``model`` for ``epochs`` epochs; after each, evaluate it on dev and the test loaders.

    The model is called as ``outputs = model(batch[input_key])``. After every epoch the EER threshold of
    the dev scores is applied to dev and to each test split (`metrics.evaluate`) and one record joins the
    returned `History`. Resuming is exact, the same final weights as an uninterrupted run on CPU, because
    every random draw of epoch e (shuffle order, dropout, augmentation, DataLoader worker seeds) comes from
    generators reset from (seed, e) when the epoch starts (`reseed`): no RNG state is carried across
    epochs. The weights' initialisation is the caller's: call `seed_everything` before building the model.

    Args:
        model: the network to train, in place.
        train_loader, dev_loader: loaders of dict batches with ``input_key``, ``label`` and optionally
            ``pai`` and ``video``.
        loss_fn: ``loss_fn(outputs, batch)`` → the scalar to minimise (`faslearn.losses`).
        score_fn: ``score_fn(outputs, batch)`` → (B,) scores, higher = bona fide.
        epochs: passes over ``train_loader``.
        lr, weight_decay: the optimizer's.
        optimizer: "adamw", or "sgd" (momentum 0.9).
        scheduler: "cosine", lr_e = lr · (1 + cos(π e / epochs)) / 2 for epoch e = 0 .. epochs-1, or None
            (constant lr).
        input_key: the batch entry the model takes.
        device: "cpu" forces the CPU; otherwise accelerate picks the GPU or MPS.
        mixed_precision: "no", "fp16" or "bf16".
        checkpoint_dir: receives ``last.safetensors`` (model, optimizer, scheduler, history) after every
            epoch and ``model.safetensors`` (weights only, for `load_weights`) at the end.
        resume: load an existing ``last.safetensors`` of the same settings and run only the remaining epochs.
        seed: the run's seed, from which every epoch's draws are derived.
        test_loaders: {split name: loader} scored after every epoch at the dev threshold.
        progress: show a progress bar per epoch.
        grad_clip: the largest global gradient norm, or None.
        on_epoch_end: ``on_epoch_end(record)`` runs after each epoch's checkpoint.
        log: prints one summary line per epoch (None: silent).
    """
    if optimizer not in ("adamw", "sgd"):
        raise ValueError(f"optimizer must be 'adamw' or 'sgd', got {optimizer!r}")
    if scheduler not in ("cosine", None):
        raise ValueError(f"scheduler must be 'cosine' or None, got {scheduler!r}")
    epochs = check_number(epochs, "epochs", 1, integer=True)
    lr = check_number(lr, "lr", above=0)
    check_number(weight_decay, "weight_decay", 0)
    if grad_clip is not None:
        check_number(grad_clip, "grad_clip", above=0)
    check_number(seed, "seed", 0, integer=True)
    test_loaders = test_loaders or {}
    if not isinstance(test_loaders, dict):
        raise ValueError(f"test_loaders must be a dict {{split name: loader}}, got {type(test_loaders).__name__}")

    accelerator = make_accelerator(device, mixed_precision, data_seed=seed)
    say = log if (log and accelerator.is_main_process) else (lambda *args: None)

    trainable = [p for p in model.parameters() if p.requires_grad]
    if optimizer == "adamw":
        opt = torch.optim.AdamW(trainable, lr=lr, weight_decay=weight_decay)
    else:
        opt = torch.optim.SGD(trainable, lr=lr, momentum=0.9, weight_decay=weight_decay)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=epochs) if scheduler else None

    # resume: weights, optimizer moments, lr schedule, grad scaler and the history so far
    history, start = History(), 0
    run = {"epochs": epochs, "seed": seed, "lr": lr, "optimizer": optimizer, "scheduler": scheduler}
    last_path = Path(checkpoint_dir) / "last.safetensors" if checkpoint_dir else None
    state = load_resume_state(last_path, run, model, opt, sched) if resume else None
    if state is not None:
        if accelerator.scaler is not None and "grad_scaler" in state:
            accelerator.scaler.load_state_dict(state["grad_scaler"])
        history, start = History(state["history"]), state["epoch"]
        say(f"resumed from {last_path} after epoch {start}/{epochs}")

    model, opt, train_loader, dev_loader, *tests = accelerator.prepare(
        model, opt, train_loader, dev_loader, *test_loaders.values())
    test_loaders = dict(zip(test_loaders, tests))

    for epoch in range(start, epochs):
        epoch_seed = reseed(seed, epoch)  # epoch e draws the same numbers, interrupted before it or not
        if train_loader.generator is not None:
            train_loader.generator.manual_seed(epoch_seed)
        train_loader.set_epoch(epoch)

        # one pass over the training data
        model.train()
        total_loss, steps = 0.0, 0
        bar = tqdm(train_loader, desc=f"epoch {epoch + 1}/{epochs}", leave=False,
                   disable=not (progress and accelerator.is_main_process))
        for batch in bar:
            loss = loss_fn(model(batch[input_key]), batch)
            opt.zero_grad(set_to_none=True)
            accelerator.backward(loss)  # scales the loss under fp16
            if grad_clip is not None:
                accelerator.clip_grad_norm_(model.parameters(), grad_clip)
            opt.step()
            total_loss, steps = total_loss + loss.item(), steps + 1
            bar.set_postfix(loss=f"{total_loss / steps:.4f}")
        train_loss = torch.tensor(total_loss / steps, device=accelerator.device)
        record = {"epoch": epoch + 1, "lr": opt.param_groups[0]["lr"],
                  "train_loss": accelerator.reduce(train_loss, "mean").item()}
        if sched is not None:
            sched.step()

        # evaluation: the dev EER threshold is applied to dev itself and to every test split
        splits = {"dev": predict(model, dev_loader, score_fn, input_key=input_key, loss_fn=loss_fn,
                                 accelerator=accelerator)}
        for name, loader in test_loaders.items():
            splits[name] = predict(model, loader, score_fn, input_key=input_key,
                                   accelerator=accelerator)
        dev = splits["dev"]
        record["dev_loss"] = dev["loss"]
        for name, split in splits.items():
            result = metrics.evaluate(dev["scores"], dev["labels"], split["scores"],
                                      split["labels"], test_pai=split["pai"])
            record |= {f"{name}_{k}": float(v) for k, v in result.items()
                       if isinstance(v, (int, float, np.number))}  # drops apcer_per_pai, protocol
        history.records.append(record)

        state = {"epoch": epoch + 1, "run": run, "history": history.records}
        if accelerator.scaler is not None:
            state["grad_scaler"] = accelerator.scaler.state_dict()
        save_resume_state(last_path, accelerator, model, opt, sched, state)
        say(f"epoch {epoch + 1}/{epochs}  "
            + "  ".join(f"{k} {record[k]:.4f}" for k in _headline_keys(record)))
        if on_epoch_end is not None:
            on_epoch_end(record)

    if checkpoint_dir and accelerator.is_main_process:
        save_checkpoint(Path(checkpoint_dir) / "model.safetensors", accelerator.unwrap_model(model))
    accelerator.wait_for_everyone()
    accelerator.unwrap_model(model, keep_fp32_wrapper=False)  # removes the autocast hook
    return history


def fit_steps(model: torch.nn.Module, draw_batch: Callable[[np.random.Generator], object], loss_fn: Callable, *,
              steps: int, lr: float = 1e-4, weight_decay: float = 0.0, ema_decay: float | None = None,
              warmup: int = 0, device: str | None = None, mixed_precision: str = "no", grad_clip: float | None = 1.0,
              checkpoint_dir: str | Path | None = None, checkpoint_every: int = 100, resume: bool = True,
              seed: int = 0, progress: bool = True, desc: str = "training",
              extra_parameters: tuple | list = ()) -> dict:
    """Train ``model`` for a number of optimiser steps on batches it draws itself: the loop of models
    that learn without a dev split to threshold (the DFG's autoencoder and UNet, the identity encoder).

    Step s reseeds every generator from (seed, s) (`reseed`), calls ``batch = draw_batch(rng)`` with a NumPy
    generator seeded from the same pair, then minimises ``loss_fn(model, batch)`` with AdamW. Every random
    draw of a step is thus a function of (seed, step), so a resumed run reproduces an uninterrupted one on
    CPU. A checkpoint may come from a run with fewer ``steps`` and otherwise the same settings: as the
    learning rate is constant after warm-up, training on to more steps gives the weights of one run that
    long (a budget can be raised without starting again).

    Args:
        model: the network to train, in place.
        draw_batch: ``draw_batch(rng)`` → one batch, from the NumPy generator of the step.
        loss_fn: ``loss_fn(model, batch)`` → the scalar to minimise.
        steps: optimiser steps in all (a resumed run does the remaining ones).
        lr, weight_decay: AdamW's.
        ema_decay: keep an exponential moving average of the weights, θ_ema ← d·θ_ema + (1 − d)·θ, and
            copy it into ``model`` at the end (diffusion models sample from it); None: none.
        warmup: steps over which the learning rate ramps linearly up to ``lr``, which then stays constant
            (the LDM recipe).
        device, mixed_precision: as in `fit`.
        grad_clip: the largest global gradient norm, or None.
        checkpoint_dir: receives ``last.safetensors`` (weights, EMA, optimizer, loss history) every
            ``checkpoint_every`` steps and at the end.
        resume: load an existing ``last.safetensors`` of the same settings and run the remaining steps.
        seed: the run's seed, from which every step's draws are derived.
        progress, desc: the progress bar and its label.
        extra_parameters: trained alongside the model's (e.g. an ArcFace head's class centres).

    Returns:
        ``{"loss": [the loss of every step], "steps": steps}``.
    """
    steps = check_number(steps, "steps", 1, integer=True)
    lr = check_number(lr, "lr", above=0)
    check_number(seed, "seed", 0, integer=True)
    if ema_decay is not None and not 0 < ema_decay < 1:
        raise ValueError(f"ema_decay must be in (0, 1) or None, got {ema_decay}")
    accelerator = make_accelerator(device, mixed_precision)
    extra = list(extra_parameters)
    optimizer = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad] + extra, lr=lr,
                                  weight_decay=weight_decay)
    ema = copy.deepcopy(model).requires_grad_(False) if ema_decay else None
    # one module to save: the weights, their average and the extra parameters
    saved = torch.nn.ModuleDict({"model": model, **({"ema": ema} if ema is not None else {}),
                                 "extra": torch.nn.ParameterList(extra)})
    run = {"steps": steps, "lr": lr, "seed": seed, "ema_decay": ema_decay, "warmup": warmup}
    last_path = Path(checkpoint_dir) / "last.safetensors" if checkpoint_dir else None
    losses, start = [], 0
    # a run may be resumed with more steps than it was started with (the learning rate is constant by then)
    state = (load_resume_state(last_path, run, saved, optimizer, compare=("lr", "seed", "ema_decay", "warmup"))
             if resume else None)
    if state is not None:
        if state["step"] > steps:
            raise ValueError(f"{last_path} is at step {state['step']}, past steps={steps}; "
                             "pass resume=False or another checkpoint_dir")
        losses, start = state["loss"], state["step"]
    model, optimizer = accelerator.prepare(model, optimizer)

    def checkpoint(step: int) -> None:
        save_resume_state(last_path, accelerator, saved, optimizer, state={"step": step, "run": run, "loss": losses})

    model.train()
    bar = tqdm(range(start, steps), desc=desc, initial=start, total=steps, disable=not progress)
    for step in bar:
        step_seed = reseed(seed, step)
        batch = draw_batch(np.random.default_rng(step_seed))
        for group in optimizer.param_groups:
            group["lr"] = lr * min(1.0, (step + 1) / warmup) if warmup else lr
        with accelerator.autocast():
            loss = loss_fn(model, batch)
        optimizer.zero_grad(set_to_none=True)
        accelerator.backward(loss)
        if grad_clip is not None:
            accelerator.clip_grad_norm_(model.parameters(), grad_clip)
        optimizer.step()
        if ema is not None:
            with torch.no_grad():
                for average, weight in zip(ema.parameters(), accelerator.unwrap_model(model).parameters()):
                    average.lerp_(weight.detach().to(average.dtype), 1 - ema_decay)
        losses.append(loss.item())
        bar.set_postfix(loss=f"{np.mean(losses[-50:]):.4f}")
        if (step + 1) % checkpoint_every == 0 and step + 1 < steps:
            checkpoint(step + 1)
    checkpoint(steps)
    model = accelerator.unwrap_model(model, keep_fp32_wrapper=False)
    if ema is not None:
        model.load_state_dict(ema.state_dict())
    model.eval()
    return {"loss": losses, "steps": steps}
