"""Small helpers every notebook needs: reproducible seeds, the device to run on, JSON-ready values."""
import math
import numbers
import os
import random
from typing import Any

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


def as_json(value: Any) -> Any:
    """``value`` with NumPy arrays and scalars, also inside dicts, lists and tuples, as plain Python
    (for json.dumps)."""
    if isinstance(value, dict):
        return {k: as_json(v) for k, v in value.items()}
    if isinstance(value, (np.ndarray, list, tuple)):
        return [as_json(v) for v in value]
    return value.item() if isinstance(value, np.generic) else value


LESSON_PREFIX = "lesson: "


def lesson(statement: str, holds: bool | np.bool_) -> bool:
    """Print ``lesson: <statement>: True`` (or False) and return whether it holds.

    A teaching notebook that trains on the learner's CPU cannot promise its digits: a few epochs take
    another path on every CPU. It states what the numbers show instead, with a margin measured over
    many seeds (``scripts/measure_lessons.py``), e.g.
    ``fl.lesson("CDC's mean test HTER is at least 5 points below plain convolution's", plain - cdc >= 5)``.
    A lesson cell (``"nbval": {"lessons": true}`` in its metadata) is checked on these lines alone, word
    for word (README, Tests).
    """
    holds = bool(holds)
    print(f"{LESSON_PREFIX}{statement}: {holds}")
    return holds


def derive_seed(*keys: int) -> int:
    """One 32-bit seed from a tuple of whole numbers (a run's seed, an epoch, a row...), as NumPy's
    SeedSequence mixes them: nearby tuples give unrelated streams, and the same tuple always the same one."""
    return int(np.random.SeedSequence([int(key) for key in keys]).generate_state(1)[0])


def check_number(value: Any, name: str, low: float = -math.inf, high: float = math.inf, *, integer: bool = False,
                 above: float | None = None) -> float | int:
    """``value`` as a float (an int with ``integer``) if it is a real number, not a bool, in [low, high] and
    greater than ``above`` when given; ValueError "<name> must be <what was expected>, got <value>" otherwise.
    The one check behind the arguments that take a number (θ, width, epochs, learning rate, batch size...)."""
    real = isinstance(value, numbers.Integral) if integer else isinstance(value, numbers.Real)
    in_range = real and math.isfinite(value) and low <= value <= high and (above is None or value > above)
    if isinstance(value, bool) or not in_range:
        kind = "a whole number" if integer else "a number"
        if above is not None:
            bounds = f" > {above:g}" + (f" and <= {high:g}" if math.isfinite(high) else "")
        elif math.isfinite(low) and math.isfinite(high):
            bounds = f" in [{low:g}, {high:g}]"
        elif math.isfinite(low):
            bounds = f" >= {low:g}"
        else:
            bounds = f" <= {high:g}" if math.isfinite(high) else " (finite)"
        raise ValueError(f"{name} must be {kind}{bounds}, got {value!r}")
    return int(value) if integer else float(value)
