"""A trained detector as a folder: rebuild the model a training run names, load its weights, score faces.

`notebooks/training/train_cdcn.ipynb` (and train_oanet.ipynb) writes every run to its ``output_dir``::

    results.json        the parameters (model, theta, width, image_size, ...), the depth-map side,
                        the test metrics with the dev EER threshold, the history, the scores
    model.safetensors   the final weights

``load_run(folder)`` turns that back into a scorer, which the command line (``faslearn evaluate``,
``predict``, ``export``) and notebook 07 use::

    run = fl.runs.load_run("runs/cdcn-night")
    scores = run.score(faces)              # uint8 (N, S, S, 3) RGB crops -> (N,) scores
    accepted = scores >= run.threshold     # the dev EER threshold of the run

A train_oanet.ipynb run (a ViT, a ResNet-18, OA-Net, the dual-branch network or a ViT on the cue, trained plainly
or with SSDG's or the domain-adversarial objective) that reads a cue computes each face's anomalous cue
with the run's De-fake Face Generator before scoring it, at the strength and form it was trained with: a few
milliseconds to a few tens per face (BENCHMARKS.md, "OA-Net").

The course's shipped model is a run too, by its registry name (``SHIPPED_RUNS``), so that
``faslearn predict cdcn_night_leave_one_out selfie.jpg`` works before anything is trained: its weights
come from `faslearn.pretrained`, its threshold is the EER point of its dev scores in the shipped sweep.
"""
import json
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import torch
from numpy.typing import ArrayLike
from torch import nn

from . import pretrained
from .checkpoints import load_weights
from .data.datasets import to_tensor
from .losses import Objective
from .metrics import eer
from .models.registry import create_model, list_models, model_entry
from .utils import check_number

if TYPE_CHECKING:
    from collections.abc import Callable

# shipped checkpoint (faslearn.pretrained.REGISTRY) -> its run in the shipped course sweep results
SHIPPED_RUNS = {"cdcn_night_leave_one_out": "cdcn-leave_one_out-night-theta0.7-width0.25-seed0"}


def build_model(model: str, theta: float = 0.7, width: float = 1.0, map_size: int | None = None
                ) -> tuple[nn.Module, Objective]:
    """A fresh network and its objective (loss, score) by registered name (`faslearn.models.registry`), as
    the training notebook builds them: each model takes those of ``theta``, ``width`` and ``map_size``
    (the side of its depth maps) that it has (``resnet18`` has none)."""
    entry = model_entry(model)
    given = {"theta": theta, "width": width, "map_size": map_size}
    return create_model(model, **{k: v for k, v in given.items() if k in entry.settings}), entry.objective


@dataclass
class Run:
    """A trained model with what is needed to use it: input size, score rule and decision threshold."""

    folder: Path
    parameters: dict
    model: nn.Module
    objective: Objective
    image_size: int
    threshold: float | None  # the dev EER threshold: accept as bona fide when score >= threshold
    inputs: str = "image"  # what the model reads: "image", "cue" or "image+cue" (a train_oanet.ipynb run)
    cue: "Callable[[torch.Tensor], torch.Tensor] | None" = None  # images in [-1, 1] -> their anomalous cue

    def model_inputs(self, images: torch.Tensor) -> torch.Tensor:
        """What the model reads for images (B, 3, S, S) in [-1, 1]: the images, their cue, or both stacked."""
        if self.inputs == "image":
            return images
        cue = self.cue(images)
        return cue if self.inputs == "cue" else torch.cat([images, cue], dim=1)

    @torch.no_grad()
    def score(self, faces: ArrayLike, batch_size: int = 64) -> np.ndarray:
        """Bona fide scores of aligned face crops: uint8 (N, S, S, 3) RGB with S = ``image_size``."""
        batch_size = check_number(batch_size, "batch_size", 1, integer=True)
        faces = np.asarray(faces)
        if faces.ndim != 4 or faces.shape[1:] != (self.image_size, self.image_size, 3):
            raise ValueError(f"expected face crops of shape (N, {self.image_size}, {self.image_size}, 3), "
                             f"got {faces.shape}")
        if faces.dtype != np.uint8:  # float crops in [-1, 1] or [0, 1] would be read as 0-255 and scored wrong
            raise ValueError(f"expected uint8 RGB face crops (0-255), got {faces.dtype}; "
                             "convert with (x * 255).round().astype(np.uint8) for crops in [0, 1]")
        self.model.eval()
        device = next(self.model.parameters()).device
        scores = [self.objective.score(self.model(self.model_inputs(to_tensor(faces[i:i + batch_size])).to(device)),
                                       {}).float().cpu()
                  for i in range(0, len(faces), batch_size)]
        return torch.cat(scores).numpy() if scores else np.zeros(0, np.float32)


def load_shipped_run(name: str = "cdcn_night_leave_one_out") -> Run:
    """A shipped checkpoint as a Run: the registry's model and parameters, the dev EER threshold of its
    scores in the course sweep results (the same threshold notebooks 02 and 07 compute)."""
    if name not in SHIPPED_RUNS:
        raise ValueError(f"unknown shipped model {name!r}; expected one of {list(SHIPPED_RUNS)}")
    parameters = pretrained.REGISTRY[name]["made_by"]["parameters"]
    model, objective = build_model(parameters["model"], parameters["theta"], parameters["width"],
                                   pretrained.REGISTRY[name]["model"]["map_size"])
    pretrained.load_pretrained(name, model)
    sweep = pretrained.load_results("course_sweep")
    run = sweep["runs"][SHIPPED_RUNS[name]]
    dev_labels = sweep["splits"][run["frames"]]["dev"]["labels"]
    _, threshold = eer(np.asarray(run["scores"]["dev"]), np.asarray(dev_labels))
    return Run(pretrained.FOLDER, parameters, model.eval(), objective, int(parameters["image_size"]), float(threshold))


def read_results(path: Path) -> dict:
    """A run's results.json, checked: the model's parameters and the threshold with the types and ranges a
    Run needs. ValueError "<path> is not a valid faslearn run: <reason>" otherwise; the defaults of runs made
    before a field was recorded are filled in (θ 0.7, width 1, depth maps a quarter of the input)."""
    def invalid(reason: str) -> ValueError:
        return ValueError(f"{path} is not a valid faslearn run: {reason} (expected the results.json of a "
                          "train_cdcn.ipynb run)")

    try:
        results = json.loads(path.read_text())
    except (ValueError, RecursionError) as error:  # JSONDecodeError, UnicodeDecodeError, an integer too long
        raise invalid(f"not JSON ({str(error)[:200]})") from None
    if not isinstance(results, dict) or not isinstance(results.get("parameters"), dict):
        raise invalid("no 'parameters' mapping")
    parameters = dict(results["parameters"])
    metrics = results.get("metrics", {})
    if not isinstance(metrics, dict):
        raise invalid(f"metrics is {type(metrics).__name__}, expected a mapping")
    threshold = metrics.get("threshold")
    if threshold is not None:
        if isinstance(threshold, bool) or not isinstance(threshold, (int, float)) or not np.isfinite(threshold):
            raise invalid(f"metrics.threshold is {threshold!r}, expected a finite number")
        threshold = float(threshold)
    results = {**results, "metrics": {**metrics, "threshold": threshold}}
    if "variant" in parameters:  # a train_oanet.ipynb run
        return _read_oanet_results(results, parameters, invalid)
    if parameters.get("model") not in list_models():
        raise invalid(f"parameters.model is {parameters.get('model')!r}, expected one of {list_models()}")
    parameters.setdefault("theta", 0.7)
    parameters.setdefault("width", 1.0)

    def number(value, name, low, high, integer=False):
        ok = isinstance(value, int) if integer else isinstance(value, (int, float))
        if isinstance(value, bool) or not ok or not (low <= value <= high):
            kind = "a whole number" if integer else "a number"
            raise invalid(f"{name} is {value!r}, expected {kind} from {low} to {high}")
        return value

    parameters["image_size"] = number(parameters.get("image_size"), "parameters.image_size", 16, 1024, integer=True)
    parameters["theta"] = float(number(parameters["theta"], "parameters.theta", 0.0, 1.0))
    parameters["width"] = float(number(parameters["width"], "parameters.width", 1e-3, 64.0))
    map_size = number(results.get("map_size", parameters["image_size"] // 4), "map_size", 1, 1024, integer=True)
    return {**results, "parameters": parameters, "map_size": map_size}


OANET_SETTINGS = ("image_size", "patch_size", "width", "depth", "heads", "stem", "cue_dim")


def _read_oanet_results(results: dict, parameters: dict, invalid) -> dict:
    from .models.dfg import CUE_FORMS, CUE_SOURCES
    from .models.oanet import VARIANTS

    if parameters["variant"] not in VARIANTS:
        raise invalid(f"parameters.variant is {parameters['variant']!r}, expected one of {list(VARIANTS)}")
    from .models.dg import OBJECTIVES

    if parameters.get("objective", "erm") not in OBJECTIVES:
        raise invalid(f"parameters.objective is {parameters.get('objective')!r}, expected one of {list(OBJECTIVES)}")
    domains = results.get("model_settings", {}).get("num_domains", 4)
    if isinstance(domains, bool) or not isinstance(domains, int) or not 2 <= domains <= 64:
        raise invalid(f"model_settings.num_domains is {domains!r}, expected a whole number from 2 to 64")
    for name in OANET_SETTINGS + ("ddim_steps",):
        value = parameters.get(name)
        if name == "stem":
            if value not in ("patch", "conv"):
                raise invalid(f"parameters.stem is {value!r}, expected 'patch' or 'conv'")
        elif isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= 4096:
            raise invalid(f"parameters.{name} is {value!r}, expected a whole number from 1 to 4096")
    if parameters.get("cue_source") not in CUE_SOURCES or parameters.get("cue_form") not in CUE_FORMS:
        raise invalid(f"parameters.cue_source/cue_form are {parameters.get('cue_source')!r}/"
                      f"{parameters.get('cue_form')!r}, expected one of {list(CUE_SOURCES)} / {list(CUE_FORMS)}")
    if parameters.get("cue_encoder", "cnn") not in ("cnn", "resnet18"):
        raise invalid(f"parameters.cue_encoder is {parameters.get('cue_encoder')!r}, expected 'cnn' or 'resnet18'")
    if parameters.get("vit_style", "course") not in ("course", "clip"):
        raise invalid(f"parameters.vit_style is {parameters.get('vit_style')!r}, expected 'course' or 'clip'")
    ratio = parameters.get("mlp_ratio", 2.0)
    if isinstance(ratio, bool) or not isinstance(ratio, (int, float)) or not 0 < ratio <= 64:
        raise invalid(f"parameters.mlp_ratio is {ratio!r}, expected a number in (0, 64]")
    strength = parameters.get("strength")
    if isinstance(strength, bool) or not isinstance(strength, (int, float)) or not 0 < strength <= 1:
        raise invalid(f"parameters.strength is {strength!r}, expected a number in (0, 1]")
    if not isinstance(parameters.get("dfg"), str):
        raise invalid(f"parameters.dfg is {parameters.get('dfg')!r}, expected a shipped DFG's name or a folder")
    return {**results, "parameters": parameters}


def oanet_cue(parameters: dict) -> "Callable[[torch.Tensor], torch.Tensor]":
    """The cue function of a train_oanet.ipynb run: images (B, 3, S, S) in [-1, 1] → their cue (B, 3, S, S), from
    the run's DFG (a shipped name or a folder) at its ``cue_source``, ``cue_form``, ``strength`` and
    ``ddim_steps``, rounded to float16 as the training cache stored it."""
    from .models.dfg import DeFakeFaceGenerator, anomalous_cue, cue_reference

    source, name = parameters["cue_source"], parameters["dfg"]
    if source == "zero":
        return lambda images: torch.zeros_like(images)
    if name in pretrained.REGISTRY:
        dfg = pretrained.load_dfg(name)
    elif Path(name).is_dir():
        dfg = DeFakeFaceGenerator.from_pretrained(name)
    else:
        raise FileNotFoundError(f"the run's DFG {name!r} is neither a shipped DFG nor a folder here; it is needed "
                                "to compute each face's cue")

    def cue(images: torch.Tensor) -> torch.Tensor:
        x_hat = cue_reference(dfg, images, source, strength=parameters["strength"], steps=parameters["ddim_steps"])
        return anomalous_cue(images, x_hat, parameters["cue_form"]).half().float()

    return cue


def load_run(folder: str | Path) -> Run:
    """Rebuild a training run's model from ``results.json`` and load ``model.safetensors``; a name of
    ``SHIPPED_RUNS`` (that is not a folder here) gives the shipped model (``load_shipped_run``)."""
    if not isinstance(folder, (str, Path)) or not str(folder):
        raise ValueError(f"expected a run folder or one of {list(SHIPPED_RUNS)}, got {folder!r}")
    if str(folder) in SHIPPED_RUNS and not Path(folder).is_dir():
        return load_shipped_run(str(folder))
    folder = Path(folder)
    results_file, weights_file = folder / "results.json", folder / "model.safetensors"
    for path in (results_file, weights_file):
        if not path.is_file():
            raise FileNotFoundError(f"no {path.name} in {folder}: expected the output_dir of a finished "
                                    "train_cdcn.ipynb run (results.json and model.safetensors) or a shipped "
                                    f"model ({', '.join(SHIPPED_RUNS)})")
    results = read_results(results_file)
    parameters = results["parameters"]
    if "variant" in parameters:  # a train_oanet.ipynb run: the network of its variant, and its cue
        from .models.dg import network_name
        from .models.oanet import VARIANTS

        name, inputs = network_name(parameters["variant"], parameters.get("objective", "erm")), \
            VARIANTS[parameters["variant"]][1]
        settings = {k: parameters[k] for k in OANET_SETTINGS if k in model_entry(name).settings}
        # settings added later (the CLIP layout, the MLP ratio, OA-Net's cue encoder): older runs used the defaults
        later = {"style": parameters.get("vit_style", "course"), "mlp_ratio": parameters.get("mlp_ratio", 2.0),
                 "cue_encoder": parameters.get("cue_encoder", "cnn")}
        settings |= {k: v for k, v in later.items() if k in model_entry(name).settings}
        if "num_domains" in model_entry(name).settings:  # a domain discriminator's outputs, as trained
            settings["num_domains"] = results.get("model_settings", {}).get("num_domains", 4)
        model = create_model(name, **settings)
        load_weights(model, weights_file)
        return Run(folder, parameters, model.eval(), model_entry(name).objective, parameters["image_size"],
                   results["metrics"].get("threshold"), inputs, None if inputs == "image" else oanet_cue(parameters))
    model, objective = build_model(parameters["model"], parameters["theta"], parameters["width"], results["map_size"])
    load_weights(model, weights_file)
    threshold, image_size = results["metrics"].get("threshold"), parameters["image_size"]
    return Run(folder, parameters, model.eval(), objective, image_size, threshold)
