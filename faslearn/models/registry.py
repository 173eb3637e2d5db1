"""Detectors by name: one table from a name to a network and the objective it is trained with.

In the spirit of timm's ``register_model`` / ``create_model``: a model file registers a builder under a
name, and everything that builds a detector from a name asks ``create_model``: the training notebook
and its sweeps, run folders (`faslearn.runs`), the shipped checkpoints (`faslearn.pretrained`) and the
command line. A model registered here gets the contract tests of ``tests/test_models.py`` without
further work: output shape, a state-dict round trip, CDC folding where it has CDC layers, ONNX parity
where it is exportable.

    net = create_model("cdcn", theta=0.7, width=0.25, map_size=16)
    objective = model_objective("cdcn")          # faslearn.losses.DEPTH: its loss and score rule
    list_models()                                # ['cdcn', 'cdcn++', 'cdcn_binary', 'multitask', 'resnet18']

Every model takes images (B, 3, H, W) in [-1, 1] (OA-Net and the dual-branch network: the image and its cue,
(B, 6, H, W), ``model_entry(name).inputs``); what it returns is its objective's business (a depth
map, a logit, or a dict of both with a reflection map).
"""
import difflib
from dataclasses import dataclass
from typing import Any, Callable, TypeVar

from torch import nn

from faslearn.losses import Objective


@dataclass(frozen=True)
class ModelEntry:
    """One registered detector.

    Args:
        name: the name runs, configs and the command line use.
        build: keyword settings → a fresh network.
        objective: the loss and score rule it is trained and scored with (`faslearn.losses`).
        settings: the keyword settings ``build`` takes (``theta``, ``width``, ``map_size``, ...).
        exportable: whether `faslearn.export.export_onnx` can write it.
        inputs: what its input tensor holds: "image" (B, 3, H, W), or "image+cue" (B, 6, H, W), the image and
            its standardised anomalous cue stacked on the channels (OA-Net, `faslearn.models.oanet`).
    """

    name: str
    build: Callable[..., nn.Module]
    objective: Objective
    settings: tuple[str, ...]
    exportable: bool = True
    inputs: str = "image"

    @property
    def in_channels(self) -> int:
        return INPUT_CHANNELS[self.inputs]


INPUT_CHANNELS = {"image": 3, "image+cue": 6}
_MODELS: dict[str, ModelEntry] = {}


Builder = TypeVar("Builder", bound=Callable[..., nn.Module])


def register_model(name: str, objective: Objective, settings: tuple[str, ...] = (),
                   exportable: bool = True, inputs: str = "image") -> Callable[[Builder], Builder]:
    """Decorator: register ``build`` (a class or a function of keyword ``settings``) under ``name``; it is
    returned unchanged."""
    def decorator(build: Builder) -> Builder:
        if name in _MODELS:
            raise ValueError(f"a model named {name!r} is already registered")
        if inputs not in INPUT_CHANNELS:
            raise ValueError(f"inputs must be one of {list(INPUT_CHANNELS)}, got {inputs!r}")
        _MODELS[name] = ModelEntry(name, build, objective, tuple(settings), exportable, inputs)
        return build
    return decorator


def list_models() -> list[str]:
    """The registered names, sorted."""
    return sorted(_MODELS)


def model_entry(name: str) -> ModelEntry:
    """The registry entry ``name``; ValueError naming the nearest registered name otherwise."""
    if name not in _MODELS:
        near = difflib.get_close_matches(str(name), list(_MODELS), n=1)
        hint = f" (did you mean {near[0]!r}?)" if near else ""
        raise ValueError(f"unknown model {name!r}{hint}; expected one of {list_models()}")
    return _MODELS[name]


def model_objective(name: str) -> Objective:
    """The objective (loss and score rule) model ``name`` is trained with."""
    return model_entry(name).objective


def create_model(name: str, **settings: Any) -> nn.Module:
    """A fresh network ``name`` built with ``settings`` (only those its entry lists; see ``model_entry``)."""
    entry = model_entry(name)
    unknown = sorted(set(settings) - set(entry.settings))
    if unknown:
        raise ValueError(f"model {name!r} takes the settings {list(entry.settings)}, got {unknown}")
    return entry.build(**settings)


def entry_of_class(class_name: str) -> ModelEntry:
    """The entry whose builder is the class named ``class_name`` (how `faslearn.pretrained` names models)."""
    for entry in _MODELS.values():
        if getattr(entry.build, "__name__", None) == class_name and isinstance(entry.build, type):
            return entry
    raise ValueError(f"no registered model is built by a class named {class_name!r}")
