"""The course benchmark: rendered presentations, identity-disjoint splits, torch Datasets.

``make_benchmark`` renders every presentation once (in parallel, with a progress bar) and caches
the result on disk, keyed by its settings; later calls load the cache in a second.

Layout: each capture domain gets its own identities (no face appears in two domains, as no
subject appears in two public datasets); inside a domain, identities are split into train / dev
/ test. Every identity is captured ``bona_fide_per_identity`` times live and once with each of
the domain's six attack instruments, each capture a pseudo-video of ``num_frames`` frames.

Protocols (``Benchmark.protocol``):
- ``intra``: train, dev and test splits of one domain;
- ``leave_one_out``: train/dev on the three other domains, test on the target domain's test split,
  the same test samples as ``intra`` so the two are directly comparable; with ``sources``, train/dev on
  those domains only (AG-FAS's Table II, "limited source domains": two domains in, another out);
- ``unseen_attack``: leave one attack species out (the target is a species): train/dev on every
  domain without it, test on bona fide and that species only (SiW protocol 3 in miniature).

In ``intra`` and ``leave_one_out`` the species of ``UNSEEN_ATTACKS`` (mask, partial attack) are
held out of training and testing; their test presentations come separately under ``"unseen"``,
to measure how a detector treats attacks of a kind it has never seen.
"""
import hashlib
import inspect
import json
import os
from concurrent.futures import ProcessPoolExecutor
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any, Callable

import numpy as np
from tqdm.auto import tqdm

from ...cache import cached
from ...utils import derive_seed
from ..datasets import SPLITS
from .domains import ATTACKS, BONA_FIDE, DOMAINS, UNSEEN_ATTACKS
from .faces import FaceSet, load_faces, rigid_landmarks
from .simulator import render_presentation

PROTOCOLS = ("intra", "leave_one_out", "unseen_attack")
# the settings a benchmark passes to every render_presentation call (BenchmarkConfig.render_settings)
RENDER_SETTINGS = ("difficulty", "moire", "clutter", "colour_managed")
# the modules whose code decides what a benchmark's pixels and labels are (the cache key hashes them)
RENDERER_SOURCES = ("attacks.py", "camera.py", "depth.py", "domains.py", "faces.py", "simulator.py", "video.py")


@dataclass(frozen=True)
class BenchmarkConfig:
    """Everything that determines the rendered data (and so its cache key)."""

    domains: tuple[str, ...] = tuple(DOMAINS)
    identities_per_domain: int = 150
    bona_fide_per_identity: int = 2
    num_frames: int = 1
    image_size: int = 64
    map_size: int | None = None  # depth/reflection map side, default image_size // 4
    difficulty: float = 1.0
    moire: float = 1.0  # strength of the domains' colour moiré on prints and screens (0: none; 1: as calibrated)
    clutter: float = 1.0  # how furnished the rooms are (0: bare walls; 1: as calibrated)
    colour_managed: bool = True  # the printers' driver calibrates the tones (False: it does not)
    split_fractions: tuple[float, float, float] = (0.6, 0.2, 0.2)
    face_source: str = "synthetic"
    seed: int = 0

    def __post_init__(self):
        unknown = [d for d in self.domains if d not in DOMAINS]
        if unknown:
            raise ValueError(f"unknown domain(s) {unknown}; expected some of {list(DOMAINS)}")
        if not 0 <= self.difficulty <= 1:
            raise ValueError(f"difficulty must be in [0, 1], got {self.difficulty}")
        if self.moire < 0:
            raise ValueError(f"moire must be >= 0, got {self.moire}")
        if self.clutter < 0:
            raise ValueError(f"clutter must be >= 0, got {self.clutter}")
        if self.num_frames < 1 or self.image_size < 16 or self.identities_per_domain < 3:
            raise ValueError("need num_frames >= 1, image_size >= 16 and identities_per_domain >= 3")
        if abs(sum(self.split_fractions) - 1) > 1e-6 or min(self.split_fractions) <= 0:
            raise ValueError(f"split_fractions must be three positive numbers summing to 1, got {self.split_fractions}")

    def render_settings(self) -> dict:
        """The keyword arguments of ``render_presentation`` that these settings fix (``RENDER_SETTINGS``):
        ``render_presentation(..., **config.render_settings())`` renders a presentation of this world."""
        return {name: getattr(self, name) for name in RENDER_SETTINGS}

    def key(self) -> str:
        """Cache key: these settings plus the source code of the renderer (edit it, re-render)."""
        digest = hashlib.sha256(json.dumps(asdict(self), sort_keys=True).encode())
        for source in RENDERER_SOURCES:
            digest.update((Path(__file__).parent / source).read_bytes())
        for function in (plan_benchmark, _render_job):  # this module's part: who is where, and how rows render
            digest.update(inspect.getsource(function).encode())
        return digest.hexdigest()[:16]


@dataclass
class Benchmark:
    """All rendered presentations as parallel arrays (one row per presentation)."""

    config: BenchmarkConfig
    frames: np.ndarray  # (N, T, S, S, 3) uint8
    depth: np.ndarray  # (N, T, M, M) float16
    reflection: np.ndarray  # (N, T, M, M) float16
    label: np.ndarray  # (N,) 1 = bona fide
    pai: np.ndarray  # (N,) str
    domain: np.ndarray  # (N,) str
    split: np.ndarray  # (N,) str
    identity: np.ndarray  # (N,) int, index into the face source
    video: np.ndarray  # (N,) str, unique id of the presentation
    landmarks: np.ndarray  # (N, L, 2) float32, the face's landmarks (x, y) in frame 0's pixels (on a medium: its face)

    def __len__(self) -> int:
        return len(self.label)

    def anchors(self, row: int) -> tuple[np.ndarray, None]:
        """Where ``prepare_clips`` anchors clip ``row``'s registration: (the face's ``rigid_landmarks`` in
        frame 0 (K, 2), no box). The paper anchors on "points, whose position are fixed even with face
        expression changes"; here a landmark detector's output is what the renderer knows."""
        landmarks = np.asarray(self.landmarks[row], dtype=np.float32)
        return landmarks[rigid_landmarks(landmarks)], None

    def select(self, split: str | None = None, domains: str | list[str] | None = None) -> np.ndarray:
        """Row indices of one split (or all) of some domains (a name, a list, or all)."""
        if split is not None and split not in SPLITS:
            raise ValueError(f"unknown split {split!r}; expected one of {SPLITS}")
        domains = self.config.domains if domains is None else [domains] if isinstance(domains, str) else domains
        unknown = set(domains) - set(self.config.domains)
        if unknown:
            raise ValueError(f"domain(s) {sorted(unknown)} are not in this benchmark; "
                             f"it has {list(self.config.domains)}")
        keep = np.isin(self.domain, list(domains))
        if split is not None:
            keep &= self.split == split
        return np.flatnonzero(keep)

    def protocol(self, name: str, target: str, sources: list[str] | tuple[str, ...] | None = None
                 ) -> dict[str, np.ndarray]:
        """Row indices for ``train``/``dev``/``test`` (and ``unseen``) of a protocol (module docstring);
        ``sources`` (leave_one_out only) limits the training domains."""
        if sources is not None:
            if name != "leave_one_out":
                raise ValueError(f"sources limit the training domains of leave_one_out, not of {name!r}")
            bad = [d for d in sources if d not in self.config.domains or d == target]
            if bad or not sources or len(set(sources)) != len(sources):
                raise ValueError(f"sources must be distinct domains of {list(self.config.domains)} other than the "
                                 f"target {target!r}, got {list(sources)}")
        if name == "unseen_attack":
            if target not in ATTACKS:
                raise ValueError(f"the unseen_attack protocol's target is an attack species, one of {ATTACKS}; "
                                 f"got {target!r}")
            seen = self.pai != target
            return {"train": self.select("train")[seen[self.select("train")]],
                    "dev": self.select("dev")[seen[self.select("dev")]],
                    "test": self.select("test")[np.isin(self.pai[self.select("test")], [BONA_FIDE, target])]}
        if name == "intra":
            sources = [target]
        elif name == "leave_one_out":
            sources = list(sources) if sources is not None else [d for d in self.config.domains if d != target]
        else:
            raise ValueError(f"unknown protocol {name!r}; expected one of {PROTOCOLS}")
        if target not in self.config.domains or not sources:
            raise ValueError(f"target must be one of {list(self.config.domains)} with other domains to train on")
        known = ~np.isin(self.pai, UNSEEN_ATTACKS)
        test = self.select("test", target)
        return {"train": self.select("train", sources)[known[self.select("train", sources)]],
                "dev": self.select("dev", sources)[known[self.select("dev", sources)]],
                "test": test[known[test]], "unseen": test[~known[test]]}


def render_parallel(function: Callable, jobs: list, desc: str, unit: str, workers: int | None = None,
                    progress: bool = True) -> list:
    """``[function(job) for job in jobs]`` in ``workers`` processes (default: up to 2), with a progress bar."""
    workers = workers or min(2, os.cpu_count() or 1)
    bar = dict(total=len(jobs), desc=desc, disable=not progress, unit=unit)
    if workers > 1:
        with ProcessPoolExecutor(workers) as pool:
            return list(tqdm(pool.map(function, jobs, chunksize=16), **bar))
    return [function(job) for job in tqdm(jobs, **bar)]


def _render_job(job):
    image, landmarks, pai, domain, seed, config = job
    rng = np.random.default_rng(seed)
    p = render_presentation(image, landmarks, pai, domain, rng, num_frames=config.num_frames, map_size=config.map_size,
                            **config.render_settings())
    return p.frames, p.depth.astype(np.float16), p.reflection.astype(np.float16), p.landmarks


def plan_benchmark(config: BenchmarkConfig) -> tuple[FaceSet, list[dict]]:
    """The list of presentations to render: identities per domain, splits, kinds, seeds."""
    faces = load_faces(config.face_source, size=config.image_size)
    needed = config.identities_per_domain * len(config.domains)
    if needed > len(faces):
        raise ValueError(f"{len(config.domains)} domains x {config.identities_per_domain} identities need {needed} "
                         f"faces, but source {config.face_source!r} has {len(faces)}")
    order = np.random.default_rng(config.seed).permutation(len(faces))
    n_train = int(round(config.split_fractions[0] * config.identities_per_domain))
    n_dev = int(round(config.split_fractions[1] * config.identities_per_domain))
    kinds = [BONA_FIDE] * config.bona_fide_per_identity + list(ATTACKS)
    rows = []
    for d, domain in enumerate(config.domains):
        identities = order[d * config.identities_per_domain:(d + 1) * config.identities_per_domain]
        for rank, identity in enumerate(identities):
            split = "train" if rank < n_train else "dev" if rank < n_train + n_dev else "test"
            for k, pai in enumerate(kinds):
                seed = derive_seed(config.seed, d, identity, k)
                rows.append(dict(identity=int(identity), domain=domain, split=split, pai=pai, seed=seed,
                                 video=f"{domain}/{identity:03d}/{pai}_{k}"))
    return faces, rows


def benchmark_identities(config: BenchmarkConfig | None = None, **overrides: Any) -> np.ndarray:
    """The face indices (into ``load_faces(config.face_source)``) that a benchmark uses, in any split,
    found without rendering it. The other faces are people no model trained on it has seen."""
    config = BenchmarkConfig(**overrides) if config is None else replace(config, **overrides)
    _, rows = plan_benchmark(config)
    return np.unique([row["identity"] for row in rows])


def make_benchmark(config: BenchmarkConfig | None = None, cache: bool = True, workers: int | None = None,
                   progress: bool = True, **overrides: Any) -> Benchmark:
    """Render (or load from the cache) the benchmark described by ``config`` / keyword overrides.

    Args:
        config: a `BenchmarkConfig`; None: the course's default world.
        cache: load it from, and save it to, the on-disk cache (`faslearn.cache`), keyed by the settings and
            the renderer's code; False renders afresh and saves nothing.
        workers: processes that render (default: up to 2).
        progress: show a progress bar while rendering.
        **overrides: fields of `BenchmarkConfig` that replace the config's (e.g. ``seed=3``, ``num_frames=10``).

    Returns:
        A `Benchmark`: one row per presentation (frames, depth and reflection maps, label, pai, domain,
        split, identity, video), with ``select`` and ``protocol`` to pick rows.
    """
    config = BenchmarkConfig(**overrides) if config is None else replace(config, **overrides)

    def render() -> dict:
        faces, rows = plan_benchmark(config)
        jobs = [(faces.images[r["identity"]], faces.landmarks[r["identity"]], r["pai"], r["domain"], r["seed"],
                 config) for r in rows]
        rendered = render_parallel(_render_job, jobs, "rendering presentations", "video", workers, progress)
        return dict(
            frames=np.stack([r[0] for r in rendered]), depth=np.stack([r[1] for r in rendered]),
            reflection=np.stack([r[2] for r in rendered]), landmarks=np.stack([r[3] for r in rendered]),
            label=np.array([int(r["pai"] == BONA_FIDE) for r in rows], dtype=np.int64),
            pai=np.array([r["pai"] for r in rows]), domain=np.array([r["domain"] for r in rows]),
            split=np.array([r["split"] for r in rows]), identity=np.array([r["identity"] for r in rows]),
            video=np.array([r["video"] for r in rows]))

    return Benchmark(config, **cached(f"benchmark-{config.key()}", render, cache))


