"""Small helpers every notebook needs: reproducible seeds, the device to run on, JSON-ready values."""
import os
import random

import numpy as np
import torch


def seed_everything(seed: int, deterministic: bool = False) -> torch.Generator:
    """Seed Python, NumPy and torch (all devices); return a torch.Generator for DataLoaders.

    With ``deterministic=True`` torch is also asked to use deterministic kernels only
    (slower on GPU, and some operations then raise instead of running).
    """
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)  # also seeds every CUDA device
    if deterministic:
        os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")
        torch.use_deterministic_algorithms(True)
        torch.backends.cudnn.benchmark = False
    generator = torch.Generator()
    generator.manual_seed(seed)
    return generator


def get_device(preferred: str | None = None) -> torch.device:
    """CUDA if available, then Apple MPS, then CPU; ``FASLEARN_DEVICE`` or ``preferred`` override."""
    name = preferred or os.environ.get("FASLEARN_DEVICE")
    if name:
        return torch.device(name)
    if torch.cuda.is_available():
        return torch.device("cuda")
    if getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available():
        return torch.device("mps")
    return torch.device("cpu")


def as_json(value):
    """``value`` with NumPy arrays and scalars, also inside dicts, lists and tuples, as plain Python
    (for json.dumps)."""
    if isinstance(value, dict):
        return {k: as_json(v) for k, v in value.items()}
    if isinstance(value, (np.ndarray, list, tuple)):
        return [as_json(v) for v in value]
    return value.item() if isinstance(value, np.generic) else value


LESSON_PREFIX = "lesson: "


def lesson(statement: str, holds) -> bool:
    """Print ``lesson: <statement>: True`` (or False) and return whether it holds.

    A teaching notebook that trains on the learner's CPU cannot promise its digits: a few epochs take
    another path on every CPU. It states what the numbers show instead, with a margin measured over
    many seeds (``scripts/measure_lessons.py``), e.g.
    ``fl.lesson("CDC's mean test HTER is at least 5 points below plain convolution's", plain - cdc >= 5)``.
    A cell marked ``# NBVAL_LESSONS`` is checked on these lines alone, word for word (README, Tests).
    """
    holds = bool(holds)
    print(f"{LESSON_PREFIX}{statement}: {holds}")
    return holds
