"""Models of the course: the LBP + SVM baseline, Central Difference Convolution and CDCN, the two-stream
multi-frame model, baselines."""
from .baselines import CDCNBinary, MultiTaskNet, resnet18_binary
from .cdc import CDCN, CDCNpp, Conv2dCD, fold_cdc
from .lbp import LBPSVM, lbp_features
from .two_stream import (DifferenceBranch, MultiFrameBranch, TwoStream, fuse_scores, inflate_first_conv,
                         parameter_count, rgb_differences)

__all__ = ["CDCN", "CDCNBinary", "CDCNpp", "Conv2dCD", "DifferenceBranch", "LBPSVM", "MultiFrameBranch",
           "MultiTaskNet", "TwoStream", "fold_cdc", "fuse_scores", "inflate_first_conv", "lbp_features",
           "parameter_count", "resnet18_binary", "rgb_differences"]
