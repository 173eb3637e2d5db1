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

Prints are colour-managed (``colour_managed``, the benchmark's default; off in the world the shipped
two-stream and DFG results were made on): the printer driver keeps mid-tones in proportion and lifts only
the black.

Rooms are *furnished* at strength ``clutter`` (``CaptureDomain.clutter`` objects on average, and a wall
texture; the benchmark's default is 1; 0: bare, smooth walls, as in the shipped two-stream and DFG results'
world). A real
background has edges and texture, in the live room and in the photo an attack shows; without them the
background alone would tell a live capture (a smooth room, seen sharp) from an attack.

The attack species: ``print_1``/``print_2`` (two printers), ``replay_1``/``replay_2`` (two
displays), and two species held out of training by default (``UNSEEN_ATTACKS``): ``mask_3d``, a
rigid mask with the face printed on it (3D like a face, printed like a photo), and
``partial_eyes``, a print with the eyes cut out, held over the face so the real eyes show.
"""
from dataclasses import dataclass

import cv2
import numpy as np

from ...metrics import BONA_FIDE
from ...utils import check_number
from .attacks import (
    MaskInstrument,
    Moire,
    PrintInstrument,
    box_visibility,
    colour_moire,
    jitter,
    mask_albedo,
    pixel_grid,
    print_medium,
    screen_medium,
    structure_period,
)
from .camera import capture, once, optical_mtf, srgb_to_linear
from .depth import depth_map
from .domains import DOMAINS, PRESENTATIONS, CaptureDomain, harden
from .faces import mesh_topology
from .video import head_motion, plane_homography, plane_motion, pose_landmarks, warp_face

RENDER_OVERSAMPLE = 2  # the scene is rendered at twice the sensor's resolution


@dataclass
class Presentation:
    """Frames (T, S, S, 3) uint8 with per-frame depth and reflection maps (T, M, M) in [0, 1], and where
    the face's landmarks lie in frame 0 (for a print or a screen: those of the face shown on it)."""

    frames: np.ndarray
    depth: np.ndarray
    reflection: np.ndarray
    label: int
    pai: str
    domain: str
    landmarks: np.ndarray  # (L, 2) float32, (x, y) in frame 0's pixels, what a landmark detector would find


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
    radiance = (albedo * shading[..., None] * session.light
                + sheen[..., None] * session.light.mean(axis=2, keepdims=True))
    return radiance, face


def _source_capture(image, landmarks, domain: CaptureDomain, rng: np.random.Generator, frontal: bool = False,
                    clip: dict | None = None, move=(0.0, 0.0, 0.0, (0.0, 0.0)), clutter: float = 0.0):
    """The photo the attacker prints or replays: another session, pose, light and camera. sRGB (c, c, 3).

    A replayed *video* is a clip of such captures (``clip`` shared): one session and camera, the
    head moved by ``move`` = (yaw, pitch, roll, shift) from its first pose. Returns (the photo, the
    posed landmarks in the face image's pixels, which are the photo's crop units × S)."""
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
    return capture(radiance, camera, pixels, rng, session.illuminant, clip).astype(np.float32) / 255, posed


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
    skin = srgb_to_linear(np.array([0.8, 0.6, 0.5])
                          * np.exp(0.25 * rng.standard_normal() + 0.05 * rng.standard_normal(3)))
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


@dataclass
class _Shot:
    """What both paths of `render_presentation` share: the face, the capture (camera, room, head motion,
    the hand that may hold a medium) and the instrument, drawn in this order from the presentation's ``rng``."""

    image: np.ndarray
    landmarks: np.ndarray
    pai: str
    kind: str  # "live", "mask", "print", "partial" or "replay"
    domain: CaptureDomain
    rng: np.random.Generator
    num_frames: int
    small: int  # the side of the frames that come out
    sensor: int  # the face's side in the camera's pixels
    size: int  # the rendering grid's side, RENDER_OVERSAMPLE × sensor
    map_size: int
    session: _Session
    head: object  # head_motion(...): yaw, pitch, roll, shift, blink per frame
    camera_shake: np.ndarray  # (T, 2), the same for every presentation kind
    instrument: object  # None for a live face
    layout: dict  # where a medium's edges, margin, bezel and fingers are
    hand: tuple | None  # (fingers mask, their radiance), or None
    motion: float
    clutter: float
    clip: dict  # what holds over this presentation's frames (camera.once)

    def posed(self, t: int, blink: bool = True) -> np.ndarray:
        """The face's landmarks in frame ``t`` (head motion, camera shake, a blink where ``blink``)."""
        head = self.head
        return pose_landmarks(self.landmarks, head.yaw[t], head.pitch[t], head.roll[t],
                              head.shift[t] + self.camera_shake[t], head.blink[t] * blink, frame_size=self.small)

    def finish(self, radiance: np.ndarray, held: np.ndarray | None = None) -> np.ndarray:
        """Fingers (moving with the medium by the homography ``held``), the camera, the crop's resize."""
        if self.hand is not None:
            fingers = self.hand[0] if held is None else cv2.warpPerspective(self.hand[0], held, (self.size,) * 2)
            radiance = radiance * (1 - fingers[..., None]) + fingers[..., None] * self.hand[1]
        frame = capture(radiance, self.domain.camera, self.sensor, self.rng, self.session.illuminant, self.clip)
        if self.sensor == self.small:
            return frame
        return cv2.resize(frame, (self.small, self.small), interpolation=cv2.INTER_AREA)

    def presentation(self, frames: list, depths: list, reflections: list, landmarks: np.ndarray) -> Presentation:
        return Presentation(np.stack(frames), np.stack(depths), np.stack(reflections), int(self.kind == "live"),
                            self.pai, self.domain.name, np.asarray(landmarks[:, :2], dtype=np.float32))

    def on_medium(self, posed: np.ndarray, homography: np.ndarray) -> np.ndarray:
        """Landmarks of the face on a flat medium (S-px units of the photo) → where the camera sees them
        in a frame (S px), through the medium's ``homography`` on the rendering grid."""
        scale = self.size / self.small
        points = np.c_[posed[:, :2] * scale - 0.5, np.ones(len(posed))] @ homography.T  # OpenCV: pixel centres
        return (points[:, :2] / points[:, 2:] + 0.5) / scale


def render_presentation(image: np.ndarray, landmarks: np.ndarray, pai: str, domain: CaptureDomain | str,
                        rng: np.random.Generator, num_frames: int = 1, difficulty: float = 0.0,
                        map_size: int | None = None, motion: float = 1.0, moire: float = 0.0,
                        clutter: float = 0.0, colour_managed: bool = False) -> Presentation:
    """Render one presentation of the face ``image``: a 3D head (`_render_solid_face`: live, mask) or a
    flat medium held in front of the room (`_render_flat_medium`: print, partial print, replay).

    The frames come out at S x S: the camera captures at its own resolution (``Camera.face_pixels`` for
    S = 64, scaled with S) and the face crop is resized to S.

    Args:
        image: the face, S x S RGB uint8.
        landmarks: its 3D landmarks (N, 3), as `load_faces` gives them.
        pai: "bona_fide" or an attack of ``PRESENTATIONS``.
        domain: a `CaptureDomain` or the name of one of ``DOMAINS``.
        rng: every random draw of the presentation comes from it (or from streams spawned from it).
        num_frames: frames of the pseudo-video.
        difficulty: how far the attack instruments are moved towards invisibility (`harden`), 0 to 1.
        map_size: the side of the depth and reflection maps (default S // 4).
        motion: scales head and medium motion.
        moire: scales the domain's colour moiré on prints and screens (``CaptureDomain.moire``; 0: none).
            Its draws come from a stream of their own, so the same ``rng`` renders the same presentation
            with and without fringes.
        clutter: furnishes the rooms (the live room and the one in the attack's photo; 0: bare walls),
            from streams of their own too.
        colour_managed: calibrate the prints' tones (`faslearn.data.world.attacks.print_medium`).
    """
    if isinstance(domain, str):
        if domain not in DOMAINS:
            raise ValueError(f"unknown capture domain {domain!r}; expected one of {list(DOMAINS)}")
        domain = DOMAINS[domain]
    if pai not in PRESENTATIONS:
        raise ValueError(f"unknown presentation {pai!r}; expected one of {PRESENTATIONS}")
    image, landmarks = np.asarray(image), np.asarray(landmarks)
    if image.ndim != 3 or image.shape[0] != image.shape[1] or image.shape[2] != 3 or image.dtype != np.uint8:
        raise ValueError(f"image must be a square RGB array (S, S, 3) of uint8, "
                         f"got {image.dtype} of shape {image.shape}")
    if landmarks.ndim != 2 or landmarks.shape[1] != 3 or len(landmarks) < 3 or not np.isfinite(landmarks).all():
        raise ValueError(f"landmarks must be finite 3D points (N, 3), as load_faces gives them, got shape "
                         f"{landmarks.shape}")
    if isinstance(num_frames, bool) or not isinstance(num_frames, (int, np.integer)) or num_frames < 1:
        raise ValueError(f"num_frames must be a whole number >= 1, got {num_frames!r}")
    if moire < 0:
        raise ValueError(f"moire must be >= 0, got {moire}")
    if clutter < 0:
        raise ValueError(f"clutter must be >= 0, got {clutter}")
    check_number(motion, "motion", 0)
    if map_size is not None:
        map_size = check_number(map_size, "map_size", 1, integer=True)
    small = image.shape[0]
    camera = domain.camera
    sensor = int(round(rng.integers(camera.face_pixels[0], camera.face_pixels[1] + 1) * max(1.0, small / 64)))
    size = RENDER_OVERSAMPLE * sensor
    session = _session(domain, size, rng, clutter)
    head = head_motion(num_frames, rng, amplitude=motion)
    camera_shake = 0.003 * rng.standard_normal((num_frames, 2))
    kind = "live" if pai == BONA_FIDE else pai.split("_")[0]
    instrument = None if kind == "live" else jitter(harden(domain.instruments[pai], difficulty), rng)
    layout = _medium_layout(kind, rng)
    hand = _fingers(size, rng, session.illuminant) if (
        layout["fingers"] if kind in ("print", "replay", "partial") else rng.random() < 0.1) else None
    shot = _Shot(image, landmarks, pai, kind, domain, rng, num_frames, small, sensor, size, map_size or small // 4,
                 session, head, camera_shake, instrument, layout, hand, motion, clutter, clip={})
    if kind in ("live", "mask"):
        return _render_solid_face(shot)
    return _render_flat_medium(shot, moire, colour_managed)


def _render_solid_face(shot: _Shot) -> Presentation:
    """A 3D head in the room: the live face, or a mask (a printed shell that moves with the head, with the
    wearer's eyes showing through its holes). Depth maps: the face for a live one, zeros for a mask."""
    image, landmarks, rng, small, size, instrument = (shot.image, shot.landmarks, shot.rng, shot.small, shot.size,
                                                      shot.instrument)
    zeros = np.zeros((shot.map_size, shot.map_size), dtype=np.float32)
    frames, depths, reflections = [], [], []
    mask_texture = None
    if shot.kind == "mask":
        source, _ = _source_capture(image, landmarks, shot.domain, rng, frontal=True, clutter=shot.clutter)
        source = cv2.resize(source, (small, small), interpolation=cv2.INTER_AREA)
    for t in range(shot.num_frames):
        points = shot.posed(t, blink=shot.kind == "live")
        if shot.kind == "mask":  # the printed shell moves with the head; the wearer's eyes show through
            shell = warp_face((source * 255).astype(np.uint8), landmarks, points).astype(np.float32) / 255
            eyes = _eye_holes(points, small, size)[..., None]
            mask_texture = mask_albedo(_up(shell, size), instrument) * (1 - eyes)
            mask_texture += _up(srgb_to_linear(warp_face(image, landmarks, points).astype(np.float32) / 255),
                                size) * eyes
        radiance, _ = _live_radiance(image, landmarks, points, shot.session, size, rng, albedo_override=mask_texture,
                                     clip=shot.clip)
        if shot.kind == "mask":
            shine = instrument.sheen * _up(depth_map(points, small, small, face_floor=0.0) ** 2, size)
            radiance = radiance + shine[..., None] * shot.session.light
        frames.append(shot.finish(radiance))
        depths.append(depth_map(points, small, shot.map_size) if shot.kind == "live" else zeros)
        reflections.append(zeros)
    return shot.presentation(frames, depths, reflections, shot.posed(0, blink=False))


def _render_flat_medium(shot: _Shot, moire: float, colour_managed: bool) -> Presentation:
    """Another capture of the person on a flat medium held in front of the room: a print (rigid, printed once),
    a partial print (eye holes with the real eyes behind) or a screen replaying a video. The medium moves as a
    plane; its structure (halftone, pixel grid), glare, edges, margin or bezel and the domain's colour moiré
    are drawn on it. Depth maps are zeros; reflection maps are the medium's glare."""
    image, landmarks, rng, small, size, kind = (shot.image, shot.landmarks, shot.rng, shot.small, shot.size,
                                                shot.kind)
    instrument, session, layout, domain = shot.instrument, shot.session, shot.layout, shot.domain
    # the medium's fine structure at this capture's scale (module docstring of faslearn.data.world.attacks)
    per_inch = instrument.lpi if isinstance(instrument, PrintInstrument) else instrument.ppi
    period = RENDER_OVERSAMPLE * structure_period(shot.sensor, instrument.face_width_in, per_inch)
    # structure the rendering grid can hold is blurred by the camera itself; finer structure
    # would alias on the grid, so the lens's MTF is applied to it before it is drawn
    visibility = 1.0 if period >= 2 else float(optical_mtf(domain.camera, RENDER_OVERSAMPLE / period))
    zeros = np.zeros((shot.map_size, shot.map_size), dtype=np.float32)
    frames, depths, reflections = [], [], []
    fringes = _fringes(domain.moire, moire, rng.spawn(1)[0]) if moire > 0 and domain.moire else None
    plane = plane_motion(shot.num_frames, rng, amplitude=shot.motion * (0.5 if kind == "replay" else 1.0))
    screen_dimming = np.sqrt(session.light.mean())  # auto-brightness: a screen dims in a dim room
    still = None
    if kind != "replay":
        still, shown = _source_capture(image, landmarks, domain, rng, frontal=kind == "partial", clutter=shot.clutter)
        still = _up(still, size)
    if kind in ("print", "partial"):  # printed once, moves rigidly
        flat, specular = print_medium(still, instrument, rng, period, visibility, colour_managed)
        flat = flat * session.light
        flat_specular = specular
        if kind == "partial":
            holes = _eye_holes(landmarks, small, size)
    source_clip, first_homography = {}, None
    for t in range(shot.num_frames):
        if kind == "replay":  # the screen replays a video of the person, taken earlier: a moving head
            if t == 1:
                source_motion = head_motion(shot.num_frames, rng, amplitude=shot.motion)
            move = (0.0, 0.0, 0.0, (0.0, 0.0)) if t == 0 else tuple(
                getattr(source_motion, axis)[t] - getattr(source_motion, axis)[0]
                for axis in ("yaw", "pitch", "roll", "shift"))
            content, posed = _source_capture(image, landmarks, domain, rng, clip=source_clip, move=move,
                                             clutter=shot.clutter)
            content = _up(content, size)
            shown = posed if t == 0 else shown
            flat, flat_specular = screen_medium(content, instrument, rng, period, visibility, flicker_phase=2.6 * t,
                                                clip=shot.clip)
            flat = flat * screen_dimming
        homography = plane_homography(size, plane.yaw[t], plane.pitch[t], plane.roll[t],
                                      plane.shift[t] + shot.camera_shake[t])
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
            live, _ = _live_radiance(image, landmarks, shot.posed(t), session, size, rng, clip=shot.clip)
            through = cv2.warpPerspective(holes, homography, (size, size), flags=cv2.INTER_LINEAR)[..., None]
            radiance = radiance * (1 - through) + live * through
        if t == 0:
            first_homography, seen = homography, shot.on_medium(shown, homography)
        frames.append(shot.finish(radiance, None if t == 0 else homography @ np.linalg.inv(first_homography)))
        depths.append(zeros)
        reflections.append(np.clip(cv2.resize(glare * sheet, (shot.map_size,) * 2, interpolation=cv2.INTER_AREA),
                                   0, 1))
    return shot.presentation(frames, depths, reflections, seen)


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
