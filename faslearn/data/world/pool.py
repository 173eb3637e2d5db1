"""The bona fide pool: many live captures of people outside the benchmark's dev and test splits.

AG-FAS trains its De-fake Face Generator on about 130,000 real faces (FFHQ and CelebA-Spoof's live
images) and nothing else: the generator learns what a real face looks like, never what an attack
looks like. The pool plays that role in the course. It holds only bona fide captures, of identities
that no dev or test split of the benchmark contains, taken under *wild* capture conditions: each
view draws its own camera, room and light from ranges that span and exceed the four benchmark
domains, as photographs collected from the internet would.

    pool = make_pool(views_per_identity=6)        # cached on disk like the benchmark
    pool.images.shape, pool.identity.shape        # (N, 64, 64, 3) uint8, (N,)

The identity encoder learns to recognise people from the pool's views, and the DFG learns to
generate faces from them; ``identities`` (how many people) is the knob of the paper's Table VII.
"""
import hashlib
import json
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np

from ...cache import cached
from ...metrics import BONA_FIDE
from ...utils import derive_seed
from .benchmark import RENDERER_SOURCES, BenchmarkConfig, plan_benchmark, render_parallel
from .camera import Camera
from .domains import DOMAINS, CaptureDomain
from .faces import load_faces
from .simulator import render_presentation


def _span(values, widen: float = 0.25) -> tuple[float, float]:
    """The range of ``values``, widened by ``widen`` of its width on each side."""
    low, high = float(np.min(values)), float(np.max(values))
    return low - widen * (high - low), high + widen * (high - low)


def wild_domain(rng: np.random.Generator) -> CaptureDomain:
    """A capture domain of its own: every camera setting drawn uniformly from the span of the four
    benchmark cameras (widened by a quarter), a light of random colour and level, random walls."""
    cameras = [domain.camera for domain in DOMAINS.values()]

    def draw(name):
        return max(0.0, rng.uniform(*_span([getattr(c, name) for c in cameras])))

    nearest = max(48, int(rng.uniform(*_span([c.face_pixels[0] for c in cameras]))))
    face_pixels = (nearest, nearest + int(rng.integers(8, 48)))  # sensor pixels across the face
    quality = int(rng.uniform(50, 97))
    camera = Camera(face_pixels=face_pixels, blur=draw("blur"), shot_noise=draw("shot_noise"),
                    read_noise=draw("read_noise"), white_balance=tuple(np.exp(0.06 * rng.standard_normal(3))),
                    white_balance_error=draw("white_balance_error"),
                    exposure=float(np.exp(0.2 * rng.standard_normal())),
                    gamma=draw("gamma"), saturation=draw("saturation"), sharpen=draw("sharpen"),
                    jpeg_quality=(quality, min(100, quality + 8)))
    light = tuple(np.exp(0.15 * rng.standard_normal(3)).clip(0.5, 1.5))
    level = float(np.exp(rng.uniform(np.log(0.35), np.log(1.5))))
    walls = tuple(tuple((rng.uniform(0.1, 0.85) * np.exp(0.25 * rng.standard_normal(3))).clip(0.02, 0.95))
                  for _ in range(3))
    return CaptureDomain("wild", "a capture of its own: random camera, light and room", camera, camera, light,
                         (level * 0.85, level * 1.15), walls, instruments={})


@dataclass(frozen=True)
class PoolConfig:
    """What decides a pool's pixels: whose faces, how many views of each, at what size."""

    identities: int | None = None  # how many of the eligible people (None: all of them)
    views_per_identity: int = 6
    image_size: int = 64
    benchmark: BenchmarkConfig = BenchmarkConfig()  # its dev and test people are kept out
    seed: int = 0

    def __post_init__(self):
        if self.views_per_identity < 1 or (self.identities is not None and self.identities < 2):
            raise ValueError("a pool needs views_per_identity >= 1 and identities >= 2 (or None for all)")

    def key(self) -> str:
        """Cache key: these settings plus the renderer's source and this module's (edit them, re-render)."""
        digest = hashlib.sha256(json.dumps(asdict(self), sort_keys=True).encode())
        for source in RENDERER_SOURCES + ("pool.py",):
            digest.update((Path(__file__).parent / source).read_bytes())
        return digest.hexdigest()[:16]


@dataclass
class Pool:
    """Bona fide views: ``images`` (N, S, S, 3) uint8 and the face index each shows, ``identity`` (N,)."""

    config: PoolConfig
    images: np.ndarray
    identity: np.ndarray

    def __len__(self) -> int:
        return len(self.images)

    def people(self) -> np.ndarray:
        return np.unique(self.identity)


def pool_identities(benchmark: BenchmarkConfig | None = None) -> np.ndarray:
    """Face indices that no dev or test split of ``benchmark`` holds: the people it never uses and
    those of its training splits (their live faces are in the benchmark's training data anyway)."""
    benchmark = benchmark or BenchmarkConfig()
    faces, rows = plan_benchmark(benchmark)
    held_out = {row["identity"] for row in rows if row["split"] != "train"}
    return np.array([i for i in range(len(faces)) if i not in held_out])


def _render_view(job) -> np.ndarray:
    image, landmarks, seed = job
    rng = np.random.default_rng(seed)
    return render_presentation(image, landmarks, BONA_FIDE, wild_domain(rng), rng).frames[0]


def make_pool(config: PoolConfig | None = None, cache: bool = True, workers: int | None = None,
              progress: bool = True, **overrides: Any) -> Pool:
    """Render (or load from the cache) the bona fide pool that ``config`` / keyword overrides describe."""
    config = PoolConfig(**overrides) if config is None else replace(config, **overrides)

    def render() -> dict:
        eligible = pool_identities(config.benchmark)
        if config.identities is not None:
            if config.identities > len(eligible):
                raise ValueError(f"the pool can hold at most {len(eligible)} people outside the benchmark's dev "
                                 f"and test splits, got identities={config.identities}")
            eligible = np.sort(np.random.default_rng(config.seed).permutation(eligible)[:config.identities])
        faces = load_faces(config.benchmark.face_source, size=config.image_size)
        identity = np.repeat(eligible, config.views_per_identity)
        seeds = [derive_seed(config.seed, i, v) for i in eligible for v in range(config.views_per_identity)]
        jobs = [(faces.images[i], faces.landmarks[i], s) for i, s in zip(identity, seeds)]
        images = render_parallel(_render_view, jobs, "rendering the bona fide pool", "view", workers, progress)
        return {"images": np.stack(images), "identity": identity}

    arrays = cached(f"pool-{config.key()}", render, cache)
    return Pool(config, arrays["images"], arrays["identity"])
