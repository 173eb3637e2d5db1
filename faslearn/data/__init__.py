"""Offline face anti-spoofing data: faces, attack simulator, pseudo-videos, depth labels, datasets."""
from .attacks import PrintInstrument, ScreenInstrument
from .camera import Camera, capture
from .datasets import Benchmark, BenchmarkConfig, ClipDataset, FrameDataset, make_benchmark, to_tensor
from .depth import depth_map, rasterize
from .faces import FaceSet, load_faces
from .simulator import (ATTACKS, BONA_FIDE, DOMAINS, KNOWN_ATTACKS, PRESENTATIONS, UNSEEN_ATTACKS, CaptureDomain,
                        render_presentation)
from .video import head_motion, plane_motion, pose_landmarks, warp_face

__all__ = ["ATTACKS", "BONA_FIDE", "Benchmark", "BenchmarkConfig", "Camera", "CaptureDomain", "ClipDataset", "DOMAINS",
           "FaceSet", "FrameDataset", "KNOWN_ATTACKS", "PRESENTATIONS", "PrintInstrument", "ScreenInstrument", "capture", "depth_map",
           "head_motion", "load_faces", "make_benchmark", "plane_motion", "pose_landmarks", "rasterize",
           "render_presentation", "to_tensor", "UNSEEN_ATTACKS", "warp_face"]
