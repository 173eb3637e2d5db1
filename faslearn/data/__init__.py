"""Offline face anti-spoofing data: faces, attack simulator, pseudo-videos, depth labels, datasets,
clip preprocessing (video reading, registration, key frames, optical flow), the bona fide pool; and
real datasets: adapters, face detection and alignment, the crop cache."""
from .adapters import CROSS_DATASET_PROTOCOLS, DATASETS, DatasetError, Recording, cross_dataset, load_recordings, protocols
from .align import DETECTORS, Face, NoFaceError, align_face, detect_and_align, get_detector
from .attacks import Moire, PrintInstrument, ScreenInstrument
from .camera import Camera, capture
from .crops import CropSet, prepare_crops
from .clips import (FLOW_METHODS, PreparedClips, RegisteredClip, check_clip, frame_differences, key_frames,
                    optical_flow, prepare_clips, read_video, register_clip, registration_residual)
from .datasets import (Benchmark, BenchmarkConfig, ClipDataset, FlipShift, FrameDataset, benchmark_identities,
                       make_benchmark, to_tensor)
from .depth import depth_map, rasterize
from .faces import FaceSet, load_faces
from .pool import Pool, PoolConfig, make_pool, pool_identities, wild_domain
from .real import load_crops
from .simulator import (ATTACKS, BONA_FIDE, DOMAINS, KNOWN_ATTACKS, PRESENTATIONS, UNSEEN_ATTACKS, CaptureDomain,
                        render_presentation)
from .video import head_motion, plane_motion, pose_landmarks, warp_face

__all__ = ["ATTACKS", "BONA_FIDE", "Benchmark", "BenchmarkConfig", "CROSS_DATASET_PROTOCOLS", "Camera",
           "CaptureDomain", "ClipDataset", "CropSet", "DATASETS", "DETECTORS", "DOMAINS", "DatasetError",
           "FLOW_METHODS", "Face", "FaceSet", "FlipShift", "FrameDataset", "KNOWN_ATTACKS", "Moire", "NoFaceError",
           "PRESENTATIONS", "Pool", "PoolConfig", "PreparedClips", "PrintInstrument", "Recording", "RegisteredClip",
           "ScreenInstrument", "UNSEEN_ATTACKS", "align_face", "benchmark_identities", "capture", "check_clip",
           "cross_dataset", "depth_map", "detect_and_align", "frame_differences", "get_detector", "head_motion",
           "key_frames", "load_crops", "load_faces", "load_recordings", "make_benchmark", "make_pool", "optical_flow",
           "plane_motion", "pool_identities", "pose_landmarks", "prepare_clips", "prepare_crops", "protocols",
           "rasterize", "read_video", "register_clip", "registration_residual", "render_presentation", "to_tensor",
           "warp_face", "wild_domain"]
