"""The on-disk cache: rendered benchmarks, bona fide pools, registered clips, DFG reconstructions, face crops.

Everything faslearn computes once and reuses lives in one folder, ``$FASLEARN_CACHE`` or
``~/.cache/faslearn``, as ``.npz`` files named by a key that covers what they were computed from (the
settings and, where it matters, the code), so a changed input is computed afresh rather than read stale::

    arrays = cached(f"benchmark-{config.key()}", lambda: render_everything(config))

Deleting the folder is always safe: the next call recomputes.
"""
import os
from pathlib import Path
from typing import Callable

import numpy as np


def cache_dir() -> Path:
    """The cache folder: ``$FASLEARN_CACHE``, else ``~/.cache/faslearn`` (created when first written)."""
    return Path(os.environ.get("FASLEARN_CACHE", Path.home() / ".cache" / "faslearn"))


def save(path: Path, arrays: dict) -> None:
    """Write ``arrays`` to the .npz ``path`` atomically: an interrupted write leaves no half file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_suffix(".partial.npz")
    np.savez(partial, **arrays)
    os.replace(partial, path)


def cached(key: str, compute: Callable[[], dict], cache: bool = True) -> dict:
    """The arrays stored under ``key`` (``cache_dir() / f"{key}.npz"``), or ``compute()``'s, saved there.

    Args:
        key: the file's name without ``.npz``; it must change whenever the result would.
        compute: () → {name: array}, called only when nothing is stored under ``key`` (or ``cache`` is off).
        cache: False computes afresh and stores nothing.
    """
    path = cache_dir() / f"{key}.npz"
    if cache and path.is_file():
        with np.load(path, allow_pickle=False) as stored:
            return {name: stored[name] for name in stored.files}
    arrays = compute()
    if cache:
        save(path, arrays)
    return arrays
