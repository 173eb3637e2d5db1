"""ONNX export of a trained detector, with its central difference convolutions folded, and a parity check.

A deployed detector needs one thing from the model: a bona fide score per face. ``export_onnx`` wraps
the network with its score rule (``Scorer``), so the ONNX graph maps

    image (N, 3, S, S) float in [-1, 1]  ->  score (N,)   [and depth (N, M, M) for CDCN / CDCN++]
    (OA-Net and the dual-branch network: image and its cue (N, 6, S, S), the cue computed before)

Every ``Conv2dCD`` is folded first (`faslearn.models.fold_cdc`): y = conv(x, w) − θ·x(p0)·Σw is one
convolution with the summed kernel subtracted at the centre tap, so the exported graph holds plain
``Conv`` nodes that every ONNX runtime executes at full speed. ``onnx_parity`` runs the file with
onnxruntime and returns the largest difference from PyTorch.

The exporter and onnxruntime are an optional extra: ``pip install "faslearn[onnx]"``.
"""
import importlib.util
from pathlib import Path

import numpy as np
import torch
from torch import nn

from .losses import DEPTH, Objective
from .models import fold_cdc

INSTALL = 'pip install "faslearn[onnx]"  (onnx, onnxscript and onnxruntime)'


def _require(module: str) -> None:
    if importlib.util.find_spec(module) is None:
        raise ImportError(f"ONNX export needs the {module} package; install it with: {INSTALL}")


class Scorer(nn.Module):
    """A network followed by its objective's score rule; depth models also return their map."""

    def __init__(self, model: nn.Module, objective: Objective):
        super().__init__()
        self.model, self.objective = model, objective

    def forward(self, image: torch.Tensor) -> torch.Tensor | tuple[torch.Tensor, torch.Tensor]:
        outputs = self.model(image)
        score = self.objective.score(outputs, {})
        return (score, outputs) if self.objective is DEPTH else score


def supported_opsets() -> tuple[int, int]:
    """(lowest, highest) ONNX opset export_onnx writes as asked: torch.onnx's dynamo exporter starts at 18,
    the installed onnx package knows up to its own latest."""
    _require("onnx")
    import onnx

    return 18, int(onnx.defs.onnx_opset_version())


def export_onnx(model: nn.Module, objective: Objective, path: str | Path, image_size: int, in_channels: int = 3,
                opset: int = 18) -> Path:
    """Write ``model`` (CDC folded, eval mode) and its score rule to an ONNX file with a dynamic batch axis; its
    input is (N, ``in_channels``, S, S): 3 for an image, 6 for OA-Net's image and cue."""
    for module in ("onnx", "onnxscript"):
        _require(module)
    low, high = supported_opsets()
    if not (isinstance(opset, int) and low <= opset <= high):
        raise ValueError(f"expected an ONNX opset from {low} to {high}, got {opset!r}")
    scorer = Scorer(fold_cdc(model), objective).eval()
    example = torch.zeros(2, in_channels, image_size, image_size)
    outputs = ["score", "depth"] if objective is DEPTH else ["score"]
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with torch.no_grad():
        program = torch.onnx.export(scorer, (example,), dynamo=True, opset_version=opset, input_names=["image"],
                                    output_names=outputs, dynamic_shapes=({0: torch.export.Dim("batch")},),
                                    verbose=False)
    program.save(str(path))
    return path


def onnx_parity(model: nn.Module, objective: Objective, path: str | Path, images: torch.Tensor) -> float:
    """The largest |ONNX − PyTorch| over every output of the unfolded ``model`` on ``images``."""
    _require("onnxruntime")
    import onnxruntime

    session = onnxruntime.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    onnx_outputs = session.run(None, {"image": images.numpy()})
    with torch.no_grad():
        torch_outputs = Scorer(model.eval(), objective)(images)
    torch_outputs = torch_outputs if isinstance(torch_outputs, tuple) else (torch_outputs,)
    return max(float(np.abs(a - b.numpy()).max()) for a, b in zip(onnx_outputs, torch_outputs))
