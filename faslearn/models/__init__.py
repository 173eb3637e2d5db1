"""Models of the course: the LBP + SVM baseline, Central Difference Convolution and CDCN, the two-stream
multi-frame model, the De-fake Face Generator and its identity encoder, baselines."""
from .baselines import CDCNBinary, MultiTaskNet, resnet18_binary
from .cdc import CDCN, CDCNpp, Conv2dCD, fold_cdc
from .dfg import DeFakeFaceGenerator, residual_energy, standardise
from .identity import ArcFaceLoss, IdentityEncoder
from .lbp import LBPSVM, lbp_features
from .two_stream import (DifferenceBranch, MultiFrameBranch, TwoStream, fuse_scores, inflate_first_conv,
                         parameter_count, rgb_differences)

__all__ = ["ArcFaceLoss", "CDCN", "CDCNBinary", "CDCNpp", "Conv2dCD", "DeFakeFaceGenerator", "DifferenceBranch",
           "IdentityEncoder", "LBPSVM", "MultiFrameBranch", "MultiTaskNet", "TwoStream", "fold_cdc", "fuse_scores",
           "inflate_first_conv", "lbp_features", "parameter_count", "residual_energy", "resnet18_binary",
           "rgb_differences", "standardise"]
