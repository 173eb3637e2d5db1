"""The sample world: the data faslearn *makes*. Faces with 3D landmarks (`faces`), a camera (`camera`), attack
instruments (`attacks`), four capture domains (`domains`), the renderer of one presentation (`simulator`),
pseudo-videos (`video`) and depth labels (`depth`), the course benchmark and its protocols (`benchmark`),
and the bona fide pool of wild live captures (`pool`). Every name is also in `faslearn.data`."""
from .attacks import Moire, PrintInstrument, ScreenInstrument, print_medium, screen_medium
from .benchmark import (
    PROTOCOLS,
    RENDER_SETTINGS,
    Benchmark,
    BenchmarkConfig,
    benchmark_identities,
    make_benchmark,
    plan_benchmark,
)
from .camera import Camera, capture
from .depth import depth_map, rasterize
from .domains import ATTACKS, BONA_FIDE, DOMAINS, KNOWN_ATTACKS, PRESENTATIONS, UNSEEN_ATTACKS, CaptureDomain
from .faces import FaceSet, load_faces, mesh_topology, rigid_landmarks
from .pool import Pool, PoolConfig, make_pool, pool_identities, wild_domain
from .simulator import medium_scale, render_presentation
from .video import head_motion, plane_motion, pose_landmarks, warp_face

__all__ = ["ATTACKS", "BONA_FIDE", "Benchmark", "BenchmarkConfig", "Camera", "CaptureDomain", "DOMAINS",
           "FaceSet", "KNOWN_ATTACKS", "Moire", "PRESENTATIONS", "PROTOCOLS", "Pool", "PoolConfig",
           "PrintInstrument", "RENDER_SETTINGS", "ScreenInstrument", "UNSEEN_ATTACKS", "benchmark_identities",
           "capture", "depth_map", "head_motion", "load_faces", "make_benchmark", "make_pool", "medium_scale",
           "mesh_topology", "rigid_landmarks", "plan_benchmark", "plane_motion", "pool_identities",
           "pose_landmarks", "print_medium",
           "rasterize", "render_presentation", "screen_medium", "warp_face", "wild_domain"]
