"""Models of the course: the LBP + SVM baseline, Central Difference Convolution and CDCN, the two-stream
multi-frame model, the De-fake Face Generator and its identity encoder, the ViT, OA-Net and the dual-branch
network of AG-FAS, baselines; the frame detectors are
registered by name (`registry`: ``create_model("cdcn", theta=0.7)``, ``list_models()``)."""
import importlib

from .baselines import CDCNBinary, MultiTaskNet, resnet18_binary
from .cdc import CDCN, CDCNpp, Conv2dCD, fold_cdc
from .dg import DomainGeneralised, grl_weight, reverse_gradient
from .identity import ArcFaceLoss, IdentityEncoder, OnnxIdentityEncoder, embed, train_identity_encoder, verification
from .lbp import LBPSVM, lbp_features
from .mim import MaskedImageModel
from .oanet import CueEncoder, DualBranch, OANet, ViT, load_clip_weights, load_pretrained_vit, load_vit_weights
from .registry import create_model, list_models, model_entry, model_objective, register_model
from .two_stream import (
    PAPER_FPM,
    PAPER_PARAMETERS,
    PPM_BINS,
    TWO_STREAM_BRANCHES,
    DifferenceBranch,
    MultiFrameBranch,
    PyramidBackbone,
    TwoStream,
    fuse_scores,
    inflate_first_conv,
    parameter_count,
    rgb_differences,
)

__all__ = ["ArcFaceLoss", "CDCN", "CDCNBinary", "CDCNpp", "Conv2dCD", "CueEncoder", "DeFakeFaceGenerator",
           "DifferenceBranch", "DomainGeneralised", "DualBranch", "IdentityEncoder", "LBPSVM", "MaskedImageModel",
           "MultiFrameBranch", "MultiTaskNet", "OANet", "OnnxIdentityEncoder", "PAPER_FPM", "PAPER_PARAMETERS",
           "PPM_BINS", "PyramidBackbone", "TWO_STREAM_BRANCHES", "TwoStream", "ViT", "create_model", "embed",
           "fold_cdc", "fuse_scores", "grl_weight", "inflate_first_conv", "lbp_features", "list_models",
           "load_clip_weights", "load_pretrained_vit", "load_vit_weights", "model_entry", "model_objective",
           "parameter_count", "register_model", "residual_energy", "resnet18_binary", "reverse_gradient",
           "rgb_differences", "standardise", "train_identity_encoder", "verification"]

# The De-fake Face Generator is built from diffusers, which takes seconds to import: its module loads the
# first time one of its names is used (PEP 562), so notebooks that never touch it start faster.
_DFG_NAMES = ("DeFakeFaceGenerator", "residual_energy", "standardise")


def __getattr__(name):
    if name == "dfg" or name in _DFG_NAMES:
        dfg = importlib.import_module(f"{__name__}.dfg")
        return dfg if name == "dfg" else getattr(dfg, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
