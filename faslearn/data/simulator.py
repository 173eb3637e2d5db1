"""Render a presentation: a live face or an attack, in a capture domain, as frames + labels.

A *capture domain* is what makes two face anti-spoofing datasets differ: the camera, the room
light, and the attack instruments the collectors used (their printers and screens). Training on
three domains and testing on the fourth reproduces, in miniature, the cross-dataset problem of
the OULU / CASIA / Idiap / MSU (OCIM) leave-one-out protocol.

``render_presentation`` runs the whole image formation for one presentation:

    motion (3D head | rigid plane)  ->  medium (skin | paper | screen)  ->  room light
    ->  camera (optics, Bayer sensor, noise, tone curve, JPEG)

and returns the frames with their pseudo-depth labels (bona fide only) and reflection maps
(the specular light on paper or glass, attacks only).
"""
from dataclasses import dataclass, fields, replace

import cv2
import numpy as np

from ..metrics import BONA_FIDE
from .attacks import (PrintInstrument, ScreenInstrument, bona_fide_radiance, jitter, pixel_grid, print_radiance,
                      screen_radiance)
from .camera import Camera, capture
from .depth import depth_map
from .video import head_motion, plane_homography, plane_motion, pose_landmarks, warp_face

ATTACKS = ("print_1", "print_2", "replay_1", "replay_2")
PRESENTATIONS = (BONA_FIDE,) + ATTACKS


@dataclass(frozen=True)
class CaptureDomain:
    """A camera, a room and the attack instruments of one (miniature) dataset."""

    name: str
    description: str
    camera: Camera
    light: tuple[float, float, float]  # room illuminant, linear RGB
    instruments: dict  # PAI name -> PrintInstrument | ScreenInstrument


DOMAINS = {
    domain.name: domain for domain in [
        CaptureDomain(
            "studio", "sharp DSLR, neutral daylight; laser + glossy photo prints, phone + laptop replays",
            Camera(blur=0.45, shot_noise=0.008, read_noise=0.003, jpeg_quality=92),
            light=(1.0, 0.98, 0.95),
            instruments={
                "print_1": PrintInstrument(halftone_period=2.6, ink_spread=0.5, saturation=0.85, bend=0.25),
                "print_2": PrintInstrument(halftone_period=2.0, ink_spread=0.9, saturation=0.95, paper_texture=0.015,
                                           gloss=0.35, bend=0.15, paper_white=(0.95, 0.95, 0.94)),
                "replay_1": ScreenInstrument(pixel_pitch=3.1, fill_factor=0.85, white_point=(0.97, 1.0, 1.05),
                                             black_level=0.01, glare=0.12, flicker=0.01),
                "replay_2": ScreenInstrument(pixel_pitch=4.6, fill_factor=0.7, gamma=2.5, white_point=(1.0, 1.0, 1.12),
                                             black_level=0.05, glare=0.2, bezel=0.04, flicker=0.03),
            }),
        CaptureDomain(
            "office", "soft webcam, greenish fluorescent light; office laser + inkjet prints, monitor + tablet",
            Camera(blur=0.9, shot_noise=0.02, read_noise=0.008, white_balance=(1.05, 1.0, 0.9), jpeg_quality=75),
            light=(0.86, 0.92, 0.8),
            instruments={
                "print_1": PrintInstrument(halftone_period=3.4, ink_spread=0.4, saturation=0.7, paper_texture=0.05,
                                           bend=0.4),
                "print_2": PrintInstrument(halftone_period=2.8, ink_spread=1.0, saturation=0.8, paper_texture=0.06,
                                           paper_white=(0.9, 0.9, 0.84), bend=0.3),
                "replay_1": ScreenInstrument(pixel_pitch=5.2, fill_factor=0.75, gamma=2.4, black_level=0.06, glare=0.1,
                                             bezel=0.06, flicker=0.04),
                "replay_2": ScreenInstrument(pixel_pitch=3.6, fill_factor=0.8, gamma=2.0, white_point=(1.05, 1.0, 0.95),
                                             black_level=0.03, glare=0.18, flicker=0.02),
            }),
        CaptureDomain(
            "outdoor", "phone camera in cool daylight, bright; photo-kiosk + inkjet prints, two phones",
            Camera(blur=0.6, shot_noise=0.012, read_noise=0.004, white_balance=(0.95, 1.0, 1.08), jpeg_quality=85),
            light=(1.05, 1.1, 1.2),
            instruments={
                "print_1": PrintInstrument(halftone_period=2.3, ink_spread=0.7, saturation=0.9, gloss=0.25,
                                           paper_texture=0.02, bend=0.2),
                "print_2": PrintInstrument(halftone_period=3.1, ink_spread=0.8, saturation=0.75, paper_texture=0.05,
                                           bend=0.35, paper_white=(0.93, 0.92, 0.86)),
                "replay_1": ScreenInstrument(pixel_pitch=3.4, fill_factor=0.9, gamma=2.3, brightness=1.2, glare=0.25,
                                             flicker=0.01),
                "replay_2": ScreenInstrument(pixel_pitch=3.9, fill_factor=0.75, gamma=2.1, white_point=(1.0, 0.97, 1.08),
                                             black_level=0.04, brightness=1.1, glare=0.3, flicker=0.02),
            }),
        CaptureDomain(
            "night", "noisy CCTV-like camera in dim warm light; cheap inkjet + laser prints, old LCD + TV",
            Camera(blur=1.1, shot_noise=0.035, read_noise=0.015, exposure=1.3, gamma=2.0, jpeg_quality=60),
            light=(0.75, 0.62, 0.45),
            instruments={
                "print_1": PrintInstrument(halftone_period=3.8, ink_spread=1.1, saturation=0.65, paper_texture=0.07,
                                           bend=0.45, paper_white=(0.88, 0.87, 0.8)),
                "print_2": PrintInstrument(halftone_period=2.5, ink_spread=0.5, saturation=0.8, bend=0.3),
                "replay_1": ScreenInstrument(pixel_pitch=5.8, fill_factor=0.65, gamma=2.6, black_level=0.1,
                                             white_point=(0.95, 1.0, 1.15), glare=0.05, bezel=0.05, flicker=0.06),
                "replay_2": ScreenInstrument(pixel_pitch=4.2, fill_factor=0.8, gamma=2.2, black_level=0.07,
                                             brightness=1.3, glare=0.08, flicker=0.05),
            }),
    ]
}

# The value of each parameter at which its artifact vanishes: ``difficulty`` moves instruments
# towards these (halftone period and pixel pitch stay: they are the medium itself).
_INVISIBLE = {
    PrintInstrument: dict(saturation=1.0, paper_texture=0.0, gloss=0.0, bend=0.0, ink_spread=1.2,
                          paper_white=(1.0, 1.0, 1.0)),
    ScreenInstrument: dict(diffuser=2.5, fill_factor=1.0, gamma=2.2, white_point=(1.0, 1.0, 1.0), black_level=0.0, glare=0.0,
                           flicker=0.0, bezel=0.0),
}


def harden(instrument, difficulty: float):
    """Move an instrument's visible flaws towards invisibility: 0 = as specified, 1 = none left."""
    if not 0 <= difficulty <= 1:
        raise ValueError(f"difficulty must be in [0, 1], got {difficulty}")
    changes = {}
    for name, target in _INVISIBLE[type(instrument)].items():
        value = np.asarray(getattr(instrument, name), dtype=float)
        mixed = (1 - difficulty) * value + difficulty * np.asarray(target, dtype=float)
        changes[name] = tuple(mixed.tolist()) if mixed.ndim else float(mixed)
    return replace(instrument, **changes)


@dataclass
class Presentation:
    """Frames (T, S, S, 3) uint8 with per-frame depth and reflection maps (T, M, M) in [0, 1]."""

    frames: np.ndarray
    depth: np.ndarray
    reflection: np.ndarray
    label: int
    pai: str
    domain: str


def _room_light(domain: CaptureDomain, size: int, rng: np.random.Generator) -> np.ndarray:
    """Illuminant x level x a linear gradient (light coming from one side), (size, size, 3)."""
    level = rng.uniform(0.75, 1.15)
    angle, strength = rng.uniform(0, 2 * np.pi), rng.uniform(0.0, 0.3)
    y, x = (grid / size - 0.5 for grid in pixel_grid(size))
    gradient = 1 + strength * (x * np.cos(angle) + y * np.sin(angle)) * 2
    return gradient[..., None] * (level * np.asarray(domain.light, dtype=np.float32))


def _upsample(image_uint8: np.ndarray, size: int) -> np.ndarray:
    return cv2.resize(image_uint8, (size, size), interpolation=cv2.INTER_CUBIC).astype(np.float32) / 255


def render_presentation(image: np.ndarray, landmarks: np.ndarray, pai: str, domain: CaptureDomain | str,
                        rng: np.random.Generator, num_frames: int = 1, oversample: int = 4,
                        difficulty: float = 0.0, map_size: int | None = None, motion: float = 1.0) -> Presentation:
    """Render one presentation of the face ``image`` (S x S RGB uint8 with its landmarks)."""
    if isinstance(domain, str):
        if domain not in DOMAINS:
            raise ValueError(f"unknown capture domain {domain!r}; expected one of {list(DOMAINS)}")
        domain = DOMAINS[domain]
    if pai not in PRESENTATIONS:
        raise ValueError(f"unknown presentation {pai!r}; expected one of {PRESENTATIONS}")
    if image.ndim != 3 or image.shape[0] != image.shape[1] or image.shape[2] != 3:
        raise ValueError(f"image must be a square RGB array (S, S, 3), got shape {image.shape}")
    size = image.shape[0]
    map_size = map_size or size // 8
    hi = size * oversample
    light = _room_light(domain, hi, rng)
    head = head_motion(num_frames, rng, amplitude=motion)
    camera_shake = 0.003 * rng.standard_normal((num_frames, 2))  # the same for every presentation kind

    def posed_face(t: int):
        posed = pose_landmarks(landmarks, head.yaw[t], head.pitch[t], head.roll[t], head.shift[t] + camera_shake[t],
                               head.blink[t], frame_size=size)
        return warp_face(image, landmarks, posed), posed

    frames, depths, reflections = [], [], []
    zeros = np.zeros((map_size, map_size), dtype=np.float32)
    if pai == BONA_FIDE:
        for t in range(num_frames):
            face, posed = posed_face(t)
            frames.append(capture(bona_fide_radiance(_upsample(face, hi), light), domain.camera, size, rng))
            depths.append(depth_map(posed, size, map_size))
            reflections.append(zeros)
        return Presentation(np.stack(frames), np.stack(depths), np.stack(reflections), 1, pai, domain.name)

    instrument = jitter(harden(domain.instruments[pai], difficulty), rng)
    plane = plane_motion(num_frames, rng, amplitude=motion * (1.0 if pai.startswith("print") else 0.5))
    background = rng.uniform(0.05, 0.3, 3).astype(np.float32)  # the room behind the medium's edges
    if isinstance(instrument, PrintInstrument):
        flat, specular = print_radiance(_upsample(image, hi), instrument, light, rng)  # printed once, moves rigidly
    for t in range(num_frames):
        if isinstance(instrument, ScreenInstrument):  # the screen replays a live video of the person
            face, _ = posed_face(t)
            flat, specular = screen_radiance(_upsample(face, hi), instrument, light, rng, flicker_phase=2.6 * t)
        homography = plane_homography(hi, plane.yaw[t], plane.pitch[t], plane.roll[t], plane.shift[t] + camera_shake[t])
        radiance = cv2.warpPerspective(flat, homography, (hi, hi), flags=cv2.INTER_LINEAR,
                                       borderMode=cv2.BORDER_CONSTANT, borderValue=background.tolist())
        glare = cv2.warpPerspective(specular, homography, (hi, hi), flags=cv2.INTER_LINEAR)
        frames.append(capture(radiance, domain.camera, size, rng))
        depths.append(zeros)
        reflections.append(np.clip(cv2.resize(glare, (map_size, map_size), interpolation=cv2.INTER_AREA), 0, 1))
    return Presentation(np.stack(frames), np.stack(depths), np.stack(reflections), 0, pai, domain.name)


def domain_table() -> list[dict]:
    """One row per domain and instrument: the parameters, for display in the course."""
    rows = []
    for domain in DOMAINS.values():
        for pai, instrument in domain.instruments.items():
            row = {"domain": domain.name, "pai": pai, "kind": type(instrument).__name__}
            row.update({f.name: getattr(instrument, f.name) for f in fields(instrument)})
            rows.append(row)
    return rows
