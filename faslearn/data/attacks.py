"""Presentation attack instruments, modelled from the physics of paper and screens.

An attack puts a *medium* between the camera and the face: paper that reflects room light
through ink dots, or a screen that emits light through a grid of coloured sub-pixels. Both are
rendered at ``oversample`` x the capture resolution so that the camera model
(``faslearn.data.camera``) can alias them the way a real sensor does.

Print (``print_medium``):
    ink coverage    c, m, y = 1 - linear(sRGB),  k = min(c, m, y) · black_ink   (a "rich black":
                    the printer's tone curve makes reflectance follow the photo's linear intensity)
    halftone        dot_i(x) = [coverage_i(x) > screen_i(x)],  screen_i a clustered-dot cell of
                    period p rotated by the ink's screen angle (15°, 75°, 0°, 45°)
    ink spread      dots blurred by a Gaussian of ``ink_spread`` (dot gain)
    reflectance     ρ_R = paper_R (1 - a·dot_c)(1 - a·dot_k), likewise G with m and B with y
    paper           fibre texture (multiplicative noise), gamut limits (black level, saturation),
                    gloss (a specular band), bending (a cylinder: foreshortening and shading)
Replay (``screen_medium``):
    emission        E = white_point · (sRGB content)^γ_display + black level (backlight leak)
    sub-pixels      each screen pixel is an R | G | B stripe triple with dark gaps; the pitch in
                    camera pixels is near 1, so the sensor grid beats against it: moiré
    glass           glare from a window (an additive soft highlight), a bezel at the border,
                    flicker between frames (the refresh rate beats with the frame rate)
"""
from dataclasses import dataclass, replace
from functools import lru_cache

import cv2
import numpy as np

from .camera import srgb_to_linear

SCREEN_ANGLES = np.deg2rad([15.0, 75.0, 0.0, 45.0])  # C, M, Y, K: the classic rotated screens


@dataclass(frozen=True)
class PrintInstrument:
    """A printer + paper. Lengths in oversampled pixels."""

    halftone_period: float = 3.0
    ink_spread: float = 0.6
    ink_absorption: float = 0.96
    black_ink: float = 0.5  # black ink laid under dark colours, as a fraction of min(c, m, y)
    saturation: float = 0.8  # gamut: 1 keeps the colours, 0 prints gray
    paper_white: tuple[float, float, float] = (0.92, 0.91, 0.87)
    paper_texture: float = 0.04
    gloss: float = 0.0  # peak of the specular band (0 = matte paper)
    bend: float = 0.3  # half-angle of the cylinder the sheet is bent around, radians


@dataclass(frozen=True)
class ScreenInstrument:
    """A display. Lengths in oversampled pixels."""

    pixel_pitch: float = 4.4
    fill_factor: float = 0.8  # fraction of each sub-pixel cell that emits
    gamma: float = 2.2
    white_point: tuple[float, float, float] = (1.0, 1.0, 1.0)
    black_level: float = 0.03
    brightness: float = 1.0
    glare: float = 0.15
    diffuser: float = 0.8  # blur of the anti-glare layer over the sub-pixels, oversampled pixels
    bezel: float = 0.0  # width of the visible bezel, as a fraction of the frame
    flicker: float = 0.03  # frame-to-frame brightness modulation


def jitter(instrument, rng: np.random.Generator, spread: float = 0.08):
    """A copy with every float parameter scaled by (1 + N(0, spread)): no two attacks are identical."""
    changes = {}
    for name, value in vars(instrument).items():
        if isinstance(value, float):
            changes[name] = value * float(1 + spread * rng.standard_normal())
        elif isinstance(value, tuple):
            changes[name] = tuple(float(v * (1 + spread / 3 * rng.standard_normal())) for v in value)
    return replace(instrument, **changes)


@lru_cache(maxsize=8)
def pixel_grid(size: int):
    """(y, x) pixel coordinate arrays of a size x size image, float32, computed once per size."""
    y, x = np.mgrid[0:size, 0:size].astype(np.float32)
    y.flags.writeable = x.flags.writeable = False
    return y, x


def _rotated_coordinates(size: int, angle: float, phase: np.ndarray):
    y, x = pixel_grid(size)
    u = x * np.cos(angle) + y * np.sin(angle) + phase[0]
    v = -x * np.sin(angle) + y * np.cos(angle) + phase[1]
    return u, v


def halftone(coverage: np.ndarray, period: float, angle: float, rng: np.random.Generator) -> np.ndarray:
    """Clustered-dot halftone of one ink: 1 where ink lands, 0 elsewhere.

    The screen threshold s(u, v) = 0.5 + 0.25 (cos 2πu/p + cos 2πv/p) grows dots from cell centres,
    so coverage c prints a dot covering about a fraction c of each cell.
    """
    u, v = _rotated_coordinates(coverage.shape[0], angle, rng.uniform(0, period, 2))
    screen = 0.5 + 0.25 * (np.cos(2 * np.pi * u / period) + np.cos(2 * np.pi * v / period))
    return (coverage > screen).astype(np.float32)


def print_medium(content: np.ndarray, printer: PrintInstrument, rng: np.random.Generator):
    """Printed sheet seen flat: ``(reflectance, specular)``, linear, shapes (R, R, 3) and (R, R).

    ``content`` is the sRGB image that was printed, float in [0, 1], at the oversampled size R.
    """
    size = content.shape[0]
    gray = content.mean(axis=2, keepdims=True)
    content = gray + printer.saturation * (content - gray)  # gamut: inks cannot reach screen colours
    cmy = 1 - srgb_to_linear(content)
    black = cmy.min(axis=2, keepdims=True) * printer.black_ink
    inks = np.concatenate([cmy, black], axis=2)
    dots = np.stack([halftone(inks[..., i], printer.halftone_period, SCREEN_ANGLES[i], rng) for i in range(4)], 2)
    if printer.ink_spread > 0.1:
        dots = cv2.GaussianBlur(dots, (0, 0), printer.ink_spread)
    absorbed = 1 - printer.ink_absorption * dots
    reflectance = absorbed[..., :3] * absorbed[..., 3:] * np.asarray(printer.paper_white, dtype=np.float32)
    # paper fibres: fine multiplicative noise plus a coarse mottle (made at 1/4 size, then enlarged)
    coarse = cv2.GaussianBlur(rng.standard_normal((size // 4, size // 4)).astype(np.float32), (0, 0), 1.0)
    fibres = (cv2.GaussianBlur(rng.standard_normal((size, size)).astype(np.float32), (0, 0), 1.0)
              + cv2.resize(coarse, (size, size), interpolation=cv2.INTER_LINEAR) * 3)
    reflectance = reflectance * (1 + printer.paper_texture * fibres / (fibres.std() + 1e-6))[..., None]
    specular = _soft_highlight(size, rng) * printer.gloss
    reflectance, specular = _bend(reflectance, specular, printer.bend)
    return np.clip(reflectance, 0, 1), specular


def _bend(reflectance: np.ndarray, specular: np.ndarray, bend: float):
    """Wrap the sheet around a vertical cylinder: x_image = sin(θ u) / sin θ, shading cos(θ u)."""
    if abs(bend) < 1e-3:
        return reflectance, specular
    size = reflectance.shape[0]
    x_image = np.linspace(-1, 1, size, dtype=np.float32)
    u = np.arcsin(np.clip(x_image * np.sin(bend), -1, 1)) / bend  # where on the sheet each column looks
    map_x = np.tile(((u + 1) / 2 * (size - 1)).astype(np.float32), (size, 1))
    map_y = np.tile(np.arange(size, dtype=np.float32)[:, None], (1, size))
    shading = np.cos(bend * u).astype(np.float32) ** 0.7
    reflectance = cv2.remap(reflectance, map_x, map_y, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT)
    specular = cv2.remap(specular, map_x, map_y, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT)
    return reflectance * shading[None, :, None], specular


def _soft_highlight(size: int, rng: np.random.Generator) -> np.ndarray:
    """A soft elongated highlight (the mirror image of a window or lamp), peak 1."""
    y, x = (grid / size for grid in pixel_grid(size))
    cx, cy = rng.uniform(0.1, 0.9, 2)
    angle = rng.uniform(0, np.pi)
    along = (x - cx) * np.cos(angle) + (y - cy) * np.sin(angle)
    across = -(x - cx) * np.sin(angle) + (y - cy) * np.cos(angle)
    width, length = rng.uniform(0.04, 0.12), rng.uniform(0.3, 0.8)
    return np.exp(-(across / width) ** 2 - (along / length) ** 2).astype(np.float32)


def subpixel_mask(size: int, pitch: float, fill_factor: float, supersample: int = 8) -> np.ndarray:
    """(size, size, 3) emission mask of an RGB-stripe panel, mean 1 per channel.

    Screen pixel (i, j) covers [j p, (j+1) p) x [i p, (i+1) p); its three vertical stripes emit
    red, green and blue through an aperture of ``fill_factor`` of the stripe width and height.
    A stripe is about one oversampled pixel wide, so each pixel gets the *fraction* of its area
    that is open (the mask is separable: a row profile times a column profile per colour).
    """
    fine = (np.arange(size * supersample, dtype=np.float32) + 0.5) / (supersample * pitch)
    row_open = ((fine % 1) < fill_factor).reshape(size, supersample).mean(axis=1)
    stripe_open = ((fine * 3) % 1) < fill_factor
    stripe_colour = np.floor((fine % 1) * 3)
    mask = np.empty((size, size, 3), dtype=np.float32)
    for channel in range(3):
        column_open = (stripe_open & (stripe_colour == channel)).reshape(size, supersample).mean(axis=1)
        mask[:, :, channel] = np.outer(row_open, column_open)
    return mask / mask.mean(axis=(0, 1), keepdims=True)


def screen_medium(content: np.ndarray, screen: ScreenInstrument, rng: np.random.Generator,
                  flicker_phase: float = 0.0):
    """Screen showing ``content`` (sRGB float, (R, R, 3)): ``(emission, specular)``, linear."""
    size = content.shape[0]
    pixels = max(4, int(round(size / screen.pixel_pitch)))
    shown = cv2.resize(content, (pixels, pixels), interpolation=cv2.INTER_AREA)  # the panel's resolution
    emitted = np.power(np.clip(shown, 0, 1), screen.gamma) * np.asarray(screen.white_point, dtype=np.float32)
    emitted = screen.black_level + (1 - screen.black_level) * emitted
    emitted = cv2.resize(emitted, (size, size), interpolation=cv2.INTER_NEAREST)  # each pixel a block
    emission = emitted * subpixel_mask(size, screen.pixel_pitch, screen.fill_factor)
    if screen.diffuser > 0.1:
        emission = cv2.GaussianBlur(emission, (0, 0), screen.diffuser)
    emission *= screen.brightness * (1 + screen.flicker * np.sin(flicker_phase))
    if screen.bezel > 0.005:
        border = int(round(screen.bezel * size))
        inner = cv2.resize(emission, (size - 2 * border, size - 2 * border), interpolation=cv2.INTER_AREA)
        emission = np.full_like(emission, 0.01)
        emission[border:size - border, border:size - border] = inner
    specular = _soft_highlight(size, rng) * screen.glare
    return emission, specular


def print_radiance(content, printer, illumination, rng):
    """Light leaving a printed sheet: reflectance x room light + gloss. Returns (radiance, specular)."""
    reflectance, specular = print_medium(content, printer, rng)
    return reflectance * illumination + specular[..., None] * illumination.mean(), specular


def screen_radiance(content, screen, illumination, rng, flicker_phase=0.0):
    """Light leaving a screen: its own emission + room light mirrored by the glass. (radiance, specular)"""
    emission, specular = screen_medium(content, screen, rng, flicker_phase)
    return emission + specular[..., None] * illumination, specular


def bona_fide_radiance(face_srgb: np.ndarray, illumination: np.ndarray) -> np.ndarray:
    """Light leaving a live face: its (linear) albedo x room light."""
    return srgb_to_linear(face_srgb) * illumination
