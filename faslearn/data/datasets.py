"""torch Datasets over rendered or real presentations: ``FrameDataset`` (one frame, its depth and reflection
maps, label, attack instrument), ``ClipDataset`` (a pseudo-video or its key frames), ``FlipShift``
augmentation, and ``to_tensor``, the input convention of every model.

Both read the parallel arrays of a `faslearn.data.world.Benchmark` (the sample world) or a
`faslearn.data.real.CropSet` (real recordings): frames, depth, reflection, label, pai, domain, split,
identity, video.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Callable

import numpy as np
import torch
from torch.utils.data import Dataset

from .clips import PreparedClips

if TYPE_CHECKING:
    from .real.crops import CropSet
    from .world.benchmark import Benchmark
    from .world.pool import Pool

SPLITS = ("train", "dev", "test")


def to_tensor(frames: np.ndarray) -> torch.Tensor:
    """uint8 (..., H, W, 3) -> float (..., 3, H, W) in [-1, 1], the input convention of every model."""
    x = torch.from_numpy(np.ascontiguousarray(frames)).float().div_(127.5).sub_(1.0)
    return x.movedim(-1, -3)


def domain_names(benchmark: Benchmark | CropSet) -> tuple[str, ...]:
    """The domains a ``domain_index`` counts: a benchmark's own (``config.domains``), else (real crops: one domain
    per dataset) the sorted names its rows hold."""
    names = getattr(getattr(benchmark, "config", None), "domains", None)
    return tuple(names) if names is not None else tuple(sorted(set(np.asarray(benchmark.domain).tolist())))


def _row_item(benchmark: Benchmark, row: int, frames, domains: tuple[str, ...]) -> dict:
    """Labels of one presentation (``frames``: one index or a slice), shared by both datasets."""
    b = benchmark
    return dict(label=int(b.label[row]), pai=str(b.pai[row]), domain=str(b.domain[row]),
                domain_index=domains.index(str(b.domain[row])), video=str(b.video[row]),
                identity=int(b.identity[row]), depth=torch.from_numpy(b.depth[row, frames].astype(np.float32)),
                reflection=torch.from_numpy(b.reflection[row, frames].astype(np.float32)))


class FlipShift:
    """Training augmentation that keeps labels and pixels in register: a left-right flip (p = 0.5)
    and a shift of up to ``max_cells`` depth-map cells each way (S / M pixels per cell), applied
    alike to the image and to its depth and reflection maps, with the edges repeated.

    A face is roughly symmetric and a face detector's box wanders by a few pixels, so both are
    changes a detector should not care about (what it does in the sample world is measured in the
    README, "The sample world"). Colour is left alone: it is part of the cue.
    Draws come from torch's generator, which ``fl.train.fit`` seeds per epoch (exact resume).
    """

    def __init__(self, max_cells: int = 1):
        if max_cells < 0:
            raise ValueError(f"max_cells must be >= 0, got {max_cells}")
        self.max_cells = max_cells

    def __call__(self, image: torch.Tensor, *maps: torch.Tensor):
        """``image`` (3, S, S) and maps (C, M, M) -> the same shapes, flipped and shifted together.

        A clip (T, 3, S, S) alone (``ClipDataset``'s transform) gets one flip and one shift for all its
        frames, so the motion between them is kept, and comes back as one tensor; without maps a cell
        is one pixel."""
        if not maps:
            if image.ndim == 4:
                return self(image.flatten(0, 1))[0].view(image.shape)
        size, cells = image.shape[-1], maps[0].shape[-1] if maps else image.shape[-1]
        if size % cells:
            raise ValueError(f"image side {size} is not a whole number of map cells ({cells})")
        flip = bool(torch.rand(()) < 0.5)
        dy, dx = (torch.randint(-self.max_cells, self.max_cells + 1, (2,))).tolist()
        return tuple(_flip_shift(x, flip, dy * x.shape[-1] // cells, dx * x.shape[-1] // cells)
                     for x in (image, *maps))


def _flip_shift(x: torch.Tensor, flip: bool, dy: int, dx: int) -> torch.Tensor:
    """Flip (C, H, W) left-right, then move its content by (dy, dx) pixels, repeating the edges."""
    x = x.flip(-1) if flip else x
    h, w = x.shape[-2:]
    padded = torch.nn.functional.pad(x[None], (abs(dx), abs(dx), abs(dy), abs(dy)), mode="replicate")[0]
    top, left = abs(dy) - dy, abs(dx) - dx
    return padded[:, top:top + h, left:left + w]


INPUTS = ("image", "cue", "image+cue")


class FrameDataset(Dataset):
    """Single frames of some benchmark rows: every frame of every selected presentation.

    Items are dicts: ``image`` (3, S, S) in [-1, 1], ``label``, ``depth`` and ``reflection``
    (1, M, M), ``pai``, ``domain`` and its index in ``benchmark.config.domains`` (``domain_index``, what a
    domain discriminator is trained to predict), ``video`` (for video-level scores), ``identity``.
    ``transform`` changes the image alone; ``augment`` (e.g. ``FlipShift()``) moves the image and
    its maps together, for training.

    With ``cue`` (N, 3, S, S), an anomalous cue per benchmark row (`faslearn.models.dfg.benchmark_cues`; the
    first frame's), ``inputs`` chooses what ``image`` holds: "image", "cue" (the cue alone, AG-FAS's "only
    residual"), or "image+cue" (6, S, S), the two stacked on the channels before ``augment``, so a flip or a
    shift moves the image and its cue together.
    """

    def __init__(self, benchmark: Benchmark, rows: np.ndarray, transform: Callable | None = None,
                 augment: Callable | None = None, cue: np.ndarray | None = None, inputs: str = "image"):
        self.benchmark, self.rows, self.transform, self.augment = benchmark, np.asarray(rows), transform, augment
        self.num_frames = benchmark.frames.shape[1]
        if inputs not in INPUTS:
            raise ValueError(f"inputs must be one of {list(INPUTS)}, got {inputs!r}")
        if inputs != "image":
            expected = (len(benchmark), 3, *benchmark.frames.shape[2:4])
            if cue is None or tuple(cue.shape) != expected:
                raise ValueError(f"inputs={inputs!r} needs a cue of shape {expected} (one per benchmark row), got "
                                 f"{None if cue is None else tuple(cue.shape)}")
            if self.num_frames != 1:
                raise ValueError(f"a cue is computed for a presentation's first frame; this benchmark has "
                                 f"{self.num_frames} frames per presentation")
        self.cue, self.inputs = cue, inputs
        self.domains = domain_names(benchmark)

    def __len__(self) -> int:
        return len(self.rows) * self.num_frames

    def __getitem__(self, index: int) -> dict:
        row, t = self.rows[index // self.num_frames], index % self.num_frames
        image = to_tensor(self.benchmark.frames[row, t])
        if self.transform is not None:
            image = self.transform(image)
        if self.inputs != "image":
            cue = torch.from_numpy(self.cue[row].astype(np.float32))
            image = cue if self.inputs == "cue" else torch.cat([image, cue])
        # the maps keep a channel axis
        item = dict(image=image, **_row_item(self.benchmark, row, slice(t, t + 1), self.domains))
        if self.augment is not None:
            item["image"], item["depth"], item["reflection"] = self.augment(image, item["depth"], item["reflection"])
        return item


class ClipDataset(Dataset):
    """Whole pseudo-videos: ``clip`` (T, 3, S, S) in [-1, 1] plus the labels of ``FrameDataset``.

    With ``prepared`` (`faslearn.data.prepare_clips` of the same benchmark), the clip is its
    registered key frames instead, and ``flow`` (2k, S, S), their optical flow stacked along the
    channels as (dx, dy) pixel pairs, joins the item when it was computed.
    """

    def __init__(self, benchmark: Benchmark, rows: np.ndarray, transform: Callable | None = None,
                 prepared: PreparedClips | None = None):
        self.benchmark, self.rows, self.transform, self.prepared = benchmark, np.asarray(rows), transform, prepared
        self.domains = domain_names(benchmark)
        if prepared is not None and len(prepared) != len(benchmark):
            raise ValueError(f"prepared clips ({len(prepared)}) do not belong to this benchmark "
                             f"({len(benchmark)} rows)")

    def __len__(self) -> int:
        return len(self.rows)

    def __getitem__(self, index: int) -> dict:
        row = self.rows[index]
        frames = self.benchmark.frames[row] if self.prepared is None else self.prepared.frames[row]
        clip = to_tensor(frames)
        if self.transform is not None:
            clip = self.transform(clip)
        item = dict(clip=clip, **_row_item(self.benchmark, row, slice(None), self.domains))
        if self.prepared is not None and self.prepared.flow is not None:
            flow = torch.from_numpy(self.prepared.flow[row].astype(np.float32))  # (k, S, S, 2)
            item["flow"] = flow.permute(0, 3, 1, 2).flatten(0, 1)  # (2k, S, S): dx_1, dy_1, dx_2, ...
        return item


class PoolDataset(Dataset):
    """The bona fide pool's faces (`faslearn.data.make_pool`) as training items shaped like `FrameDataset`'s: extra
    real faces added directly to a detector's training set (AG-FAS's Table III).

    Each item is bona fide (``label`` 1, ``pai`` "bona_fide"), of domain "pool", whose ``domain_index`` is one past
    the benchmark's domains (a domain discriminator sees the pool as a source of its own); its depth and
    reflection maps are zeros of ``map_size`` (the pool has no depth labels: use it with a binary objective).
    """

    def __init__(self, pool: Pool, domain_index: int, map_size: int, augment: Callable | None = None):
        self.pool, self.domain_index, self.map_size, self.augment = pool, domain_index, map_size, augment

    def __len__(self) -> int:
        return len(self.pool)

    def __getitem__(self, index: int) -> dict:
        image = to_tensor(self.pool.images[index])
        maps = torch.zeros(1, self.map_size, self.map_size)
        item = dict(image=image, label=1, pai="bona_fide", domain="pool", domain_index=self.domain_index,
                    video=f"pool/{int(self.pool.identity[index])}/{index}", identity=int(self.pool.identity[index]),
                    depth=maps, reflection=maps.clone())
        if self.augment is not None:
            item["image"], item["depth"], item["reflection"] = self.augment(image, item["depth"], item["reflection"])
        return item


def balanced_weights(labels: np.ndarray, extra: int) -> torch.Tensor:
    """Sampling weights for a training set followed by ``extra`` additional bona fide faces, as AG-FAS balances its
    Table III: attacks and bona fide faces 1 : 1 overall, and among the bona fide the original and the extra
    faces 1 : 1. With ``labels`` (1 = bona fide) of the original items, each attack gets 1/2 ÷ #attacks, each
    original bona fide 1/4 ÷ #bona fide, each extra face 1/4 ÷ ``extra`` (the weights sum to 1)."""
    labels = np.asarray(labels)
    real, fake = int((labels == 1).sum()), int((labels == 0).sum())
    if not real or not fake or extra < 1:
        raise ValueError(f"balancing needs attacks, bona fide faces and extra faces; got {fake}, {real}, {extra}")
    weights = np.where(labels == 1, 0.25 / real, 0.5 / fake)
    return torch.from_numpy(np.concatenate([weights, np.full(extra, 0.25 / extra)]))
