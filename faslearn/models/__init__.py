"""Models of the course: the LBP + SVM baseline, Central Difference Convolution and CDCN, baselines."""
from .baselines import CDCNBinary, MultiTaskNet, resnet18_binary
from .cdc import CDCN, CDCNpp, Conv2dCD, fold_cdc
from .lbp import LBPSVM, lbp_features

__all__ = ["CDCN", "CDCNBinary", "CDCNpp", "Conv2dCD", "LBPSVM", "MultiTaskNet", "fold_cdc", "lbp_features", "resnet18_binary"]
