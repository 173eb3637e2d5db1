"""Checkpoints as single safetensors files: weights, optimizer and training state, never pickle.

Layout of one file (safetensors = 8-byte header length, a JSON header, then raw tensor bytes):

    model.<name>           every tensor of ``model.state_dict()``
    optim.<param>.<name>   every tensor of the optimizer's per-parameter state (Adam's moments, ...)
    __metadata__           strings: JSON of the optimizer's param_groups and non-tensor state,
                           the scheduler's state_dict and the caller's ``state`` (epoch, history)

Loading such a file cannot run code, unlike ``torch.load`` on a pickle.
"""
import hashlib
import json
import os
from pathlib import Path
from typing import Callable

import torch
from safetensors import safe_open
from safetensors.torch import save_file
from torch import nn


def file_sha256(path: str | Path) -> str:
    """Hex SHA-256 digest of a file, read in 1 MiB chunks."""
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def save_checkpoint(path: str | Path, model: nn.Module, optimizer: torch.optim.Optimizer | None = None,
                    scheduler: torch.optim.lr_scheduler.LRScheduler | None = None, state: dict | None = None) -> Path:
    """Write model (+ optimizer, scheduler, JSON-able ``state``) to one safetensors file,
    atomically."""
    path = Path(path)
    tensors = {f"model.{k}": v.detach().cpu().contiguous() for k, v in model.state_dict().items()}
    metadata = {"format": "pt", "state": json.dumps(state or {})}
    if optimizer is not None:
        optim = optimizer.state_dict()
        extra = {}  # non-tensor per-parameter state, e.g. SGD's momentum_buffer=None
        for param_id, param_state in optim["state"].items():
            for name, value in param_state.items():
                if torch.is_tensor(value):
                    tensors[f"optim.{param_id}.{name}"] = value.detach().cpu().contiguous()
                else:
                    extra.setdefault(str(param_id), {})[name] = value
        metadata["optimizer"] = json.dumps({"param_groups": optim["param_groups"], "extra": extra})
    if scheduler is not None:
        metadata["scheduler"] = json.dumps(scheduler.state_dict())
    # write next to the target, then rename: a crash mid-write never leaves a truncated checkpoint
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    save_file(tensors, str(tmp), metadata=metadata)
    os.replace(tmp, path)
    return path


def read_safetensors(path: str | Path, kind: str = "faslearn checkpoint",
                     expected: str = "a safetensors file written by save_checkpoint") -> tuple[dict, dict]:
    """(tensors, metadata) of a safetensors file; FileNotFoundError if there is none, and one line,
    "<path> is not a valid <kind>: <reason> (expected <expected>)", for a damaged or foreign file."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{kind} not found: {path}")
    try:
        with safe_open(str(path), framework="pt") as f:
            return {k: f.get_tensor(k) for k in f.keys()}, f.metadata() or {}
    except Exception as error:  # safetensors raises its own error types for a damaged file
        reason = str(error).splitlines()[0] if str(error) else type(error).__name__
        raise ValueError(f"{path} is not a valid {kind}: {reason} (expected {expected})") from None


def _check_module(model: object) -> None:
    if not isinstance(model, nn.Module):
        raise ValueError(f"expected a torch nn.Module to load the weights into, got {type(model).__name__}")


def _load_model_tensors(model, tensors: dict, path) -> None:
    """Copy the file's 'model.*' tensors into ``model``; one clear line if they do not fit it."""
    weights = {k[len("model."):]: v for k, v in tensors.items() if k.startswith("model.")}
    if not weights:
        raise ValueError(f"{path} holds no 'model.*' tensors; "
                         "expected a file written by save_checkpoint")
    expected = {k: tuple(v.shape) for k, v in model.state_dict().items()}
    missing, unexpected = sorted(expected.keys() - weights.keys()), sorted(weights.keys() - expected.keys())
    reshaped = sorted(k for k in expected.keys() & weights.keys() if tuple(weights[k].shape) != expected[k])
    if missing or unexpected or reshaped:
        if reshaped:
            name = reshaped[0]
            example = f"{name!r} is {tuple(weights[name].shape)} in the file, {expected[name]} in the model"
        else:
            example = f"{missing[0]!r} is only in the model" if missing else f"{unexpected[0]!r} is only in the file"
        raise ValueError(f"{path} does not fit this {type(model).__name__} ({len(missing)} tensors missing, "
                         f"{len(unexpected)} unexpected, {len(reshaped)} of another shape; e.g. {example}): "
                         "build the model with the settings it was trained with")
    model.load_state_dict(weights)


def load_checkpoint(path: str | Path, model: nn.Module, optimizer: torch.optim.Optimizer | None = None,
                    scheduler: torch.optim.lr_scheduler.LRScheduler | None = None) -> dict:
    """Restore what ``save_checkpoint`` wrote into ``model`` (and optimizer, scheduler);
    return the saved ``state`` dict."""
    _check_module(model)
    tensors, metadata = read_safetensors(path)
    _load_model_tensors(model, tensors, path)
    if optimizer is not None:
        if "optimizer" not in metadata:
            raise ValueError(f"{path} holds no optimizer state; it was saved without an optimizer")
        saved = json.loads(metadata["optimizer"])
        state = {int(pid): dict(values) for pid, values in saved["extra"].items()}
        for key, value in tensors.items():
            if key.startswith("optim."):
                _, param_id, name = key.split(".", 2)
                state.setdefault(int(param_id), {})[name] = value
        # JSON turns tuples (Adam's betas) into lists: give each value back the type it has now
        groups = [
            {k: type(live[k])(v) if isinstance(live.get(k), tuple) else v for k, v in group.items()}
            for group, live in zip(saved["param_groups"], optimizer.param_groups)
        ]
        optimizer.load_state_dict({"state": state, "param_groups": groups})
    if scheduler is not None:
        if "scheduler" not in metadata:
            raise ValueError(f"{path} holds no scheduler state; it was saved without a scheduler")
        scheduler.load_state_dict(json.loads(metadata["scheduler"]))
    return json.loads(metadata.get("state", "{}"))


def load_weights(model: nn.Module, path: str | Path, sha256: str | None = None) -> nn.Module:
    """Load only the model weights of a checkpoint, first checking the file's SHA-256 when given."""
    _check_module(model)
    if sha256 is not None and not (isinstance(sha256, str) and len(sha256) == 64):
        raise ValueError(f"sha256 must be a 64-character hex digest, got {sha256!r}")
    if sha256 is not None:
        if not Path(path).is_file():
            raise FileNotFoundError(f"checkpoint not found: {path}")
        actual = file_sha256(path)
        if actual != sha256.lower():
            raise ValueError(f"sha256 mismatch for {path}: expected {sha256.lower()}, got {actual}")
    tensors, _ = read_safetensors(path)
    _load_model_tensors(model, tensors, path)
    return model


def load_or_train(path: str | Path, train_fn: Callable[[], object], model: nn.Module,
                  sha256: str | None = None) -> nn.Module:
    """Load weights from ``path`` if it exists (checking ``sha256``); otherwise run ``train_fn()``,
    which must write ``path``, and load the result.

    The checksum guards shipped files only: a freshly trained file differs bit-wise across machines,
    so it is not compared.
    """
    path = Path(path)
    if path.is_file():
        return load_weights(model, path, sha256)
    train_fn()
    if not path.is_file():
        raise FileNotFoundError(f"train_fn() returned but did not write {path}")
    return load_weights(model, path)
