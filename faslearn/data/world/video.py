"""Pseudo-videos: live faces move in 3D, prints and screens move as planes.

A live head turning by a small angle moves the nose more than the cheeks and hides one side of
the face (motion parallax); eyes blink. A photo or a screen held in front of the camera can only
move rigidly: every point follows one homography, plus hand tremor. That difference is exactly
what a multi-frame model can learn, so the simulator produces it explicitly:

- ``head_motion`` draws a smooth trajectory (yaw, pitch, roll, shift) and a blink schedule;
- ``pose_landmarks`` rotates the 478 3D landmarks about a pivot behind the face and closes the
  eyelids;
- ``warp_face`` moves the image with the mesh: each output pixel finds its triangle and
  barycentric coordinates in the *new* mesh (``faslearn.data.world.depth.rasterize``) and samples the
  same point of the *old* mesh; pixels off the mesh (hair, background) follow a smoothly fading
  version of the face's motion;
- ``plane_motion`` gives the homographies of a hand-held flat medium.
"""
from dataclasses import dataclass

import cv2
import numpy as np

from .depth import rasterize
from .faces import mesh_topology


@dataclass
class Motion:
    """Per-frame pose of a head or a sheet: angles in degrees, shifts in fractions of the frame."""

    yaw: np.ndarray
    pitch: np.ndarray
    roll: np.ndarray
    shift: np.ndarray  # (T, 2)
    blink: np.ndarray  # (T,), 0 = open, 1 = closed

    def __len__(self) -> int:
        return len(self.yaw)


def _smooth_path(num_frames: int, amplitude: float, rng: np.random.Generator) -> np.ndarray:
    """A slow sinusoid with random phase and period (1-3 clip lengths), amplitude in its units."""
    t = np.arange(num_frames) / max(num_frames, 2)
    period = rng.uniform(1.0, 3.0)
    return amplitude * np.sin(2 * np.pi * t / period + rng.uniform(0, 2 * np.pi))


def head_motion(num_frames: int, rng: np.random.Generator, amplitude: float = 1.0,
                blink_probability: float = 0.5) -> Motion:
    """A live head: slow rotations of a few degrees, a small drift and maybe one blink."""
    blink = np.zeros(num_frames)
    if num_frames >= 3 and rng.random() < blink_probability:
        centre = rng.integers(1, num_frames - 1)
        blink[centre] = 1.0
        blink[centre - 1] = blink[centre + 1] = 0.5
    return Motion(yaw=_smooth_path(num_frames, 8 * amplitude, rng), pitch=_smooth_path(num_frames, 5 * amplitude, rng),
                  roll=_smooth_path(num_frames, 3 * amplitude, rng),
                  shift=np.stack([_smooth_path(num_frames, 0.02 * amplitude, rng) for _ in range(2)], 1),
                  blink=blink)


def plane_motion(num_frames: int, rng: np.random.Generator, amplitude: float = 1.0, tremor: float = 0.004) -> Motion:
    """A hand-held sheet or screen: slow tilts like a head's, plus hand tremor (white jitter)."""
    motion = head_motion(num_frames, rng, amplitude, blink_probability=0.0)
    motion.shift = motion.shift + tremor * rng.standard_normal((num_frames, 2))
    return motion


def rotation_matrix(yaw: float, pitch: float, roll: float) -> np.ndarray:
    """R = R_z(roll) R_x(pitch) R_y(yaw), angles in degrees (image axes: x right, y down, z away)."""
    y, p, r = np.deg2rad([yaw, pitch, roll])
    ry = np.array([[np.cos(y), 0, np.sin(y)], [0, 1, 0], [-np.sin(y), 0, np.cos(y)]])
    rx = np.array([[1, 0, 0], [0, np.cos(p), -np.sin(p)], [0, np.sin(p), np.cos(p)]])
    rz = np.array([[np.cos(r), -np.sin(r), 0], [np.sin(r), np.cos(r), 0], [0, 0, 1]])
    return rz @ rx @ ry


def _eyelid_chains(points: np.ndarray, loop: np.ndarray):
    """Split an eye contour at its corners into (upper, lower) vertex chains."""
    left, right = np.argmin(points[loop, 0]), np.argmax(points[loop, 0])
    first, second = sorted((left, right))
    chain_a, chain_b = loop[first:second + 1], np.concatenate([loop[second:], loop[:first + 1]])
    if points[chain_a, 1].mean() < points[chain_b, 1].mean():
        return chain_a, chain_b
    return chain_b, chain_a


def pose_landmarks(landmarks: np.ndarray, yaw: float = 0.0, pitch: float = 0.0, roll: float = 0.0,
                   shift: tuple[float, float] | np.ndarray = (0.0, 0.0), blink: float = 0.0,
                   frame_size: int | None = None) -> np.ndarray:
    """Move 3D landmarks: close the eyelids by ``blink``, rotate about the neck, shift in frame units."""
    points = landmarks.astype(np.float64).copy()
    if blink > 0:
        topology = mesh_topology()
        for loop in (topology["left_eye"], topology["right_eye"]):
            upper, lower = _eyelid_chains(points, loop)
            order = np.argsort(points[lower, 0])
            lower_y = np.interp(points[upper, 0], points[lower, 0][order], points[lower, 1][order])
            points[upper, 1] += blink * (lower_y - points[upper, 1]) * 0.9
    width = np.ptp(points[:, 0])
    pivot = np.array([points[:, 0].mean(), points[:, 1].mean(), points[:, 2].mean() + 0.6 * width])
    points = (points - pivot) @ rotation_matrix(yaw, pitch, roll).T + pivot
    frame_size = frame_size or int(round(points[:, :2].max()))
    points[:, :2] += np.asarray(shift) * frame_size
    return points.astype(np.float32)


def warp_face(image: np.ndarray, source: np.ndarray, target: np.ndarray, falloff: float = 0.15) -> np.ndarray:
    """Re-render ``image`` (whose landmarks are ``source``) so that its face lies on ``target``."""
    size = image.shape[0]
    ids, barycentric = rasterize(target, size)
    triangles = mesh_topology()["triangles"]
    on_mesh = ids >= 0
    # Backward map: for each output pixel, where to read in the input image.
    ys, xs = np.mgrid[0:size, 0:size].astype(np.float32) + 0.5
    displacement = np.zeros((size, size, 2), dtype=np.float32)
    corners = source[triangles[ids[on_mesh]], :2]  # (P, 3, 2)
    read_at = (barycentric[on_mesh][..., None] * corners).sum(axis=1)
    displacement[on_mesh] = read_at - np.stack([xs[on_mesh], ys[on_mesh]], axis=1)
    # Off the mesh: a normalized blur of the face's displacement, fading to zero far away.
    sigma = falloff * size
    weight = cv2.GaussianBlur(on_mesh.astype(np.float32), (0, 0), sigma)
    spread = cv2.GaussianBlur(displacement * on_mesh[..., None], (0, 0), sigma)
    outside = spread / np.maximum(weight, 0.3)[..., None]
    displacement = np.where(on_mesh[..., None], displacement, outside)
    map_x = xs - 0.5 + displacement[..., 0]
    map_y = ys - 0.5 + displacement[..., 1]
    return cv2.remap(image, map_x, map_y, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT)


def plane_homography(size: int, yaw: float = 0.0, pitch: float = 0.0, roll: float = 0.0,
                     shift: tuple[float, float] | np.ndarray = (0.0, 0.0), distance: float = 3.0) -> np.ndarray:
    """Homography of a flat square (the frame, side ``size``) rotated in 3D and viewed in perspective.

    The plane sits ``distance`` frame-widths from a pinhole camera whose focal length makes the
    unrotated plane fill the frame: x_image = f · X / Z.
    """
    half = size / 2
    corners = np.array([[-half, -half, 0], [half, -half, 0], [half, half, 0], [-half, half, 0]], dtype=np.float64)
    moved = corners @ rotation_matrix(yaw, pitch, roll).T
    focal, depth = distance * size, distance * size
    projected = focal * moved[:, :2] / (depth + moved[:, 2:3]) + half + np.asarray(shift) * size
    return cv2.getPerspectiveTransform((corners[:, :2] + half).astype(np.float32), projected.astype(np.float32))
