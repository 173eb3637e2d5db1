"""Real datasets end to end: a dataset (or a cross-dataset protocol) on disk -> aligned face crops.

One function serves the training notebooks, ``faslearn prepare`` and ``faslearn evaluate``::

    crops = fl.data.load_crops("oulu_npu", "/data/OULU-NPU", protocol="1", size=256)
    crops = fl.data.load_crops("cross_dataset", "O=/data/OULU-NPU,C=/data/CASIA-FASD,I=/data/replay,M=/data/MSU",
                               protocol="O&C&I->M")
    train = fl.data.FrameDataset(crops, crops.select("train"))

The crops are cached on disk (`faslearn.data.real.crops.prepare_crops`), so the second call, and every
training run after the first, loads them in seconds.
"""
import dataclasses
from pathlib import Path

from ... import cache
from .adapters import DATASETS, DatasetError, Recording, cross_dataset, load_recordings
from .crops import CropSet, prepare_crops


def parse_roots(roots: str | dict) -> dict[str, str]:
    """``"O=/a,C=/b"`` (or a dict) -> ``{"O": "/a", "C": "/b"}``: the folders of a cross-dataset protocol."""
    if isinstance(roots, dict):
        return {str(k): str(v) for k, v in roots.items()}
    pairs = [part for part in str(roots).split(",") if part.strip()]
    parsed = {}
    for pair in pairs:
        name, sep, folder = pair.partition("=")
        if not sep or not name.strip() or not folder.strip():
            raise DatasetError(f"expected dataset=folder pairs separated by commas (e.g. O=/data/OULU-NPU), "
                               f"got {pair!r}")
        parsed[name.strip()] = folder.strip()
    return parsed


def load_recordings_for(dataset: str, root: str | Path | dict, protocol: str = "all") -> list[Recording]:
    """The recordings of a dataset's protocol, or, for ``dataset="cross_dataset"``, of a cross-dataset
    protocol (e.g. "O&C&I->M", with ``root`` naming its folders), each carrying the split it plays there."""
    if dataset == "cross_dataset":
        splits = cross_dataset(protocol, parse_roots(root))
        return [dataclasses.replace(r, split=split) for split, recordings in splits.items() for r in recordings]
    if dataset not in DATASETS:
        raise DatasetError(f"unknown dataset {dataset!r}; expected one of {list(DATASETS)} or 'cross_dataset'")
    return load_recordings(dataset, root, protocol)


def crop_cache_dir() -> Path:
    """Default home of the crops: ``$FASLEARN_CACHE/crops``, one folder for every dataset (files are keyed
    by video id and settings, so a cross-dataset protocol reuses the crops of its datasets)."""
    return cache.cache_dir() / "crops"


def load_crops(dataset: str, root: str | Path | dict, protocol: str = "all", *, size: int = 256, frames: int = 1,
               scheme: str = "uniform", detector: str = "haar", cache_dir: str | Path | None = None,
               map_size: int | None = None, workers: int = 1, progress: bool = True) -> CropSet:
    """Parse the dataset, then detect, align and cache its faces (see the module docstring).

    Args:
        dataset: one of ``DATASETS`` (``oulu_npu``, ``siw``, ``casia_fasd``, ``replay_attack``, ``msu_mfsd``,
            ``celeba_spoof``, ``folder``) or ``cross_dataset``.
        root: the dataset's folder; for ``cross_dataset`` "O=...,C=...,I=...,M=..." or a dict of such roots.
        protocol: the dataset's protocol (e.g. "1" or "3_2" for OULU-NPU, "O&C&I->M" across datasets).
        size: side of the aligned face crops in pixels.
        frames: frames sampled per video.
        scheme: "uniform" (spread over the video) or "ssdg" (frame 6 + j·⌊T/n⌋, as the SSDG code samples).
        detector: "haar" (installed), "mediapipe" or "mtcnn" (README, "Face detection").
        cache_dir: where the crops are kept (default ``$FASLEARN_CACHE/crops``).
        map_size: side of the pseudo-depth maps (default size // 8: CDCN's 32 at 256 px).
        workers: processes that detect faces.
        progress: show a progress bar and print the crop report.

    Returns:
        A `CropSet`: the crops as the arrays of a `Benchmark` (one row per recording), and ``skipped``, the
        recordings left out with the reason.
    """
    recordings = load_recordings_for(dataset, root, protocol)
    cache_dir = Path(cache_dir) if cache_dir else crop_cache_dir()
    return prepare_crops(recordings, cache_dir, size=size, frames=frames, scheme=scheme, detector=detector,
                         map_size=map_size, workers=workers, progress=progress)

