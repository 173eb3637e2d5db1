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

import numpy as np
import torch
from accelerate import Accelerator
from accelerate.state import AcceleratorState
from accelerate.utils import DataLoaderConfiguration
from tqdm.auto import tqdm

from faslearn import metrics
from faslearn.checkpoints import load_checkpoint, save_checkpoint
from faslearn.utils import get_device, seed_everything


def _headline_keys(record: dict) -> list[str]:
    """The few numbers worth watching: losses, dev ACER, and HTER/AUC of every test split."""
    return [k for k in record if k.endswith("_loss") or k == "dev_acer"
            or (k.endswith(("_hter", "_auc")) and not k.startswith("dev_"))]


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

    def to_frame(self):
        """A pandas DataFrame indexed by epoch (needs pandas)."""
        import pandas as pd

        return pd.DataFrame(self.records).set_index("epoch")

    def plot(self, keys: list[str] | None = None):
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
def predict(model, loader, score_fn, *, input_key="image", loss_fn=None, device=None,
            accelerator=None) -> dict:
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


def fit(model, train_loader, dev_loader, *, loss_fn, score_fn, epochs, lr=1e-3, weight_decay=1e-4,
        optimizer="adamw", scheduler="cosine", input_key="image", device=None, mixed_precision="no",
        checkpoint_dir=None, resume=True, seed=0, test_loaders=None, progress=True, grad_clip=None,
        on_epoch_end=None, log=print) -> History:
    """Train ``model`` for ``epochs`` epochs; after each, evaluate it on dev and the test loaders.

    The model is called as ``outputs = model(batch[input_key])``; ``loss_fn(outputs, batch)``
    returns the scalar to minimise and ``score_fn(outputs, batch)`` the (B,) scores, higher =
    bona fide. After every epoch the EER threshold of the dev scores is applied to dev and to each
    test split (`metrics.evaluate`) and one record joins the returned `History`.

    Optimizer: AdamW, or SGD with momentum 0.9. Scheduler: cosine annealing per epoch,
    lr_e = lr · (1 + cos(π e / epochs)) / 2 for epoch e = 0 .. epochs-1, or None (constant lr).

    ``checkpoint_dir`` receives ``last.safetensors`` (model, optimizer, scheduler, history) after
    every epoch and ``model.safetensors`` (weights only, for `load_weights`) at the end. With
    ``resume``, an existing ``last.safetensors`` is loaded and only the remaining epochs run.
    Resuming is exact, the same final weights as an uninterrupted run on CPU, because every random
    draw of epoch e (shuffle order, dropout, augmentation, DataLoader worker seeds) comes from
    generators reset from (seed, e) when the epoch starts: no RNG state is carried across epochs.
    The weights' initialisation is the caller's: call `seed_everything` before building the model.

    ``device="cpu"`` forces the CPU, otherwise accelerate picks the GPU/MPS; ``mixed_precision``
    is "no", "fp16" or "bf16"; ``grad_clip`` bounds the global gradient norm;
    ``on_epoch_end(record)`` runs after each epoch's checkpoint; ``log`` prints one summary line
    per epoch (None: silent).
    """
    if optimizer not in ("adamw", "sgd"):
        raise ValueError(f"optimizer must be 'adamw' or 'sgd', got {optimizer!r}")
    if scheduler not in ("cosine", None):
        raise ValueError(f"scheduler must be 'cosine' or None, got {scheduler!r}")
    if epochs < 1:
        raise ValueError(f"epochs must be >= 1, got {epochs}")
    test_loaders = test_loaders or {}

    # accelerate keeps one state per process: reset it so that successive fit() calls in a
    # notebook may use different precisions. The seedable sampler makes the shuffle a function of
    # (seed, epoch) that every process agrees on.
    AcceleratorState._reset_state()
    accelerator = Accelerator(
        cpu=get_device(device).type == "cpu", mixed_precision=mixed_precision,
        dataloader_config=DataLoaderConfiguration(use_seedable_sampler=True, data_seed=seed),
    )
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
    if resume and last_path and last_path.is_file():
        state = load_checkpoint(last_path, model, opt, sched)
        if state["run"] != run:
            raise ValueError(f"{last_path} was written by a run with {state['run']}, not {run}; "
                             "pass resume=False or another checkpoint_dir")
        if accelerator.scaler is not None and "grad_scaler" in state:
            accelerator.scaler.load_state_dict(state["grad_scaler"])
        history, start = History(state["history"]), state["epoch"]
        say(f"resumed from {last_path} after epoch {start}/{epochs}")

    model, opt, train_loader, dev_loader, *tests = accelerator.prepare(
        model, opt, train_loader, dev_loader, *test_loaders.values())
    test_loaders = dict(zip(test_loaders, tests))

    for epoch in range(start, epochs):
        # reset every generator from (seed, epoch), so that epoch e draws the same numbers
        # whether or not the run was interrupted before it
        epoch_seed = int(np.random.SeedSequence([seed, epoch]).generate_state(1)[0])
        seed_everything(epoch_seed)
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

        if last_path:
            if accelerator.is_main_process:
                state = {"epoch": epoch + 1, "run": run, "history": history.records}
                if accelerator.scaler is not None:
                    state["grad_scaler"] = accelerator.scaler.state_dict()
                save_checkpoint(last_path, accelerator.unwrap_model(model), opt, sched, state)
            accelerator.wait_for_everyone()
        say(f"epoch {epoch + 1}/{epochs}  "
            + "  ".join(f"{k} {record[k]:.4f}" for k in _headline_keys(record)))
        if on_epoch_end is not None:
            on_epoch_end(record)

    if checkpoint_dir and accelerator.is_main_process:
        save_checkpoint(Path(checkpoint_dir) / "model.safetensors", accelerator.unwrap_model(model))
    accelerator.wait_for_everyone()
    accelerator.unwrap_model(model, keep_fp32_wrapper=False)  # removes the autocast hook
    return history


def fit_steps(model, draw_batch, loss_fn, *, steps, lr=1e-4, weight_decay=0.0, ema_decay=None, warmup=0,
              device=None, mixed_precision="no", grad_clip=1.0, checkpoint_dir=None, checkpoint_every=100,
              resume=True, seed=0, progress=True, desc="training", extra_parameters=()) -> dict:
    """Train ``model`` for a number of optimiser steps on batches it draws itself: the loop of models
    that learn without a dev split to threshold (the DFG's autoencoder and UNet, the identity encoder).

    Step s calls ``batch = draw_batch(rng)`` with a NumPy generator seeded from (seed, s), after seeding
    torch from the same pair, then minimises ``loss_fn(model, batch)`` with AdamW. Every random draw of a
    step is thus a function of (seed, step), so a resumed run reproduces an uninterrupted one on CPU.

    ``warmup`` steps ramp the learning rate linearly up to ``lr``, which then stays constant (the LDM
    recipe). With ``ema_decay`` an exponential moving average of the weights is kept,
    θ_ema ← d·θ_ema + (1 − d)·θ, and copied into ``model`` at the end (diffusion models sample from it).
    ``extra_parameters`` are trained alongside the model's (e.g. an ArcFace head's class centres).

    ``checkpoint_dir`` receives ``last.safetensors`` every ``checkpoint_every`` steps and at the end
    (weights, EMA, optimizer, loss history); with ``resume`` an existing one is loaded and the
    remaining steps run. A checkpoint may come from a run with fewer ``steps`` and otherwise the same
    settings: as the learning rate is constant after warm-up, training on to more steps gives the weights
    of one run that long (a budget can be raised without starting again). Returns
    ``{"loss": [mean loss per logged step], "steps": steps}``.
    """
    if steps < 1:
        raise ValueError(f"steps must be >= 1, got {steps}")
    if ema_decay is not None and not 0 < ema_decay < 1:
        raise ValueError(f"ema_decay must be in (0, 1) or None, got {ema_decay}")
    AcceleratorState._reset_state()
    accelerator = Accelerator(cpu=get_device(device).type == "cpu", mixed_precision=mixed_precision)
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
    if resume and last_path and last_path.is_file():
        state = load_checkpoint(last_path, saved, optimizer)
        settings = {k: v for k, v in run.items() if k != "steps"}
        if {k: v for k, v in state["run"].items() if k != "steps"} != settings or state["step"] > steps:
            raise ValueError(f"{last_path} was written by a run with {state['run']} (at step {state['step']}), "
                             f"not {run}; pass resume=False or another checkpoint_dir")
        losses, start = state["loss"], state["step"]
    model, optimizer = accelerator.prepare(model, optimizer)

    def checkpoint(step):
        if last_path and accelerator.is_main_process:
            save_checkpoint(last_path, saved, optimizer, state={"step": step, "run": run, "loss": losses})

    model.train()
    bar = tqdm(range(start, steps), desc=desc, initial=start, total=steps, disable=not progress)
    for step in bar:
        step_seed = int(np.random.SeedSequence([seed, step]).generate_state(1)[0])
        seed_everything(step_seed)
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
