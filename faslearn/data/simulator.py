"""Render a presentation: a live face or an attack, in a capture domain, as frames + labels.

A *capture domain* is what makes two face anti-spoofing datasets differ: the camera (resolution,
optics, noise, colour processing, compression), the rooms and their light, the subjects, and the
attack instruments the collectors used (their printers, screens and masks). Training on three
domains and testing on the fourth reproduces, in miniature, the cross-dataset problem of the
OULU / CASIA / Idiap / MSU (OCIM) leave-one-out protocol.

``render_presentation`` runs the whole image formation for one presentation:

    scene (room, light, 3D head | medium held in front of the room)
    ->  camera (optics, Bayer sensor, noise, colour processing, JPEG) at the sensor's resolution
    ->  the face crop resized to the model's input, as a real pipeline does

An attack shows *another capture* of the person: a photo or video taken earlier (another pose,
expression, light and camera, with that camera's noise and compression), which is then printed,
shown on a screen or printed onto a mask. Media edges, bezels, paper margins and the fingers that
hold them appear in some captures and not others, at random places, so that none is a giveaway.

Each domain's flat media also leave its *colour moiré* (``CaptureDomain.moire``, drawn at strength
``moire``; the benchmark's default is 1, as calibrated): the fringes its rig's prints and screens
leave in its camera, a cue of its own kind in every domain, which is what makes the domains differ
for a detector (the README's "The sample world" has the measurements).

Prints are colour-managed (``colour_managed``, the benchmark's default; off in the world before
2026-12-04): the printer driver keeps mid-tones in proportion and lifts only the black.

Rooms are *furnished* at strength ``clutter`` (``CaptureDomain.clutter`` objects on average, and a wall
texture; the benchmark's default is 1; 0: bare, smooth walls, the world before 2026-12-04). A real
background has edges and texture, in the live room and in the photo an attack shows; without them the
background alone would tell a live capture (a smooth room, seen sharp) from an attack.

The attack species: ``print_1``/``print_2`` (two printers), ``replay_1``/``replay_2`` (two
displays), and two species held out of training by default (``UNSEEN_ATTACKS``): ``mask_3d``, a
rigid mask with the face printed on it (3D like a face, printed like a photo), and
``partial_eyes``, a print with the eyes cut out, held over the face so the real eyes show.
"""
from dataclasses import dataclass, fields, replace

import cv2
import numpy as np

from ..metrics import BONA_FIDE
from .attacks import (MaskInstrument, Moire, PrintInstrument, ScreenInstrument, box_visibility, colour_moire, jitter,
                      mask_albedo, pixel_grid, print_medium, screen_medium, soft_highlight, structure_period)
from .camera import Camera, capture, once, optical_mtf, srgb_to_linear
from .depth import depth_map
from .faces import mesh_topology
from .video import head_motion, plane_homography, plane_motion, pose_landmarks, warp_face

KNOWN_ATTACKS = ("print_1", "print_2", "replay_1", "replay_2")
UNSEEN_ATTACKS = ("mask_3d", "partial_eyes")  # held out of training by default
ATTACKS = KNOWN_ATTACKS + UNSEEN_ATTACKS
PRESENTATIONS = (BONA_FIDE,) + ATTACKS
RENDER_OVERSAMPLE = 2  # the scene is rendered at twice the sensor's resolution


@dataclass(frozen=True)
class CaptureDomain:
    """The cameras, rooms and attack instruments of one (miniature) dataset."""

    name: str
    description: str
    camera: Camera  # the camera of the anti-spoofing system
    source_camera: Camera  # the camera that took the photos and videos the attacks show
    light: tuple[float, float, float]  # room illuminant, linear RGB
    light_level: tuple[float, float]  # range of the room's brightness
    backgrounds: tuple  # sRGB colours of the rooms' walls and furniture
    instruments: dict  # PAI name -> PrintInstrument | ScreenInstrument | MaskInstrument
    moire: Moire | None = None  # the colour moiré its flat media leave in its camera, drawn when a benchmark
    # asks for it (None: none, e.g. a domain without media)
    clutter: float = 1.0  # mean number of objects in its rooms (shelves, frames, posters, furniture)


def _print(**kwargs):
    return PrintInstrument(**kwargs)


DOMAINS = {
    domain.name: domain for domain in [
        CaptureDomain(
            "studio", "sharp high-resolution camera, neutral daylight, plain backdrops; glossy photo and laser "
            "prints, a high-ppi tablet and a desktop monitor; resin masks",
            Camera(face_pixels=(128, 176), blur=0.3, shot_noise=0.006, read_noise=0.002, white_balance_error=0.02,
                   jpeg_quality=(90, 97)),
            Camera(face_pixels=(160, 224), blur=0.4, shot_noise=0.008, saturation=1.15, sharpen=0.4, jpeg_quality=(85, 95)),
            light=(1.0, 0.98, 0.95), light_level=(0.9, 1.1),
            backgrounds=((0.78, 0.78, 0.76), (0.55, 0.57, 0.6), (0.85, 0.84, 0.8)),
            instruments={
                "print_1": _print(lpi=175, face_width_in=5.0, dot_gain=0.08, saturation=0.9, gloss=0.35, bend=0.15,
                                  paper_white=(0.95, 0.95, 0.94), paper_texture=0.01),
                "print_2": _print(lpi=100, face_width_in=4.0, dot_gain=0.15, saturation=0.75, bend=0.3),
                "replay_1": ScreenInstrument(ppi=264, face_width_in=2.5, fill_factor=0.85, black_level=0.01,
                                             white_point=(0.97, 1.0, 1.06), glare=0.12, flicker=0.01),
                "replay_2": ScreenInstrument(ppi=96, face_width_in=0.8, fill_factor=0.7, gamma=2.5,
                                             white_point=(1.0, 1.0, 1.1), black_level=0.05, glare=0.2, flicker=0.03),
                "mask_3d": MaskInstrument(saturation=0.75, smoothing=1.0, sheen=0.2, tint=(1.0, 0.96, 0.9)),
                "partial_eyes": _print(lpi=175, face_width_in=5.0, saturation=0.9, gloss=0.2, bend=0.1),
            },
            moire=Moire(angle=45.0, period=(6.0, 8.0), contrast=0.23),
            clutter=0.25),
        CaptureDomain(
            "office", "soft low-resolution webcam, greenish fluorescent light, cluttered offices; office laser "
            "and inkjet prints on plain paper, a laptop and a tablet; paper masks",
            Camera(face_pixels=(88, 116), blur=0.75, shot_noise=0.018, read_noise=0.007,
                   white_balance=(1.06, 1.0, 0.88), white_balance_error=0.04, saturation=0.85, jpeg_quality=(65, 80)),
            Camera(face_pixels=(96, 144), blur=0.6, shot_noise=0.015, saturation=1.1, sharpen=0.4, jpeg_quality=(70, 85)),
            light=(0.86, 0.92, 0.8), light_level=(0.7, 1.0),
            backgrounds=((0.72, 0.68, 0.58), (0.35, 0.42, 0.55), (0.62, 0.62, 0.6), (0.45, 0.35, 0.28)),
            instruments={
                "print_1": _print(lpi=85, face_width_in=4.0, dot_gain=0.12, saturation=0.7, paper_texture=0.05,
                                  bend=0.4),
                "print_2": _print(lpi=60, face_width_in=3.0, dot_gain=0.22, saturation=0.8, paper_texture=0.06,
                                  paper_white=(0.9, 0.9, 0.84), bend=0.3, banding=0.06),
                "replay_1": ScreenInstrument(ppi=110, face_width_in=1.2, fill_factor=0.75, gamma=2.4, black_level=0.06,
                                             glare=0.1, flicker=0.04),
                "replay_2": ScreenInstrument(ppi=132, face_width_in=1.6, fill_factor=0.8, gamma=2.0,
                                             white_point=(1.05, 1.0, 0.95), black_level=0.03, glare=0.18, flicker=0.02),
                "mask_3d": MaskInstrument(saturation=0.6, smoothing=2.0, sheen=0.05, tint=(0.95, 0.94, 0.9)),
                "partial_eyes": _print(lpi=85, face_width_in=4.0, saturation=0.7, paper_texture=0.05, bend=0.3),
            },
            moire=Moire(angle=0.0, period=(5.0, 7.0), contrast=0.55),
            clutter=1.5),
        CaptureDomain(
            "outdoor", "phone camera with vivid, sharpened colour in cool bright daylight, outdoor scenes; "
            "photo-kiosk and inkjet prints, two phones; latex-look masks",
            Camera(face_pixels=(112, 160), blur=0.25, shot_noise=0.01, read_noise=0.003, white_balance=(0.95, 1.0, 1.08),
                   white_balance_error=0.03, gamma=2.4, saturation=1.2, sharpen=0.5, jpeg_quality=(80, 92)),
            Camera(face_pixels=(128, 192), blur=0.35, shot_noise=0.01, saturation=1.3, sharpen=0.5, jpeg_quality=(75, 90)),
            light=(1.05, 1.1, 1.2), light_level=(1.0, 1.4),
            backgrounds=((0.45, 0.58, 0.35), (0.62, 0.74, 0.86), (0.6, 0.55, 0.48), (0.3, 0.38, 0.25)),
            instruments={
                "print_1": _print(lpi=150, face_width_in=4.5, dot_gain=0.1, saturation=0.9, gloss=0.45,
                                  paper_texture=0.02, bend=0.2),
                "print_2": _print(lpi=75, face_width_in=3.5, dot_gain=0.18, saturation=0.75, paper_texture=0.05,
                                  bend=0.35, paper_white=(0.93, 0.92, 0.86), banding=0.05),
                "replay_1": ScreenInstrument(ppi=326, face_width_in=1.5, fill_factor=0.9, gamma=2.3, brightness=1.2,
                                             glare=0.3, flicker=0.01),
                "replay_2": ScreenInstrument(ppi=120, face_width_in=0.75, fill_factor=0.75, gamma=2.1,
                                             white_point=(1.0, 0.97, 1.08), black_level=0.04, brightness=1.1,
                                             glare=0.35, flicker=0.02),
                "mask_3d": MaskInstrument(saturation=0.85, smoothing=0.8, sheen=0.35, tint=(1.0, 0.93, 0.88)),
                "partial_eyes": _print(lpi=150, face_width_in=4.5, saturation=0.9, gloss=0.3, bend=0.2),
            },
            moire=Moire(angle=90.0, period=(6.0, 8.0), contrast=0.15),
            clutter=1.0),
        CaptureDomain(
            "night", "noisy CCTV-like camera, dim warm light, dark rooms; cheap inkjet and laser prints, an old "
            "monitor and a TV; plaster masks",
            Camera(face_pixels=(72, 92), blur=0.9, shot_noise=0.022, read_noise=0.006, exposure=1.3, gamma=2.0,
                   white_balance_error=0.06, saturation=0.7, jpeg_quality=(50, 65)),
            Camera(face_pixels=(80, 128), blur=0.7, shot_noise=0.02, saturation=1.15, sharpen=0.4, jpeg_quality=(60, 80)),
            light=(0.75, 0.62, 0.45), light_level=(0.4, 0.7),
            backgrounds=((0.22, 0.2, 0.18), (0.4, 0.33, 0.25), (0.15, 0.17, 0.22)),
            instruments={
                "print_1": _print(lpi=50, face_width_in=3.0, dot_gain=0.25, saturation=0.65, paper_texture=0.07,
                                  bend=0.45, paper_white=(0.88, 0.87, 0.8), banding=0.08),
                "print_2": _print(lpi=100, face_width_in=4.0, dot_gain=0.1, saturation=0.8, bend=0.3),
                "replay_1": ScreenInstrument(ppi=72, face_width_in=1.3, fill_factor=0.65, gamma=2.6, black_level=0.1,
                                             white_point=(0.95, 1.0, 1.15), glare=0.05, flicker=0.06),
                "replay_2": ScreenInstrument(ppi=40, face_width_in=2.2, fill_factor=0.8, gamma=2.2, black_level=0.07,
                                             brightness=1.3, glare=0.08, flicker=0.05),
                "mask_3d": MaskInstrument(saturation=0.5, smoothing=1.5, sheen=0.1, tint=(0.97, 0.95, 0.93)),
                "partial_eyes": _print(lpi=50, face_width_in=3.0, saturation=0.65, paper_texture=0.07, bend=0.4),
            },
            moire=Moire(angle=120.0, period=(5.0, 7.0), contrast=0.85),
            clutter=0.75),
    ]
}

# The value of each parameter at which its artifact vanishes: ``difficulty`` moves instruments
# towards these (print resolution, pixel density and sizes stay: they are the medium itself).
_INVISIBLE = {
    PrintInstrument: dict(saturation=1.0, paper_texture=0.0, gloss=0.0, bend=0.0, dot_gain=0.0, banding=0.0,
                          paper_white=(1.0, 1.0, 1.0)),
    ScreenInstrument: dict(fill_factor=1.0, gamma=2.2, white_point=(1.0, 1.0, 1.0), black_level=0.0, glare=0.0,
                           flicker=0.0),
    MaskInstrument: dict(saturation=1.0, smoothing=0.0, sheen=0.0, tint=(1.0, 1.0, 1.0)),
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


# --- the scene -------------------------------------------------------------------------------------

@dataclass
class _Session:
    """One capture session: a room (its background and light) and a light direction for 3D shading."""

    background: np.ndarray  # (R, R, 3) linear reflectance
    light: np.ndarray  # (R, R, 3) linear illumination
    direction: np.ndarray  # unit vector towards the main light (x right, y down, z towards the camera)
    illuminant: np.ndarray  # (3,) the light's mean colour: what auto white balance corrects


def _smooth_noise(size: int, cells: int, rng: np.random.Generator) -> np.ndarray:
    """Low-frequency noise: a cells x cells grid of normal values, enlarged smoothly to size."""
    grid = rng.standard_normal((cells, cells)).astype(np.float32)
    return cv2.resize(grid, (size, size), interpolation=cv2.INTER_CUBIC)


def _session(domain: CaptureDomain, size: int, rng: np.random.Generator, clutter: float = 0.0) -> _Session:
    """Draw a room: a wall of one or two of the domain's colours, with a soft edge between them
    (a door frame, a shelf, a window) and some mottle, lit by the domain's light at a random level,
    brighter on one side. The wall and light are smooth, so they are made at 64 px and enlarged; the
    room is then furnished at strength ``clutter`` (`_furnish`, from a stream of its own: the same
    ``rng`` draws the same room, light and person with and without furniture)."""
    low = 64
    y, x = (grid / low - 0.5 for grid in pixel_grid(low))
    palette = np.asarray(domain.backgrounds, dtype=np.float32)
    first, second = (palette[rng.integers(len(palette))] * np.exp(0.12 * rng.standard_normal(3)) for _ in range(2))
    angle = rng.uniform(0, 2 * np.pi)
    edge = 1 / (1 + np.exp(-(x * np.cos(angle) + y * np.sin(angle) - rng.uniform(-0.4, 0.4)) * 40))
    wall = first + (second - first) * edge[..., None] * (rng.random() < 0.6)
    wall = wall * (1 + 0.12 * _smooth_noise(low, 6, rng))[..., None]
    level = rng.uniform(*domain.light_level)
    tint = np.asarray(domain.light, dtype=np.float32) * np.exp(0.04 * rng.standard_normal(3))
    light_angle, strength = rng.uniform(0, 2 * np.pi), rng.uniform(0.0, 0.3)
    gradient = 1 + strength * (x * np.cos(light_angle) + y * np.sin(light_angle)) * 2
    direction = np.array([np.cos(light_angle) * strength, np.sin(light_angle) * strength, 1.0])
    light = (gradient[..., None] * level * tint).astype(np.float32)
    light = _up(light, size)
    background = _up(srgb_to_linear(wall), size)
    if clutter > 0:
        background = _furnish(background, domain, clutter, rng.spawn(1)[0])
    return _Session(background, light, direction / np.linalg.norm(direction), light.mean(axis=(0, 1)))


def _furnish(wall: np.ndarray, domain: CaptureDomain, clutter: float, rng: np.random.Generator) -> np.ndarray:
    """Put things in a room (linear (R, R, 3) ``wall``): Poisson(``clutter`` · ``domain.clutter``)
    objects (shelves, frames, posters, furniture: slightly tilted rectangles in the domain's colours,
    with sharp edges), then a fine texture (wallpaper, fabric, plaster, foliage) of random strength up
    to 0.125 · ``clutter``."""
    size = wall.shape[0]
    palette = srgb_to_linear(np.asarray(domain.backgrounds, dtype=np.float32))
    y, x = (grid / size for grid in pixel_grid(size))
    for _ in range(rng.poisson(clutter * domain.clutter)):
        (cx, cy), (half_width, half_height) = rng.uniform(0, 1, 2), rng.uniform(0.03, 0.4, 2)
        tilt = rng.uniform(-0.2, 0.2)
        u = (x - cx) * np.cos(tilt) + (y - cy) * np.sin(tilt)
        v = -(x - cx) * np.sin(tilt) + (y - cy) * np.cos(tilt)
        outside = np.maximum(np.abs(u) / half_width, np.abs(v) / half_height) - 1  # > 0 outside the object
        inside = np.clip(0.5 - outside * min(half_width, half_height) * size, 0, 1)  # a one-pixel soft edge
        colour = palette[rng.integers(len(palette))] * np.exp(0.4 * rng.standard_normal(3))
        wall = wall * (1 - inside[..., None]) + colour * inside[..., None]
    amount = clutter * rng.uniform(0, 0.125)
    texture = cv2.GaussianBlur(rng.standard_normal((size, size)).astype(np.float32), (0, 0), rng.uniform(0.7, 2.5))
    texture /= texture.std() + 1e-6
    return np.clip(wall * (1 + amount * texture)[..., None], 0, 1).astype(np.float32)


def _up(image: np.ndarray, size: int) -> np.ndarray:
    return cv2.resize(image, (size, size), interpolation=cv2.INTER_CUBIC if image.shape[0] < size else cv2.INTER_AREA)


def _pores(size: int, rng: np.random.Generator) -> np.ndarray:
    """Skin pores and fine texture: band-pass noise (a difference of two Gaussian blurs)."""
    pores = rng.standard_normal((size, size)).astype(np.float32)
    return cv2.GaussianBlur(pores, (0, 0), 0.6) - cv2.GaussianBlur(pores, (0, 0), 2.0)


def _live_radiance(image, landmarks, posed, session: _Session, size: int, rng: np.random.Generator,
                   albedo_override=None, clip: dict | None = None):
    """Light leaving a live head in the room: albedo x 3D shading x light, skin texture and sheen.

    Returns ``(radiance, face)``: face is the (size, size) soft mask of the face mesh. The face
    image's own surroundings (hair, background) are kept near the head and give way to the room.
    ``albedo_override`` (linear, (size, size, 3)) replaces the face's albedo inside the mesh (a mask).
    Frames of one clip share ``clip``: the same hair line, sheen and pores, which move with the face.
    """
    small = image.shape[0]
    nearness = depth_map(posed, small, small, face_floor=0.0)  # 0 off the face, 1 at the nose tip
    on_face = (nearness > 0).astype(np.float32)
    hair = int(once(clip, "hair", lambda: rng.integers(5, 13)))  # how far the head reaches beyond the face mesh
    head = cv2.dilate(on_face, np.ones((3, 3), np.uint8), iterations=hair)
    head = _up(cv2.GaussianBlur(head, (0, 0), 1.5), size)[..., None]
    face = np.clip(_up(cv2.GaussianBlur(on_face, (0, 0), 0.7), size), 0, 1)
    albedo = _up(srgb_to_linear(warp_face(image, landmarks, posed).astype(np.float32) / 255), size)
    # skin: pores and fine texture, a band-pass noise on the face only
    first_pose = once(clip, "first_pose", lambda: posed)
    pores = once(clip, "pores", lambda: _pores(size, rng))
    if posed is not first_pose:  # later frames of a clip: the pores follow the face (a similarity fit)
        move, _ = cv2.estimateAffinePartial2D(first_pose[:, :2] * (size / small), posed[:, :2] * (size / small))
        pores = cv2.warpAffine(pores, move, (size, size), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT)
    albedo = albedo * (1 + 0.08 * pores / (pores.std() + 1e-6) * face)[..., None]
    if albedo_override is not None:
        albedo = albedo_override * face[..., None] + albedo * (1 - face[..., None])
    albedo = head * albedo + (1 - head) * session.background
    # 3D shading: Lambert with the surface normals of the depth map, 1 for a surface facing the camera
    height = cv2.GaussianBlur(nearness * float(np.ptp(posed[:, 2])), (0, 0), 1.0)
    gy, gx = np.gradient(height)
    normals = np.stack([-gx, -gy, np.ones_like(gx)], axis=-1)
    normals /= np.linalg.norm(normals, axis=-1, keepdims=True)
    lambert = np.clip(normals @ session.direction, 0, 1) / session.direction[2]
    shading = _up((0.5 + 0.5 * lambert).astype(np.float32), size)
    shading = 1 + (shading - 1) * face
    sheen = _up(nearness ** 6, size) * once(clip, "sheen", lambda: rng.uniform(0.02, 0.08))  # oily nose and forehead
    radiance = albedo * shading[..., None] * session.light + sheen[..., None] * session.light.mean(axis=2, keepdims=True)
    return radiance, face


def _source_capture(image, landmarks, domain: CaptureDomain, rng: np.random.Generator, frontal: bool = False,
                    clip: dict | None = None, move=(0.0, 0.0, 0.0, (0.0, 0.0)), clutter: float = 0.0):
    """The photo the attacker prints or replays: another session, pose, light and camera. sRGB (c, c, 3).

    A replayed *video* is a clip of such captures (``clip`` shared): one session and camera, the
    head moved by ``move`` = (yaw, pitch, roll, shift) from its first pose."""
    camera = domain.source_camera
    pixels = once(clip, "pixels", lambda: int(rng.integers(camera.face_pixels[0], camera.face_pixels[1] + 1)))
    angles = (3, 2, 2) if frontal else (12, 8, 5)
    yaw, pitch, roll = once(clip, "pose", lambda: tuple(rng.uniform(-a, a) for a in angles))
    blink = once(clip, "blink", lambda: rng.uniform(0, 0.3) * (not frontal))
    posed = pose_landmarks(landmarks, yaw + move[0], pitch + move[1], roll + move[2], move[3], blink=blink,
                           frame_size=image.shape[0])
    size = RENDER_OVERSAMPLE * pixels
    session = once(clip, "session", lambda: _session(domain, size, rng, clutter))
    radiance, _ = _live_radiance(image, landmarks, posed, session, size, rng, clip=clip)
    return capture(radiance, camera, pixels, rng, session.illuminant, clip).astype(np.float32) / 255


def _medium_layout(kind: str, rng: np.random.Generator) -> dict:
    """Where the medium's edges fall (crop units: the crop spans [0, 1]) and what frames it."""
    half = rng.uniform(0.55, 1.6) if kind != "replay" else rng.uniform(0.6, 1.5)
    return dict(centre=0.5 + rng.uniform(-0.1, 0.1, 2), half=half,
                margin=rng.uniform(0.03, 0.1) if kind == "print" and rng.random() < 0.3 else 0.0,
                bezel=rng.uniform(0.03, 0.12) if kind == "replay" else 0.0,
                bezel_level=rng.uniform(0.01, 0.12), fingers=rng.random() < 0.3)


def _sheet_coordinates(homography: np.ndarray, size: int):
    """For every output pixel, the point of the flat medium it sees (crop units), via H^-1."""
    y, x = pixel_grid(size)
    points = np.stack([x + 0.5, y + 0.5, np.ones_like(x)], axis=-1) @ np.linalg.inv(homography).T
    return points[..., 0] / points[..., 2] / size, points[..., 1] / points[..., 2] / size


def _box_mask(u, v, centre, half, soft):
    distance = np.maximum(np.abs(u - centre[0]), np.abs(v - centre[1])) - half
    return np.clip(0.5 - distance / soft, 0, 1).astype(np.float32)


def _fingers(size: int, rng: np.random.Generator, light: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Two to four fingertips entering the crop from one side: (mask, radiance)."""
    y, x = (grid / size for grid in pixel_grid(size))
    side = rng.integers(4)
    along = rng.uniform(0.15, 0.85)
    mask = np.zeros((size, size), np.float32)
    for k in range(int(rng.integers(2, 5))):
        position = along + 0.09 * k
        depth = rng.uniform(0.06, 0.16)
        u, v = [(x, y), (1 - x, y), (y, x), (1 - y, x)][side]  # v: distance into the crop from that side
        blob = ((u - position) / 0.04) ** 2 + ((v - 0.0) / depth) ** 2 < 1
        mask = np.maximum(mask, blob.astype(np.float32))
    mask = cv2.GaussianBlur(mask, (0, 0), 0.01 * size + 0.5)
    skin = srgb_to_linear(np.array([0.8, 0.6, 0.5]) * np.exp(0.25 * rng.standard_normal() + 0.05 * rng.standard_normal(3)))
    return mask, skin.astype(np.float32) * light


def _eye_holes(points: np.ndarray, small: int, size: int) -> np.ndarray:
    """Soft mask of the eye openings (a little enlarged) of landmarks ``points`` in a small-px image."""
    holes = np.zeros((small * 4, small * 4), np.uint8)
    for name in ("left_eye", "right_eye"):
        contour = points[mesh_topology()[name], :2] * 4
        centre = contour.mean(axis=0)
        cv2.fillPoly(holes, [np.round(centre + 1.5 * (contour - centre)).astype(np.int32)], 1)
    return np.clip(_up(holes.astype(np.float32), size), 0, 1)


def _fringes(spec: Moire, strength: float, rng: np.random.Generator) -> dict:
    """One capture's colour moiré: period (sensor pixels), angle (radians), contrast (at most 1: the fringes
    cannot take more light away than there is), phase and drift per frame."""
    return dict(period=rng.uniform(*spec.period),
                angle=np.deg2rad(spec.angle + rng.uniform(-spec.angle_spread, spec.angle_spread)),
                contrast=min(1.0, strength * spec.contrast * rng.uniform(0.5, 1.5)), phase=rng.uniform(0, 2 * np.pi),
                drift=rng.uniform(0.5, 1.5))


def render_presentation(image: np.ndarray, landmarks: np.ndarray, pai: str, domain: CaptureDomain | str,
                        rng: np.random.Generator, num_frames: int = 1, difficulty: float = 0.0,
                        map_size: int | None = None, motion: float = 1.0, moire: float = 0.0,
                        clutter: float = 0.0, colour_managed: bool = False) -> Presentation:
    """Render one presentation of the face ``image`` (S x S RGB uint8 with its landmarks).

    The frames come out at S x S: the camera captures at its own resolution (``Camera.face_pixels``
    for S = 64, scaled with S) and the face crop is resized to S. Depth maps are ``map_size``
    (default S // 4) square. ``moire`` scales the domain's colour moiré on prints and screens
    (``CaptureDomain.moire``; 0: none). Its draws come from a stream of their own, so the same
    ``rng`` renders the same presentation with and without fringes. ``clutter`` furnishes the rooms
    (the live room and the one in the attack's photo; 0: bare walls), from streams of their own too.
    ``colour_managed`` calibrates the prints' tones (``faslearn.data.attacks.print_medium``).
    """
    if isinstance(domain, str):
        if domain not in DOMAINS:
            raise ValueError(f"unknown capture domain {domain!r}; expected one of {list(DOMAINS)}")
        domain = DOMAINS[domain]
    if pai not in PRESENTATIONS:
        raise ValueError(f"unknown presentation {pai!r}; expected one of {PRESENTATIONS}")
    image, landmarks = np.asarray(image), np.asarray(landmarks)
    if image.ndim != 3 or image.shape[0] != image.shape[1] or image.shape[2] != 3 or image.dtype != np.uint8:
        raise ValueError(f"image must be a square RGB array (S, S, 3) of uint8, got {image.dtype} of shape {image.shape}")
    if landmarks.ndim != 2 or landmarks.shape[1] != 3 or len(landmarks) < 3 or not np.isfinite(landmarks).all():
        raise ValueError(f"landmarks must be finite 3D points (N, 3), as load_faces gives them, got shape "
                         f"{landmarks.shape}")
    if isinstance(num_frames, bool) or not isinstance(num_frames, (int, np.integer)) or num_frames < 1:
        raise ValueError(f"num_frames must be a whole number >= 1, got {num_frames!r}")
    if moire < 0:
        raise ValueError(f"moire must be >= 0, got {moire}")
    if clutter < 0:
        raise ValueError(f"clutter must be >= 0, got {clutter}")
    small = image.shape[0]
    map_size = map_size or small // 4
    camera = domain.camera
    sensor = int(round(rng.integers(camera.face_pixels[0], camera.face_pixels[1] + 1) * max(1.0, small / 64)))
    size = RENDER_OVERSAMPLE * sensor
    session = _session(domain, size, rng, clutter)
    head = head_motion(num_frames, rng, amplitude=motion)
    camera_shake = 0.003 * rng.standard_normal((num_frames, 2))  # the same for every presentation kind
    zeros = np.zeros((map_size, map_size), dtype=np.float32)
    kind = "live" if pai == BONA_FIDE else pai.split("_")[0]
    instrument = None if kind == "live" else jitter(harden(domain.instruments[pai], difficulty), rng)
    layout = _medium_layout(kind, rng)
    hand = _fingers(size, rng, session.illuminant) if (
        layout["fingers"] if kind in ("print", "replay", "partial") else rng.random() < 0.1) else None

    def posed(t: int, blink: bool = True):
        return pose_landmarks(landmarks, head.yaw[t], head.pitch[t], head.roll[t], head.shift[t] + camera_shake[t],
                              head.blink[t] * blink, frame_size=small)

    clip = {}  # what holds over this presentation's frames (camera.once)

    def finish(radiance, held=None):
        if hand is not None:  # ``held``: the fingers hold the medium and move with it
            fingers = hand[0] if held is None else cv2.warpPerspective(hand[0], held, (size, size))
            radiance = radiance * (1 - fingers[..., None]) + fingers[..., None] * hand[1]
        frame = capture(radiance, camera, sensor, rng, session.illuminant, clip)
        return cv2.resize(frame, (small, small), interpolation=cv2.INTER_AREA) if sensor != small else frame

    # the medium's fine structure at this capture's scale (module docstring of faslearn.data.attacks)
    if isinstance(instrument, (PrintInstrument, ScreenInstrument)):
        per_inch = instrument.lpi if isinstance(instrument, PrintInstrument) else instrument.ppi
        period = RENDER_OVERSAMPLE * structure_period(sensor, instrument.face_width_in, per_inch)
        # structure the rendering grid can hold is blurred by the camera itself; finer structure
        # would alias on the grid, so the lens's MTF is applied to it before it is drawn
        visibility = 1.0 if period >= 2 else float(optical_mtf(camera, RENDER_OVERSAMPLE / period))
    frames, depths, reflections = [], [], []
    if kind in ("live", "mask"):
        mask_texture = None
        if kind == "mask":
            source = cv2.resize(_source_capture(image, landmarks, domain, rng, frontal=True, clutter=clutter),
                                (small, small), interpolation=cv2.INTER_AREA)
        for t in range(num_frames):
            points = posed(t, blink=kind == "live")
            if kind == "mask":  # the printed shell moves with the head; the wearer's eyes show through
                shell = warp_face((source * 255).astype(np.uint8), landmarks, points).astype(np.float32) / 255
                eyes = _eye_holes(points, small, size)[..., None]
                mask_texture = mask_albedo(_up(shell, size), instrument) * (1 - eyes)
                mask_texture += _up(srgb_to_linear(warp_face(image, landmarks, points).astype(np.float32) / 255),
                                    size) * eyes
            radiance, _ = _live_radiance(image, landmarks, points, session, size, rng, albedo_override=mask_texture,
                                         clip=clip)
            if kind == "mask":
                shine = instrument.sheen * _up(depth_map(points, small, small, face_floor=0.0) ** 2, size)
                radiance = radiance + shine[..., None] * session.light
            frames.append(finish(radiance))
            depths.append(depth_map(points, small, map_size) if kind == "live" else zeros)
            reflections.append(zeros)
        return Presentation(np.stack(frames), np.stack(depths), np.stack(reflections), int(kind == "live"), pai,
                            domain.name)

    fringes = _fringes(domain.moire, moire, rng.spawn(1)[0]) if moire > 0 and domain.moire else None
    plane = plane_motion(num_frames, rng, amplitude=motion * (0.5 if kind == "replay" else 1.0))
    screen_dimming = np.sqrt(session.light.mean())  # auto-brightness: a screen dims in a dim room
    still = None if kind == "replay" else _up(_source_capture(image, landmarks, domain, rng,
                                                              frontal=kind == "partial", clutter=clutter), size)
    if kind in ("print", "partial"):  # printed once, moves rigidly
        flat, specular = print_medium(still, instrument, rng, period, visibility, colour_managed)
        flat = flat * session.light
        flat_specular = specular
        if kind == "partial":
            holes = _eye_holes(landmarks, small, size)
    source_clip, first_homography = {}, None
    for t in range(num_frames):
        if kind == "replay":  # the screen replays a video of the person, taken earlier: a moving head
            if t == 1:
                source_motion = head_motion(num_frames, rng, amplitude=motion)
            move = (0.0, 0.0, 0.0, (0.0, 0.0)) if t == 0 else tuple(
                getattr(source_motion, axis)[t] - getattr(source_motion, axis)[0]
                for axis in ("yaw", "pitch", "roll", "shift"))
            content = _up(_source_capture(image, landmarks, domain, rng, clip=source_clip, move=move,
                                                   clutter=clutter), size)
            flat, flat_specular = screen_medium(content, instrument, rng, period, visibility, flicker_phase=2.6 * t,
                                                clip=clip)
            flat = flat * screen_dimming
        homography = plane_homography(size, plane.yaw[t], plane.pitch[t], plane.roll[t], plane.shift[t] + camera_shake[t])
        warp = dict(dsize=(size, size), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT)
        medium = cv2.warpPerspective(flat, homography, **warp)
        if fringes is not None:  # they drift from frame to frame: the beat moves with the slightest motion
            medium = medium * colour_moire(size, RENDER_OVERSAMPLE * fringes["period"], fringes["angle"],
                                           fringes["contrast"], fringes["phase"] + fringes["drift"] * t)
        glare = cv2.warpPerspective(flat_specular, homography, **warp)
        medium = medium + glare[..., None] * session.light.mean(axis=2, keepdims=True)
        u, v = _sheet_coordinates(homography, size)
        soft = 1.5 / size
        sheet = _box_mask(u, v, layout["centre"], layout["half"], soft)
        if layout["margin"]:  # a white paper margin around the printed photo
            inner = _box_mask(u, v, layout["centre"], layout["half"] - layout["margin"], soft)
            paper = np.asarray(instrument.paper_white, np.float32) * session.light
            medium = medium * inner[..., None] + paper * (1 - inner[..., None])
        if layout["bezel"]:  # the screen's frame around the display
            outer = _box_mask(u, v, layout["centre"], layout["half"] + layout["bezel"], soft)
            bezel = layout["bezel_level"] * session.light + glare[..., None] * 0.5
            medium = medium * sheet[..., None] + bezel * (outer - sheet)[..., None]
            sheet = outer
        radiance = medium * sheet[..., None] + session.background * session.light * (1 - sheet[..., None])
        if kind == "partial":  # the real eyes behind the holes cut in the print
            live, _ = _live_radiance(image, landmarks, posed(t), session, size, rng, clip=clip)
            through = cv2.warpPerspective(holes, homography, (size, size), flags=cv2.INTER_LINEAR)[..., None]
            radiance = radiance * (1 - through) + live * through
        first_homography = homography if t == 0 else first_homography
        frames.append(finish(radiance, None if t == 0 else homography @ np.linalg.inv(first_homography)))
        depths.append(zeros)
        reflections.append(np.clip(cv2.resize(glare * sheet, (map_size, map_size), interpolation=cv2.INTER_AREA), 0, 1))
    return Presentation(np.stack(frames), np.stack(depths), np.stack(reflections), 0, pai, domain.name)


def medium_scale(domain: CaptureDomain | str) -> list[dict]:
    """Per instrument of a domain: the structure period in sensor pixels and the share the lens keeps,
    over the domain's range of camera resolutions (the physics behind notebook 00's table)."""
    domain = DOMAINS[domain] if isinstance(domain, str) else domain
    rows = []
    for pai, instrument in domain.instruments.items():
        if isinstance(instrument, MaskInstrument):
            continue
        per_inch = instrument.lpi if isinstance(instrument, PrintInstrument) else instrument.ppi
        periods = [structure_period(p, instrument.face_width_in, per_inch) for p in domain.camera.face_pixels]
        rows.append(dict(pai=pai, per_inch=per_inch, face_width_in=instrument.face_width_in,
                         period_px=tuple(periods),
                         visibility=tuple(float(optical_mtf(domain.camera, 1 / p)) * box_visibility(p)
                                          for p in periods)))
    return rows


def domain_table() -> list[dict]:
    """One row per domain and instrument: the parameters, for display in the course."""
    rows = []
    for domain in DOMAINS.values():
        for pai, instrument in domain.instruments.items():
            row = {"domain": domain.name, "pai": pai, "kind": type(instrument).__name__}
            row.update({f.name: getattr(instrument, f.name) for f in fields(instrument)})
            rows.append(row)
    return rows
