"""faslearn: a hands-on course on face anti-spoofing, and the small library behind it.

    import faslearn as fl
    bench = fl.data.make_benchmark()          # offline faces, simulated attacks, pseudo-videos
    fl.metrics.evaluate(dev_scores, dev_labels, test_scores, test_labels, test_pai)
"""
from . import checkpoints, data, experiments, losses, metrics, models, pretrained, runs, train, viz, widgets
from .utils import get_device, seed_everything

__version__ = "0.1.0"
__all__ = ["checkpoints", "data", "experiments", "losses", "metrics", "models", "pretrained", "runs", "train", "viz",
           "widgets", "get_device", "seed_everything"]
