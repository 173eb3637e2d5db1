"""The training loop and its checkpoints, on the toy task of ``tests/_toy.py`` (CPU, seconds); and
the three models that train_cdcn.ipynb compares on one CDCN backbone."""
import hashlib
import json
import math
import os
import struct
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from _toy import ToyFaces, loaders, loss_fn, score_fn, tiny_net, train_toy
from sklearn.metrics import roc_auc_score

from faslearn.checkpoints import file_sha256, load_checkpoint, load_or_train, load_weights, save_checkpoint
from faslearn.losses import BINARY
from faslearn.models.baselines import CDCNBinary, MultiTaskNet, cdcn_backbone
from faslearn.models.cdc import CDCN, Conv2dCD, MultiScaleCDCFeatures
from faslearn.train import History, fit, predict
from faslearn.utils import seed_everything

REPO = Path(__file__).resolve().parents[1]
EPOCHS = 4


def same_weights(a, b) -> bool:
    return all(torch.equal(x, y) for x, y in zip(a.state_dict().values(), b.state_dict().values()))


@pytest.fixture(scope="module")
def reference(tmp_path_factory):
    """An uninterrupted 4-epoch run: (trained model, history, checkpoint dir)."""
    checkpoint_dir = tmp_path_factory.mktemp("reference")
    model, history = train_toy(checkpoint_dir, epochs=EPOCHS, log=None)
    return model, history, checkpoint_dir


def test_fit_learns_the_toy_task_and_records_every_epoch(reference):
    model, history, _ = reference
    assert len(history) == EPOCHS and history["epoch"] == [1, 2, 3, 4]
    for record in history.records:
        assert {"lr", "train_loss", "dev_loss", "dev_acer", "dev_apcer", "dev_bpcer", "dev_eer",
                "test_hter", "test_auc", "test_apcer_pooled"} <= set(record)
    # cosine schedule per epoch: lr_e = 0.05 (1 + cos(pi e / 4)) / 2
    cosine = [0.05 * (1 + math.cos(math.pi * e / EPOCHS)) / 2 for e in range(EPOCHS)]
    assert history["lr"] == pytest.approx(cosine)

    # learned: the dev loss falls well below that of the untrained network (about ln 2)
    torch.manual_seed(0)
    untrained_loss = predict(tiny_net(), loaders()[1], score_fn, loss_fn=loss_fn)["loss"]
    assert untrained_loss > 0.6
    assert history.last["dev_loss"] < 0.6 * untrained_loss
    assert history.last["dev_acer"] < 0.2

    # the recorded numbers agree with independent computations on the final model
    dev = predict(model, loaders()[1], score_fn)
    assert dev["scores"].shape == (60,)  # 60 = 3 batches of 16 + one of 12
    expected_dev_loss = torch.nn.functional.binary_cross_entropy_with_logits(
        torch.from_numpy(dev["scores"]), torch.from_numpy(dev["labels"]).float()).item()
    assert history.last["dev_loss"] == pytest.approx(expected_dev_loss, abs=1e-5)
    test = predict(model, loaders()[2], score_fn)
    assert history.last["test_auc"] == pytest.approx(roc_auc_score(test["labels"], test["scores"]))
    # test HTER at the threshold chosen on dev: (FAR + FRR) / 2, accepting score >= threshold
    threshold = history.last["dev_threshold"]
    assert history.last["test_threshold"] == threshold
    accepted = test["scores"] >= threshold
    far, frr = accepted[test["labels"] == 0].mean(), (~accepted[test["labels"] == 1]).mean()
    assert history.last["test_hter"] == pytest.approx((far + frr) / 2)
    dataset = ToyFaces(64, seed=3)
    assert test["labels"].tolist() == dataset.labels.tolist()
    assert test["pai"].tolist() == dataset.pai


def test_history_best_and_plot():
    history = History([{"epoch": 1, "train_loss": 0.9, "dev_acer": 0.3, "test_auc": 0.7},
                       {"epoch": 2, "train_loss": 0.5, "dev_acer": 0.1, "test_auc": 0.6},
                       {"epoch": 3, "train_loss": 0.4, "dev_acer": 0.2, "test_auc": 0.8}])
    assert history.best("dev_acer")["epoch"] == 2
    assert history.best("test_auc")["epoch"] == 3
    assert history.best("train_loss", mode="max")["epoch"] == 1
    with pytest.raises(ValueError, match="dev_hter"):
        history.best("dev_hter")
    fig = history.plot()
    loss_ax, rate_ax = fig.axes
    assert [line.get_label() for line in loss_ax.lines] == ["train_loss"]
    assert [line.get_label() for line in rate_ax.lines] == ["dev_acer", "test_auc"]
    assert list(rate_ax.lines[0].get_ydata()) == [0.3, 0.1, 0.2]


@pytest.mark.parametrize("make_optimizer", [
    lambda params: torch.optim.AdamW(params, lr=0.01, betas=(0.8, 0.95)),
    lambda params: torch.optim.SGD(params, lr=0.01),  # momentum 0: its state holds None buffers
], ids=["adamw", "sgd"])
def test_checkpoint_round_trip_is_exact(tmp_path, make_optimizer):
    def build(seed):
        torch.manual_seed(seed)
        model = tiny_net()
        optimizer = make_optimizer(model.parameters())
        return model, optimizer, torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=5)

    model, optimizer, scheduler = build(0)
    batch = next(iter(loaders()[0]))
    for _ in range(3):
        optimizer.zero_grad()
        loss_fn(model(batch["image"]), batch).backward()
        optimizer.step()
        scheduler.step()
    state = {"epoch": 3, "history": [{"epoch": 1, "dev_acer": 0.25}]}
    save_checkpoint(tmp_path / "ckpt.safetensors", model, optimizer, scheduler, state)

    restored, restored_optimizer, restored_scheduler = build(1)
    loaded_state = load_checkpoint(tmp_path / "ckpt.safetensors", restored, restored_optimizer,
                                   restored_scheduler)
    assert loaded_state == state
    assert same_weights(restored, model)
    saved, loaded = optimizer.state_dict(), restored_optimizer.state_dict()
    assert loaded["param_groups"] == saved["param_groups"]  # betas come back as a tuple
    assert saved["state"].keys() == loaded["state"].keys()
    for param_id, param_state in saved["state"].items():
        assert param_state.keys() == loaded["state"][param_id].keys()
        for name, value in param_state.items():
            other = loaded["state"][param_id][name]
            assert torch.equal(other, value) if torch.is_tensor(value) else other == value
    assert restored_scheduler.state_dict() == scheduler.state_dict()


def test_checkpoint_is_plain_safetensors_without_pickle(tmp_path):
    model = tiny_net()
    path = save_checkpoint(tmp_path / "m.safetensors", model, torch.optim.AdamW(model.parameters()),
                           state={"epoch": 1})
    raw = path.read_bytes()
    # safetensors: u64 little-endian header length, the JSON header, then raw tensor bytes
    (header_size,) = struct.unpack("<Q", raw[:8])
    header = json.loads(raw[8:8 + header_size])
    assert json.loads(header.pop("__metadata__")["state"]) == {"epoch": 1}
    # no optimizer step was taken yet, so the optimizer has no tensors to store
    assert {name.split(".")[0] for name in header} == {"model"}
    # every byte after the header belongs to exactly one tensor: there is room for nothing else
    spans = sorted(entry["data_offsets"] for entry in header.values())
    assert spans[0][0] == 0 and all(a[1] == b[0] for a, b in zip(spans, spans[1:]))
    assert 8 + header_size + spans[-1][1] == len(raw)
    assert not list(tmp_path.glob("*.tmp"))  # the atomic write left no temporary file


def test_load_weights_checks_sha256(tmp_path):
    torch.manual_seed(0)
    path = save_checkpoint(tmp_path / "w.safetensors", tiny_net())
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    assert file_sha256(path) == digest
    model = load_weights(tiny_net(), path, sha256=digest.upper())
    torch.manual_seed(0)
    assert same_weights(model, tiny_net())
    with pytest.raises(ValueError, match=f"expected {'0' * 64}, got {digest}"):
        load_weights(tiny_net(), path, sha256="0" * 64)
    with pytest.raises(FileNotFoundError, match="missing.safetensors"):
        load_weights(tiny_net(), tmp_path / "missing.safetensors")


def test_load_or_train_trains_once_then_loads(tmp_path):
    path, calls = tmp_path / "model.safetensors", []

    def train_fn():
        calls.append(1)
        torch.manual_seed(0)
        save_checkpoint(path, tiny_net())

    first = load_or_train(path, train_fn, tiny_net())
    second = load_or_train(path, train_fn, tiny_net(), sha256=file_sha256(path))
    assert len(calls) == 1
    assert same_weights(first, second)
    with pytest.raises(ValueError, match="sha256 mismatch"):
        load_or_train(path, train_fn, tiny_net(), sha256="f" * 64)
    with pytest.raises(FileNotFoundError, match="did not write"):
        load_or_train(tmp_path / "never.safetensors", lambda: None, tiny_net())


def test_killed_run_resumes_to_the_same_weights(tmp_path, reference):
    _, history, reference_dir = reference
    command = [sys.executable, str(REPO / "tests" / "_toy.py"), str(tmp_path)]
    env = {**os.environ, "PYTHONPATH": str(REPO)}

    crashed = subprocess.run(command + ["2"], env=env, capture_output=True, text=True, timeout=120)
    assert crashed.returncode == 1, crashed.stderr  # os._exit(1) right after epoch 2's checkpoint
    assert "epoch 2/4" in crashed.stdout and "epoch 3/4" not in crashed.stdout
    assert not (tmp_path / "model.safetensors").exists()

    resumed = subprocess.run(command, env=env, capture_output=True, text=True, timeout=120)
    assert resumed.returncode == 0, resumed.stderr
    assert "resumed from" in resumed.stdout and "epoch 1/4" not in resumed.stdout
    assert "epoch 4/4" in resumed.stdout

    final = load_weights(tiny_net(), tmp_path / "model.safetensors").state_dict()
    expected = load_weights(tiny_net(), reference_dir / "model.safetensors").state_dict()
    for key, value in expected.items():
        assert torch.equal(final[key], value), key
    # the restored history of epochs 1-2 plus the new epochs 3-4 equal the uninterrupted history
    assert load_checkpoint(tmp_path / "last.safetensors", tiny_net())["history"] == history.records


def test_resume_refuses_a_checkpoint_from_another_run(reference):
    _, _, reference_dir = reference
    with pytest.raises(ValueError, match="resume=False"):
        train_toy(reference_dir, epochs=EPOCHS + 1, log=None)


def test_fit_rejects_unknown_options():
    train, dev, _ = loaders()
    with pytest.raises(ValueError, match="'adamw' or 'sgd'"):
        fit(tiny_net(), train, dev, loss_fn=loss_fn, score_fn=score_fn, epochs=1, optimizer="adam")
    with pytest.raises(ValueError, match="'cosine' or None"):
        fit(tiny_net(), train, dev, loss_fn=loss_fn, score_fn=score_fn, epochs=1, scheduler="step")


def test_bf16_mixed_precision_on_cpu(tmp_path):
    torch.manual_seed(0)
    model = tiny_net()
    train, dev, _ = loaders()
    try:
        history = fit(model, train, dev, loss_fn=loss_fn, score_fn=score_fn, epochs=1, device="cpu",
                      mixed_precision="bf16", progress=False, log=None)
    except (ValueError, RuntimeError) as error:  # a build without CPU bf16 autocast
        pytest.skip(f"bf16 autocast unavailable on this CPU: {error}")
    assert len(history) == 1 and np.isfinite(history.last["train_loss"])
    assert 0.0 <= history.last["dev_acer"] <= 1.0
    # the model handed back computes in fp32 again: no autocast hook left on its forward
    plain = tiny_net()
    plain.load_state_dict(model.state_dict())
    x = torch.randn(4, 3, 8, 8)
    assert torch.equal(model.eval()(x), plain.eval()(x))


# The supervision comparison: cdcn_binary, cdcn and multitask differ in their heads and losses only


def same_backbone_models(theta, width):
    """{model name of train_cdcn.ipynb: (model, its backbone)}, each built after torch.manual_seed(0)."""
    builders = {
        "cdcn_binary": lambda: CDCNBinary(theta=theta, width=width),
        "cdcn": lambda: CDCN(theta=theta, width=width),
        "multitask": lambda: MultiTaskNet("cdcn", reflection_channels=1, theta=theta, width=width),
    }
    models = {}
    for name, build in builders.items():
        torch.manual_seed(0)
        model = build()
        models[name] = (model, model.features if name == "cdcn" else model.backbone)
    return models


@pytest.mark.parametrize("theta, width", [(0.7, 0.25), (0.0, 0.5), (1.0, 0.125)])
def test_binary_depth_and_multitask_models_share_one_backbone(theta, width):
    models = same_backbone_models(theta, width)
    torch.manual_seed(0)
    reference = cdcn_backbone(theta=theta, width=width).state_dict()
    assert len(reference) > 0
    for name, (model, backbone) in models.items():
        assert type(backbone) is MultiScaleCDCFeatures, name
        state = backbone.state_dict()
        assert [(k, v.shape) for k, v in state.items()] == [(k, v.shape) for k, v in reference.items()], name
        # the same seed gives the same initial backbone: the runs of one seed start from one trunk
        assert all(torch.equal(state[k], reference[k]) for k in reference), name
        assert {m.theta for m in backbone.modules() if isinstance(m, Conv2dCD)} == {theta}, name
        # every parameter outside the backbone is a head's
        heads = {k for k in model.state_dict() if not k.startswith(("features.", "backbone."))}
        assert len(model.state_dict()) == len(state) + len(heads), name
    # cdcn_binary's head is the multi-task net's binary head
    binary_head = models["cdcn_binary"][0].binary_head.state_dict()
    multitask_head = models["multitask"][0].binary_head.state_dict()
    assert [(k, v.shape) for k, v in binary_head.items()] == [(k, v.shape) for k, v in multitask_head.items()]


def test_cdcn_binary_trains_on_the_binary_objective():
    model = CDCNBinary(theta=0.7, width=0.125)
    batch = {"image": torch.randn(4, 3, 32, 32), "label": torch.tensor([1, 0, 1, 0])}
    logit = model(batch["image"])
    assert logit.shape == (4,)
    assert torch.equal(BINARY.score(logit, batch), logit)  # scored by its logit
    BINARY.loss(logit, batch).backward()
    assert all(p.grad is not None for p in model.parameters())


def test_same_backbone_parameter_counts():
    """The counts train_cdcn.ipynb prints (and the sweep configs quote): total and backbone."""
    def count(module):
        return sum(p.numel() for p in module.parameters())

    expected = {  # width: backbone, cdcn_binary, cdcn, multitask
        0.25: (108_854, 164_343, 141_350, 276_345),
        0.5: (433_132, 543_917, 562_636, 766_511),
        1.0: (1_727_960, 1_949_337, 2_245_016, 2_393_115),
    }
    for width, (backbone, *totals) in expected.items():
        models = same_backbone_models(0.7, width)
        assert {count(b) for _, b in models.values()} == {backbone}, width
        assert [count(m) for m, _ in models.values()] == totals, width


def _regression_task():
    """y = x · (1, 2, 3) and a linear model: fit_steps' toy task."""
    x = torch.randn(256, 3, generator=torch.Generator().manual_seed(0))
    y = x @ torch.tensor([1.0, 2.0, 3.0])

    def draw(rng):
        index = rng.integers(0, len(x), 16)
        return x[index], y[index]

    def loss(model, batch):
        return ((model(batch[0]).squeeze(1) - batch[1]) ** 2).mean()

    return draw, loss


def test_fit_steps_learns_and_an_interrupted_run_resumes_exactly(tmp_path):
    from faslearn.train import fit_steps

    draw, loss = _regression_task()
    options = dict(steps=60, lr=0.2, ema_decay=0.9, checkpoint_every=20, progress=False, seed=1)
    seed_everything(0)
    reference = torch.nn.Linear(3, 1)
    result = fit_steps(reference, draw, loss, checkpoint_dir=tmp_path / "reference", **options)
    assert len(result["loss"]) == 60 and result["loss"][-1] < 0.01 * result["loss"][0]
    torch.testing.assert_close(reference.weight, torch.tensor([[1.0, 2.0, 3.0]]), atol=0.05, rtol=0)

    calls = {"n": 0}

    def crashing(rng):  # dies at step 45, after the checkpoint of step 40
        calls["n"] += 1
        if calls["n"] == 46:
            raise KeyboardInterrupt
        return draw(rng)

    seed_everything(0)
    with pytest.raises(KeyboardInterrupt):
        fit_steps(torch.nn.Linear(3, 1), crashing, loss, checkpoint_dir=tmp_path / "run", **options)
    seed_everything(5)  # the resumed run's initial weights do not matter: they come from the checkpoint
    resumed = torch.nn.Linear(3, 1)
    again = fit_steps(resumed, draw, loss, checkpoint_dir=tmp_path / "run", **options)
    assert same_weights(resumed, reference) and again["loss"] == result["loss"]
    with pytest.raises(ValueError, match="resume=False"):
        fit_steps(torch.nn.Linear(3, 1), draw, loss, checkpoint_dir=tmp_path / "run", **{**options, "lr": 0.1})
    with pytest.raises(ValueError, match="at step 60"):  # a checkpoint past the budget asked for
        fit_steps(torch.nn.Linear(3, 1), draw, loss, checkpoint_dir=tmp_path / "run", **{**options, "steps": 50})

    # a finished run of 30 steps, trained on to 60, ends where the 60-step run ended
    seed_everything(0)
    fit_steps(torch.nn.Linear(3, 1), draw, loss, checkpoint_dir=tmp_path / "short", **{**options, "steps": 30})
    extended = torch.nn.Linear(3, 1)
    longer = fit_steps(extended, draw, loss, checkpoint_dir=tmp_path / "short", **options)
    assert same_weights(extended, reference) and longer["loss"] == result["loss"]
    with pytest.raises(ValueError, match="steps must be a whole number >= 1, got 0"):
        fit_steps(torch.nn.Linear(3, 1), draw, loss, steps=0)


@pytest.mark.parametrize("options, expected", [
    ({"epochs": 1.5}, "epochs must be a whole number >= 1, got 1.5"),
    ({"lr": "a"}, "lr must be a number > 0, got 'a'"),
    ({"grad_clip": -1}, "grad_clip must be a number > 0, got -1"),
    ({"device": "gpu9"}, "device must be 'cpu', 'cuda', 'cuda:N', 'mps' or None, got 'gpu9'"),
    ({"test_loaders": [1]}, "test_loaders must be a dict {split name: loader}, got list"),
    ({"mixed_precision": "fp8"}, "mixed_precision must be 'no', 'fp16' or 'bf16', got 'fp8'"),
])
def test_fit_refuses_arguments_outside_their_range_before_training(options, expected):
    model = torch.nn.Linear(3, 1)
    before = model.weight.detach().clone()
    arguments = {"loss_fn": None, "score_fn": None, "epochs": 1, **options}
    with pytest.raises(ValueError) as error:
        fit(model, [], [], **arguments)
    assert str(error.value) == expected and torch.equal(model.weight, before)


@pytest.mark.skipif(torch.cuda.is_available(), reason="needs a machine without a CUDA GPU")
def test_fit_asked_for_a_gpu_that_is_not_there_says_so_instead_of_training_on_the_cpu():
    with pytest.raises(ValueError, match="device='cuda' but torch sees no CUDA GPU"):
        fit(torch.nn.Linear(3, 1), [], [], loss_fn=None, score_fn=None, epochs=1, device="cuda")
