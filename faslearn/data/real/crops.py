"""Real recordings -> aligned face crops, cached on disk: frame sampling, detection, a resumable cache.

``prepare_crops`` turns the ``Recording`` list of a dataset adapter into a ``CropSet``, the same
arrays as the course's ``Benchmark``, so ``FrameDataset``, ``ClipDataset`` and ``prepare_clips``
read it unchanged. Per recording: sample ``frames`` frames (``frame_indices``), find the face in
each (the dataset's box when it gives one, else the detector), align it to ``size`` pixels
(`faslearn.data.real.align`). A frame without a face borrows the face of the nearest frame that has one.

The cache (``cache_dir``), every file written atomically (a temporary file, then a rename):

- ``<key>.npy``: one recording's crops, uint8 (T, S, S, 3). The key hashes the video id, the file's
  path, size, modification time and box, and the settings (size, frames, scheme, detector, margin):
  change one, or replace the file, and get fresh crops.
- ``<key>.skip``: one line saying why the recording was skipped (missing file, unreadable video,
  too short for the scheme, no face found). A re-run skips it again without retrying; delete the
  ``*.skip`` files to retry (e.g. with another detector, which has other keys anyway).
- ``set-<key>.npy``: the crops of one whole CropSet stacked, (N, T, S, S, 3), opened memory-mapped, so
  a dataset larger than memory trains from disk. Rebuilt from the per-recording files in seconds when
  deleted.

An interrupted run (Ctrl-C, a crash, a closed notebook) keeps every recording it finished; the
next call with the same settings prepares only the rest.

Pseudo-maps: real datasets have no depth labels, so ``depth`` is all ones for bona fide crops and all
zeros for attacks (CDCN's binary-mask supervision), ``reflection`` all zeros; both are broadcast views
that cost no memory.
"""
import hashlib
import json
import multiprocessing
import os
from collections import defaultdict
from concurrent.futures import ProcessPoolExecutor
from dataclasses import asdict, dataclass, replace
from functools import lru_cache
from pathlib import Path

import cv2
import numpy as np
from numpy.typing import ArrayLike
from tqdm.auto import tqdm

from ..datasets import SPLITS
from .adapters import Recording
from .align import DETECTORS, MARGIN, Face, FaceDetector, NoFaceError, align_face, get_detector

SCHEMES = ("uniform", "ssdg")
IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png", ".bmp")


def frame_indices(total: int, n: int, scheme: str = "uniform") -> np.ndarray:
    """Which ``n`` of a video's ``total`` frames to keep: int (n,).

    ``"uniform"``: round(linspace(0, total − 1, n)), the first and the last frame included, as
    ``read_video`` samples (when n > total some frames repeat). ``"ssdg"``: frame 6 + j·⌊total/n⌋ for
    j < n, the OCIM convention of SSDG (utils.sample_frames in taylover-pei/SSDG-CVPR2020: 1 frame per
    training video, 2 per test video), there counted among the frames where MTCNN found a face.
    """
    if total < 1:
        raise ValueError(f"a video has at least one frame; got total={total}")
    if n < 1:
        raise ValueError(f"expected a positive number of frames to sample, got n={n}")
    if scheme == "uniform":
        return np.round(np.linspace(0, total - 1, n)).astype(int)
    if scheme != "ssdg":
        raise ValueError(f"unknown frame sampling scheme {scheme!r}; expected one of {SCHEMES}")
    indices = 6 + (total // n) * np.arange(n)
    if indices[-1] >= total:
        raise ValueError(f"scheme 'ssdg' takes frame 6 + j·⌊{total}/{n}⌋ for j < {n}, up to frame {indices[-1]}, "
                         f"past the last of {total} frames; expected a longer video, or use scheme='uniform'")
    return indices


def _is_image(path: Path) -> bool:
    return path.suffix.lower() in IMAGE_EXTENSIONS


def _decode(path: Path, wanted: set, to_end: bool) -> tuple[dict, int]:
    """Decode ``path`` frame by frame: ({index: RGB frame} for the ``wanted`` ones, frames decoded).

    Stops after the last wanted frame unless ``to_end`` (then the count is the video's length).
    Unwanted frames are only grabbed (decoded, never converted).
    """
    capture = cv2.VideoCapture(str(path))
    if not capture.isOpened():
        raise ValueError(f"{path} cannot be opened as a video; expected a video file OpenCV can decode, "
                         f"or an image ({' '.join(IMAGE_EXTENSIONS)})")
    last = max(wanted, default=-1)
    frames, count, shape = {}, 0, None
    try:
        while (to_end or count <= last) and capture.grab():
            if count in wanted:
                ok, frame = capture.retrieve()  # BGR uint8 (H, W, 3)
                if not ok:
                    raise ValueError(f"{path}: frame {count} cannot be decoded; expected a readable video")
                if shape is not None and frame.shape != shape:
                    raise ValueError(f"{path}: frame {count} is {frame.shape[1]}x{frame.shape[0]}, frame "
                                     f"{min(frames)} was {shape[1]}x{shape[0]}; expected one frame size")
                shape = frame.shape
                frames[count] = cv2.cvtColor(frame, cv2.COLOR_BGR2RGB)
            count += 1
    finally:
        capture.release()
    if count == 0:
        raise ValueError(f"{path} opened but no frame could be decoded; expected a video with at least one frame")
    return frames, count


def read_frames(path: str | Path, indices: ArrayLike) -> np.ndarray:
    """Frames ``indices`` of a video (or n copies of a single image file): uint8 (n, H, W, 3), RGB.

    Videos are decoded sequentially (seeking in compressed streams is unreliable), keeping only the
    wanted frames. Files ending in .jpg .jpeg .png .bmp are images; anything else is a video.
    """
    path, indices = Path(path), [int(i) for i in np.atleast_1d(indices)]
    if not path.is_file():
        raise FileNotFoundError(f"no video or image file at {path}")
    if not indices or min(indices) < 0:
        raise ValueError(f"expected one or more frame indices >= 0 for {path}, got {indices}")
    if _is_image(path):
        image = cv2.imread(str(path), cv2.IMREAD_COLOR)
        if image is None:
            raise ValueError(f"{path} cannot be read as an image; expected a {'/'.join(IMAGE_EXTENSIONS)} file "
                             f"OpenCV can decode")
        return np.repeat(cv2.cvtColor(image, cv2.COLOR_BGR2RGB)[None], len(indices), axis=0)
    frames, count = _decode(path, set(indices), to_end=False)
    missing = [i for i in indices if i not in frames]
    if missing:
        raise ValueError(f"{path} has {count} frames; frame {missing[0]} was asked for")
    return np.stack([frames[i] for i in indices])


class _TooShort(ValueError):
    """The video has too few frames for the sampling scheme."""


def _sample(path: Path, n: int, scheme: str) -> tuple[np.ndarray, np.ndarray]:
    """``n`` frames of a file by ``scheme``: (frames (n, H, W, 3), their indices), in one pass when
    the container's frame count is right (it is a guess: the true count is the one decoded)."""
    if not path.is_file():
        raise FileNotFoundError(f"no video or image file at {path}")
    if _is_image(path):
        return read_frames(path, [0] * n), np.zeros(n, dtype=int)
    capture = cv2.VideoCapture(str(path))
    reported = int(capture.get(cv2.CAP_PROP_FRAME_COUNT)) if capture.isOpened() else 0
    capture.release()
    try:
        guess = set(frame_indices(reported, n, scheme).tolist())
    except ValueError:
        guess = set()
    frames, total = _decode(path, guess, to_end=True)
    try:
        indices = frame_indices(total, n, scheme)
    except ValueError as error:
        raise _TooShort(f"{path}: {error}") from None
    if not set(indices.tolist()) <= frames.keys():  # the container's count was wrong: a second pass
        return read_frames(path, indices), indices
    return np.stack([frames[i] for i in indices]), indices


@dataclass(frozen=True)
class CropConfig:
    """The settings that make a recording's crops; ``videos`` (a digest of a CropSet's video ids)
    makes ``key()`` name one whole set, as ``BenchmarkConfig.key()`` does (``prepare_clips`` uses it)."""

    size: int = 256
    frames: int = 1
    scheme: str = "uniform"
    detector: str = "haar"
    margin: float = MARGIN
    videos: str = ""

    def key(self) -> str:
        return hashlib.sha256(json.dumps(asdict(self), sort_keys=True).encode()).hexdigest()[:16]

    def recording_key(self, recording: Recording) -> str:
        """The cache key of one recording's crops under these settings."""
        what = [recording.video, os.path.abspath(recording.path), source_stamp(recording.path), recording.box,
                replace(self, videos="").key()]
        return hashlib.sha256(json.dumps(what).encode()).hexdigest()[:20]


def source_stamp(path: str | Path) -> list:
    """[size in bytes, modification time in ns] of a recording's file (or folder), [] if it is missing: part
    of the cache key, so that a replaced or edited source is cropped again (one stat per recording; hashing
    the content would read every video in full on every call)."""
    try:
        stat = os.stat(path)
    except OSError:
        return []
    return [stat.st_size, stat.st_mtime_ns]


@lru_cache(maxsize=None)
def _named_detector(name: str) -> FaceDetector:
    return get_detector(name)  # built once per process


def _crops_of(recording, config: CropConfig, detector) -> np.ndarray:
    """Sample, detect, align: one recording's crops, uint8 (T, S, S, 3)."""
    frames, indices = _sample(Path(recording.path), config.frames, config.scheme)
    if recording.box is not None:  # the dataset's own box, for every frame
        faces = [Face(tuple(float(v) for v in recording.box), None, 1.0)] * len(frames)
    else:
        detector = _named_detector(detector) if isinstance(detector, str) else detector
        faces = [next(iter(detector.detect(frame)), None) for frame in frames]
    found = [t for t, face in enumerate(faces) if face is not None]
    if not found:
        raise NoFaceError(f"the {config.detector} detector found no face in any of the {len(frames)} sampled "
                          f"frames of {recording.path}")
    # a frame without a face takes the face of the nearest frame (in time) that has one
    faces = [faces[min(found, key=lambda s: abs(indices[s] - indices[t]))] for t in range(len(frames))]
    return np.stack([align_face(frame, face, config.size, config.margin) for frame, face in zip(frames, faces)])


def _write_atomically(path: Path, write) -> None:
    """``write(temporary path)``, then rename it to ``path``: a reader never sees half a file."""
    partial = path.with_name(f"{path.stem}.{os.getpid()}.partial{path.suffix}")
    try:
        write(partial)
        os.replace(partial, path)
    finally:
        partial.unlink(missing_ok=True)


SKIP_KINDS = ((FileNotFoundError, "missing file"), (_TooShort, "too short"), (NoFaceError, "no face"),
              ((ValueError, OSError, cv2.error), "unreadable"))


def _prepare_recording(job) -> str | None:
    """Crop one recording into its cache file; None, or the reason it was skipped ("kind: message")."""
    recording, config, detector, crops_path, skip_path = job
    try:
        crops = _crops_of(recording, config, detector)
    except (ValueError, OSError, cv2.error) as error:
        kind = next(kind for types, kind in SKIP_KINDS if isinstance(error, types))
        reason = f"{kind}: {' '.join(str(error).split())}"  # one line
        _write_atomically(skip_path, lambda p: p.write_text(reason + "\n"))
        return reason
    _write_atomically(crops_path, lambda p: np.save(p, crops))
    return None


def _worker_context():
    """Where worker processes come from: never a fork of this process, whose OpenCV thread pool may hold
    a lock at that moment that no thread of the child would ever release (the child waits forever).
    A fork server, started once with this module imported, forks workers that start in milliseconds;
    where there is none (Windows), workers are spawned and import faslearn first (seconds)."""
    if "forkserver" not in multiprocessing.get_all_start_methods():
        return multiprocessing.get_context("spawn")
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload([__name__])
    return context


def _one_thread():
    cv2.setNumThreads(1)  # each worker process is one core's worth


@dataclass
class CropSet:
    """Aligned face crops of real recordings, one row per recording: the arrays of ``Benchmark``."""

    config: CropConfig
    frames: np.ndarray  # (N, T, S, S, 3) uint8, memory-mapped from the cache
    depth: np.ndarray  # (N, T, M, M) float16 pseudo-depth: 1 bona fide, 0 attack (a read-only broadcast view)
    reflection: np.ndarray  # (N, T, M, M) float16 zeros (broadcast view)
    label: np.ndarray  # (N,) int64, 1 = bona fide
    pai: np.ndarray  # (N,) str, "bona_fide" or the attack instrument
    domain: np.ndarray  # (N,) str, the recording's dataset
    split: np.ndarray  # (N,) str, "train" / "dev" / "test"
    identity: np.ndarray  # (N,) int64, one index per (dataset, subject)
    video: np.ndarray  # (N,) str, unique id of the recording
    skipped: list  # [(video id, reason)] of the recordings left out
    prepared: int = 0  # recordings cropped by this call
    cached: int = 0  # recordings whose crops came from the cache

    def __len__(self) -> int:
        return len(self.label)

    def anchors(self, row: int) -> tuple[None, tuple[int, int, int, int]]:
        """Where ``prepare_clips`` anchors a recording's registration: real crops carry no landmarks, but
        every crop is aligned on the detector's face box, so (None, that box (x, y, w, h)): Shi-Tomasi
        corners inside it, the crop less its margin (``config.margin``), and the background does not vote."""
        side, extra = self.frames.shape[-2], self.config.margin
        margin = int(round(side * extra / (2 * (1 + extra))))
        return None, (margin, margin, side - 2 * margin, side - 2 * margin)

    def select(self, split: str | None = None, domains: str | list[str] | None = None) -> np.ndarray:
        """Row indices of one split (or all) of some datasets (a name, a list, or all), as ``Benchmark.select``."""
        if split is not None and split not in SPLITS:
            raise ValueError(f"unknown split {split!r}; expected one of {SPLITS}")
        present = sorted(set(self.domain.tolist()))
        domains = present if domains is None else [domains] if isinstance(domains, str) else list(domains)
        unknown = set(domains) - set(present)
        if unknown:
            raise ValueError(f"dataset(s) {sorted(unknown)} are not in these crops; they have {present}")
        keep = np.isin(self.domain, domains)
        if split is not None:
            keep &= self.split == split
        return np.flatnonzero(keep)

    def report(self) -> str:
        """What the call did: recordings prepared, loaded from the cache, and skipped, by reason."""
        c = self.config
        lines = [f"face crops ({c.size} px, {c.frames} frame(s) per video, {c.scheme} sampling, {c.detector} "
                 f"detector): {len(self) + len(self.skipped)} recordings, {self.prepared} prepared, "
                 f"{self.cached} loaded from the cache, {len(self.skipped)} skipped"]
        by_kind = defaultdict(list)
        for video, reason in self.skipped:
            by_kind[reason.split(":", 1)[0]].append((video, reason))
        for kind, entries in sorted(by_kind.items()):
            videos = ", ".join(video for video, _ in entries[:3]) + (", ..." if len(entries) > 3 else "")
            lines.append(f"  skipped, {kind} ({len(entries)}): {videos}  (e.g. {entries[0][1]})")
        return "\n".join(lines)


def prepare_crops(recordings: list[Recording], cache_dir: str | Path, *, size: int = 256, frames: int = 1,
                  scheme: str = "uniform", detector: str | FaceDetector = "haar", margin: float = MARGIN,
                  map_size: int | None = None, workers: int = 1, progress: bool = True) -> CropSet:
    """Crop the faces of ``recordings`` (or load them from ``cache_dir``): a ``CropSet`` (module docstring).

    ``detector``: a name of ``align.DETECTORS`` or a FaceDetector (its ``name`` is part of the cache key).
    ``map_size`` is the side of the pseudo-maps (default size // 8: CDCN's 32 at 256 px). ``workers`` > 1
    crops in that many processes. ``progress`` shows a progress bar and prints the report at the end.
    """
    recordings = list(recordings)
    if not isinstance(detector, FaceDetector) and detector not in DETECTORS:
        raise ValueError(f"unknown face detector {detector!r}; expected one of {list(DETECTORS)} or a FaceDetector")
    name = detector.name if isinstance(detector, FaceDetector) else detector
    map_size = map_size or size // 8
    if size < 16 or frames < 1 or map_size < 1 or workers < 1:
        raise ValueError(f"expected size >= 16, frames >= 1, map_size >= 1 and workers >= 1; got size={size}, "
                         f"frames={frames}, map_size={map_size}, workers={workers}")
    if scheme not in SCHEMES:
        raise ValueError(f"unknown frame sampling scheme {scheme!r}; expected one of {SCHEMES}")
    if not recordings:
        raise ValueError("expected at least one recording, got none")
    videos = [r.video for r in recordings]
    if len(set(videos)) < len(videos):
        duplicate = next(v for v in videos if videos.count(v) > 1)
        raise ValueError(f"video id {duplicate!r} appears more than once; expected one recording per video id")

    config = CropConfig(size, frames, scheme, name, margin)
    cache_dir = Path(cache_dir)
    cache_dir.mkdir(parents=True, exist_ok=True)
    keys = [config.recording_key(r) for r in recordings]
    crops_paths = [cache_dir / f"{key}.npy" for key in keys]
    skip_paths = [cache_dir / f"{key}.skip" for key in keys]
    todo = [i for i in range(len(recordings)) if not crops_paths[i].is_file() and not skip_paths[i].is_file()]
    cached = sum(path.is_file() for path in crops_paths)
    jobs = [(recordings[i], config, detector, crops_paths[i], skip_paths[i]) for i in todo]
    bar = tqdm(total=len(jobs), desc="face crops", unit="video", disable=not progress)
    done = 0  # counted here, not by the bar (a disabled bar counts nothing)
    try:
        if workers > 1 and len(jobs) > 1:
            pool = ProcessPoolExecutor(workers, mp_context=_worker_context(), initializer=_one_thread)
            try:
                for _ in pool.map(_prepare_recording, jobs):
                    done += 1
                    bar.update()
            finally:
                pool.shutdown(cancel_futures=True)
        else:
            for job in jobs:
                _prepare_recording(job)
                done += 1
                bar.update()
    except KeyboardInterrupt:
        print(f"interrupted: {done} of {len(jobs)} recordings cropped and cached in {cache_dir}; "
              f"call again to go on from there")
        raise
    finally:
        bar.close()

    kept = [i for i in range(len(recordings)) if crops_paths[i].is_file()]
    skipped = [(videos[i], skip_paths[i].read_text().strip()) for i in sorted(set(range(len(recordings))) - set(kept))]
    if not kept:
        raise ValueError(f"none of the {len(recordings)} recordings gave a face crop (see the *.skip files in "
                         f"{cache_dir}); first reason: {skipped[0][1]}")
    rows = [recordings[i] for i in kept]
    config = replace(config, videos=hashlib.sha256(" ".join(keys[i] for i in kept).encode()).hexdigest()[:16])
    label = np.array([r.label for r in rows], dtype=np.int64)
    pairs = [(r.dataset, r.subject) for r in rows]
    index = {pair: i for i, pair in enumerate(sorted(set(pairs)))}
    maps = (len(rows), frames, map_size, map_size)
    crop_set = CropSet(
        config, _stack([crops_paths[i] for i in kept], cache_dir / f"set-{config.key()}.npy"),
        depth=np.broadcast_to(label.astype(np.float16)[:, None, None, None], maps),
        reflection=np.broadcast_to(np.float16(0), maps), label=label, pai=np.array([r.pai for r in rows]),
        domain=np.array([r.dataset for r in rows]), split=np.array([r.split for r in rows]),
        identity=np.array([index[pair] for pair in pairs], dtype=np.int64), video=np.array([r.video for r in rows]),
        skipped=skipped, prepared=len(kept) - cached, cached=cached)
    if progress:
        print(crop_set.report())
    return crop_set


def _stack(paths: list[Path], path: Path) -> np.ndarray:
    """The per-recording crop files stacked into one (N, T, S, S, 3) file at ``path`` (once), memory-mapped."""
    if not path.is_file():
        first = np.load(paths[0])

        def write(partial):
            stacked = np.lib.format.open_memmap(partial, mode="w+", dtype=np.uint8, shape=(len(paths), *first.shape))
            for row, crops in enumerate(paths):
                stacked[row] = np.load(crops)
            stacked.flush()

        _write_atomically(path, write)
    return np.load(path, mmap_mode="r")
