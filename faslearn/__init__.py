"""faslearn: a hands-on course on face anti-spoofing, and the small library behind it.

    import faslearn as fl
    bench = fl.data.make_benchmark()          # offline faces, simulated attacks, pseudo-videos
    fl.metrics.evaluate(dev_scores, dev_labels, test_scores, test_labels, test_pai)

Each submodule is imported the first time it is used (PEP 562), so ``import faslearn`` is instant and
the command line (``faslearn --help``) does not wait for PyTorch.
"""
import importlib

__version__ = "0.1.0"
_SUBMODULES = ("cache", "checkpoints", "data", "experiments", "losses", "metrics", "models", "pretrained", "runs",
               "train",
               "viz", "widgets")
_UTILS = ("derive_seed", "get_device", "lesson", "seed_everything")
__all__ = [*_SUBMODULES, *_UTILS]


def __getattr__(name):
    if name in _SUBMODULES:
        return importlib.import_module(f"{__name__}.{name}")
    if name in _UTILS:
        return getattr(importlib.import_module(f"{__name__}.utils"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__():
    return sorted([*globals(), *__all__])
