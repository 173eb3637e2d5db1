"""Offline face anti-spoofing data: faces, attack simulator, pseudo-videos, depth labels, datasets,
clip preprocessing (video reading, registration, key frames, optical flow), the bona fide pool."""
from .attacks import PrintInstrument, ScreenInstrument
from .camera import Camera, capture
from .clips import (FLOW_METHODS, PreparedClips, RegisteredClip, check_clip, frame_differences, key_frames,
                    optical_flow, prepare_clips, read_video, register_clip, registration_residual)
from .datasets import (Benchmark, BenchmarkConfig, ClipDataset, FrameDataset, benchmark_identities, make_benchmark,
                       to_tensor)
from .depth import depth_map, rasterize
from .faces import FaceSet, load_faces
from .pool import Pool, PoolConfig, make_pool, pool_identities, wild_domain
from .simulator import (ATTACKS, BONA_FIDE, DOMAINS, KNOWN_ATTACKS, PRESENTATIONS, UNSEEN_ATTACKS, CaptureDomain,
                        render_presentation)
from .video import head_motion, plane_motion, pose_landmarks, warp_face

__all__ = ["ATTACKS", "BONA_FIDE", "Benchmark", "BenchmarkConfig", "Camera", "CaptureDomain", "ClipDataset", "DOMAINS",
           "FLOW_METHODS", "FaceSet", "FrameDataset", "KNOWN_ATTACKS", "PRESENTATIONS", "Pool", "PoolConfig",
           "PreparedClips", "PrintInstrument", "RegisteredClip", "ScreenInstrument", "UNSEEN_ATTACKS",
           "benchmark_identities", "capture", "check_clip", "depth_map", "frame_differences", "head_motion",
           "key_frames", "load_faces", "make_benchmark", "make_pool", "optical_flow", "plane_motion",
           "pool_identities", "pose_landmarks", "prepare_clips", "rasterize", "read_video", "register_clip",
           "registration_residual", "render_presentation", "to_tensor", "warp_face", "wild_domain"]
