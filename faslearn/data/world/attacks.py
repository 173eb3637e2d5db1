"""Presentation attack instruments, modelled from the physics of paper, screens and masks.

An attack puts a *medium* between the camera and the face: paper that reflects room light
through ink dots, a screen that emits light through a grid of coloured sub-pixels, or a mask
worn on the head. The media are described in physical units, and their fine structure is scaled
to the capture the way a real camera sees it:

    structure period in sensor pixels = sensor pixels across the face / (face width on the medium
                                        in inches x lines (or pixels) per inch)

A 150-lpi photo print of a 5-inch face holds 750 halftone cells across it; a webcam that sees the
face 120 pixels wide gets 0.16 pixel per cell, far finer than its lens resolves. Such a print
reaches the frame as colour and contrast changes, not as dots. A 100-ppi monitor showing the face
3 inches wide, filmed at 200 pixels across, has a 0.67-pixel pitch: right at the sensor's limit,
where the screen grid beats against the sensor grid (moiré).

How much of a periodic structure survives the capture is its *visibility*: the camera's optical
MTF at the structure's frequency (``faslearn.data.world.camera.optical_mtf``) times the box filter of
one radiance pixel. The media below render the structure at that visibility and otherwise keep
only its mean effect, so the same code draws the crisp dots of a magnified view (visibility 1) and
the faint aliasing of a real capture.

Print (``print_medium``):
    calibration     colour-managed, the driver pre-distorts each channel so that a gray ramp prints in
                    proportion, from the inks' densest black (ρ ≈ 0.04) to the paper (black-point
                    compensation); uncalibrated, mid-tones print too dark
    ink coverage    c, m, y = 1 - linear(sRGB),  k = min(c, m, y) · black_ink; dot gain
                    a' = a + 4 g a (1 - a) (ink spreads into the paper, most at 50 %)
    halftone        clustered-dot screens of period p at the classic angles (15°, 75°, 0°, 45°)
    reflectance     ρ_R = paper_R (1 - a·dot_c)(1 - a·dot_k), likewise G with m and B with y
    paper           fibre texture, gamut limits (saturation), gloss, bending (a cylinder)
    banding         an inkjet head lays ink in horizontal passes: density varies from pass to pass
                    (period 0.2-0.5 in) and a clogged nozzle leaves a thin pale streak
Replay (``screen_medium``):
    emission        E = white_point · (sRGB content)^γ_display + black level (backlight leak)
    sub-pixels      R | G | B stripes with dark gaps, pitch p in radiance pixels
    glass           glare from a window (a soft highlight), flicker between frames
Mask (``mask_albedo``): a printed texture on a rigid 3D shell: the colours of a print, no skin
    texture, its own sheen; the wearer's eyes show through the eye holes.
Colour moiré (``colour_moire``): the beat of a flat medium's grid against the Bayer sensor's, drawn
    directly as the low-frequency green/magenta fringes it leaves, with each collection's own
    period and orientation (``Moire``).
"""
from dataclasses import dataclass, replace
from functools import lru_cache

import cv2
import numpy as np

from .camera import once, srgb_to_linear

SCREEN_ANGLES = np.deg2rad([15.0, 75.0, 0.0, 45.0])  # C, M, Y, K: the classic rotated screens


@dataclass(frozen=True)
class PrintInstrument:
    """A printer + paper."""

    lpi: float = 150.0  # halftone lines per inch
    face_width_in: float = 5.0  # width of the face crop on the sheet, inches
    dot_gain: float = 0.1  # peak growth of a 50 % dot (ink spreading into the paper)
    ink_absorption: float = 0.93
    black_ink: float = 0.5  # black ink laid under dark colours, as a fraction of min(c, m, y)
    saturation: float = 0.8  # gamut: 1 keeps the colours, 0 prints gray
    paper_white: tuple[float, float, float] = (0.92, 0.91, 0.87)
    paper_texture: float = 0.03  # contrast of the fibres and mottle
    gloss: float = 0.0  # peak of the specular band (0 = matte paper)
    bend: float = 0.3  # half-angle of the cylinder the sheet is bent around, radians
    banding: float = 0.0  # inkjet pass-to-pass ink density variation (0 for laser and photo prints)


@dataclass(frozen=True)
class ScreenInstrument:
    """A display."""

    ppi: float = 110.0  # display pixels per inch
    face_width_in: float = 3.0  # width of the face crop on the screen, inches
    fill_factor: float = 0.8  # fraction of each sub-pixel cell that emits
    gamma: float = 2.2
    white_point: tuple[float, float, float] = (1.0, 1.0, 1.0)
    black_level: float = 0.03
    brightness: float = 1.0
    glare: float = 0.15
    diffuser: float = 0.3  # blur of the anti-glare layer over the sub-pixels, in screen pixels
    flicker: float = 0.03  # frame-to-frame brightness modulation


@dataclass(frozen=True)
class MaskInstrument:
    """A rigid mask (paper, resin or plaster) with the face printed on it, worn over the face."""

    saturation: float = 0.7  # gamut of the printed texture
    smoothing: float = 1.5  # blur of the texture (its print resolution), radiance pixels
    sheen: float = 0.15  # a uniform waxy specular
    tint: tuple[float, float, float] = (1.0, 0.97, 0.92)  # the material's own colour


@dataclass(frozen=True)
class Moire:
    """The colour moiré that one collection's flat attack media (prints, screens) leave in its camera.

    A Bayer sensor samples green on a quincunx and red and blue on every other row and column, so a
    medium's grid (screen pixels, halftone cells) with a pitch near the sensor's aliases differently
    in green than in red and blue: it reaches the frame as low-frequency green/magenta fringes whose
    period and orientation are set by the beat between the two grids. A collection films its attacks
    on one rig (its instruments, distance and camera), so its fringes share a band of periods and an
    orientation; another collection's rig gives other fringes. The fringes are drawn into the
    medium's light; the camera's colour processing and JPEG (which keeps colour at half resolution)
    then leave mostly their brightness part in the low-quality cameras (office, night).
    """

    angle: float  # orientation of the fringes' wave vector, degrees (0: the fringes run vertically)
    period: tuple[float, float]  # range of the fringe period, sensor pixels
    contrast: float  # peak modulation of green (red and blue move half as much, the other way); the domains'
    # values put the course's ResNet-18 at about 3-15 % intra-domain HTER at strength 1 (fringes of 5-7 levels of
    # 8-bit green in the 64 px frame; the low-quality cameras need more contrast, and the learnt cue is steep in it)
    angle_spread: float = 10.0  # +- degrees from capture to capture (the medium is held by hand)


MOIRE_COLOURS = np.array([0.5, -1.0, 0.5], dtype=np.float32)  # green against magenta; the channels' mean stays


def colour_moire(size: int, period: float, angle: float, contrast: float, phase: float) -> np.ndarray:
    """(size, size, 3) multiplicative fringes, mean 1 (``period`` in pixels of this grid, ``angle`` radians):

        M(x, y) = 1 + contrast · cos(2π (x cos a + y sin a) / period + phase) · (½, −1, ½)
    """
    y, x = pixel_grid(size)
    wave = np.cos(2 * np.pi * (x * np.cos(angle) + y * np.sin(angle)) / period + phase)
    return 1 + contrast * wave[..., None] * MOIRE_COLOURS


def jitter(instrument: PrintInstrument | ScreenInstrument | MaskInstrument, rng: np.random.Generator,
           spread: float = 0.08) -> PrintInstrument | ScreenInstrument | MaskInstrument:
    """A copy with every float parameter scaled by (1 + N(0, spread)): no two attacks are identical."""
    changes = {}
    for name, value in vars(instrument).items():
        if isinstance(value, float):
            changes[name] = value * float(1 + spread * rng.standard_normal())
        elif isinstance(value, tuple):
            changes[name] = tuple(float(v * (1 + spread / 3 * rng.standard_normal())) for v in value)
    return replace(instrument, **changes)


def structure_period(sensor_pixels: float, face_width_in: float, per_inch: float) -> float:
    """Period of a medium's structure in sensor pixels (see the module docstring)."""
    return sensor_pixels / (face_width_in * per_inch)


@lru_cache(maxsize=16)
def pixel_grid(size: int) -> tuple[np.ndarray, np.ndarray]:
    """(y, x) pixel coordinate arrays of a size x size image, float32, computed once per size."""
    y, x = np.mgrid[0:size, 0:size].astype(np.float32)
    y.flags.writeable = x.flags.writeable = False
    return y, x


def box_visibility(period: float, angle: float = 0.0) -> float:
    """Contrast of a cosine of ``period`` pixels left after averaging over one pixel's area."""
    frequency = 1.0 / period
    return float(abs(np.sinc(frequency * np.cos(angle)) * np.sinc(frequency * np.sin(angle))))


def halftone(coverage: np.ndarray, period: float, angle: float, rng: np.random.Generator,
             visibility: float = 1.0) -> np.ndarray:
    """Clustered-dot halftone of one ink, as the pixel sees it: the fraction of its area inked.

    The screen threshold s(u, v) = 0.5 + 0.25 (cos 2πu/p + cos 2πv/p) grows dots from cell centres,
    so coverage c prints a dot covering about a fraction c of each cell. What reaches a pixel is the
    mean c plus the dot pattern's deviation from it, attenuated by ``visibility`` and the pixel's
    own area (``box_visibility``): crisp dots when the cells are large, plain coverage when fine.
    """
    if visibility <= 0:
        return coverage.astype(np.float32)
    y, x = pixel_grid(coverage.shape[0])
    phase = rng.uniform(0, period, 2)
    u = x * np.cos(angle) + y * np.sin(angle) + phase[0]
    v = -x * np.sin(angle) + y * np.cos(angle) + phase[1]
    screen = 0.5 + 0.25 * (np.cos(2 * np.pi * u / period) + np.cos(2 * np.pi * v / period))
    dots = (coverage > screen).astype(np.float32)
    kept = visibility * box_visibility(period, angle)
    return (coverage + kept * (dots - coverage)).astype(np.float32)


def print_medium(content: np.ndarray, printer: PrintInstrument, rng: np.random.Generator, period: float,
                 visibility: float = 1.0, colour_managed: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """Printed sheet seen flat: ``(reflectance, specular)``, linear, shapes (R, R, 3) and (R, R).

    ``content`` is the sRGB image that was printed, float in [0, 1], at the rendering size R;
    ``period`` is the halftone period in pixels of R, ``visibility`` the share of its contrast the
    camera keeps (1 for a magnified view). ``colour_managed``: the driver calibrates the tones first
    (`_calibration_curve`); no random draws, so the same ``rng`` prints the same sheet either way.
    """
    size = content.shape[0]
    if colour_managed:
        content = _colour_managed(content, printer.ink_absorption, printer.black_ink)
    gray = content.mean(axis=2, keepdims=True)
    content = gray + printer.saturation * (content - gray)  # gamut: inks cannot reach screen colours
    cmy = 1 - srgb_to_linear(content)
    black = cmy.min(axis=2, keepdims=True) * printer.black_ink
    inks = np.concatenate([cmy, black], axis=2)
    inks = np.clip(inks + 4 * printer.dot_gain * inks * (1 - inks), 0, 1)  # dot gain
    if printer.banding > 0:
        inks = np.clip(inks * _inkjet_passes(size, printer, rng)[:, None, None], 0, 1)
    dots = np.stack([halftone(inks[..., i], period, SCREEN_ANGLES[i], rng, visibility) for i in range(4)], 2)
    absorbed = 1 - printer.ink_absorption * dots
    reflectance = absorbed[..., :3] * absorbed[..., 3:] * np.asarray(printer.paper_white, dtype=np.float32)
    # paper fibres: fine multiplicative noise plus a coarse mottle (made at 1/4 size, then enlarged)
    coarse = cv2.GaussianBlur(rng.standard_normal((size // 4, size // 4)).astype(np.float32), (0, 0), 1.0)
    fibres = (cv2.GaussianBlur(rng.standard_normal((size, size)).astype(np.float32), (0, 0), 1.0)
              + cv2.resize(coarse, (size, size), interpolation=cv2.INTER_LINEAR) * 3)
    reflectance = reflectance * (1 + printer.paper_texture * fibres / (fibres.std() + 1e-6))[..., None]
    specular = soft_highlight(size, rng) * printer.gloss
    reflectance, specular = _bend(reflectance, specular, printer.bend)
    return np.clip(reflectance, 0, 1), specular


@lru_cache(maxsize=16)
def _calibration_curve(ink_absorption: float, black_ink: float) -> tuple[np.ndarray, np.ndarray]:
    """The printer driver's calibration, measured on a gray ramp: ``(levels, drive)``, linear.

    Uncalibrated, gray content of linear level l prints as ρ(l) = (1 - A (1 - l)) (1 - A k (1 - l))
    (every ink at coverage 1 - l, black at k (1 - l)): mid-tones come out too dark. The driver sends
    instead the level whose print has the reflectance ρ(0) + (1 - ρ(0)) l, so tones print in
    proportion and only the black is lifted, to the densest the inks reach (ρ(0) = 0.037, density 1.4,
    with the defaults): the contrast loss every print has."""
    levels = np.linspace(0, 1, 1025)
    printed = (1 - ink_absorption * (1 - levels)) * (1 - ink_absorption * black_ink * (1 - levels))
    wanted = printed[0] + (1 - printed[0]) * levels
    return levels, np.interp(wanted, printed, levels)


def _colour_managed(content: np.ndarray, ink_absorption: float, black_ink: float) -> np.ndarray:
    """sRGB content -> the sRGB values the driver sends to the inks (`_calibration_curve`, per channel)."""
    levels, drive = _calibration_curve(ink_absorption, black_ink)
    return np.interp(srgb_to_linear(content), levels, drive).astype(np.float32) ** (1 / 2.2)


def _inkjet_passes(size: int, printer: PrintInstrument, rng: np.random.Generator) -> np.ndarray:
    """Ink density per row of the sheet, mean 1: one level per head pass (a pass is 0.2-0.5 in high),
    smoothed where passes overlap, and a few pale streaks where a nozzle is clogged."""
    rows_per_inch = size / printer.face_width_in
    pass_height = rng.uniform(0.2, 0.5) * rows_per_inch
    passes = int(np.ceil(size / pass_height)) + 1
    levels = 1 + printer.banding * rng.standard_normal(passes)
    rows = np.arange(size) / pass_height + rng.uniform(0, 1)
    density = levels[rows.astype(int)]
    density = cv2.GaussianBlur(density[None, :].astype(np.float32), (0, 0), 0.08 * pass_height).ravel()
    for row in rng.integers(0, size, rng.integers(0, 4)):
        density[row: row + 2] *= 1 - 4 * printer.banding
    return density


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


def soft_highlight(size: int, rng: np.random.Generator) -> np.ndarray:
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
    A stripe is about one rendering pixel wide, so each pixel gets the *fraction* of its area that
    is open (exact box integration; the mask is separable: a row profile times a column profile).
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


def screen_medium(content: np.ndarray, screen: ScreenInstrument, rng: np.random.Generator, pitch: float,
                  visibility: float = 1.0, flicker_phase: float = 0.0,
                  clip: dict | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Screen showing ``content`` (sRGB float, (R, R, 3)): ``(emission, specular)``, linear.

    ``pitch`` is the screen's pixel pitch in pixels of R; ``visibility`` the share of the sub-pixel
    grid's contrast the camera keeps (the optical MTF at the grid's frequency). The glare of one
    clip stays where it is on the screen (``clip``, see `camera.once`).
    """
    size = content.shape[0]
    pixels = int(round(size / pitch))
    if pixels < size:  # the panel is coarser than the rendering grid: show its pixels as blocks
        shown = cv2.resize(content, (pixels, pixels), interpolation=cv2.INTER_AREA)
        shown = cv2.resize(shown, (size, size), interpolation=cv2.INTER_NEAREST)
    else:
        shown = content
    emitted = np.power(np.clip(shown, 0, 1), screen.gamma) * np.asarray(screen.white_point, dtype=np.float32)
    emission = screen.black_level + (1 - screen.black_level) * emitted
    if visibility > 0.01:  # (the mask integrates each pixel's area exactly: no box factor here)
        mask = subpixel_mask(size, pitch, screen.fill_factor)
        emission = emission * (1 + visibility * (mask - 1))
    if screen.diffuser * pitch > 0.3:
        emission = cv2.GaussianBlur(emission, (0, 0), screen.diffuser * pitch)
    emission *= screen.brightness * (1 + screen.flicker * np.sin(flicker_phase))
    specular = once(clip, "screen_glare", lambda: soft_highlight(size, rng)) * screen.glare
    return emission, specular


def mask_albedo(content: np.ndarray, mask: MaskInstrument) -> np.ndarray:
    """Linear albedo of a mask whose surface carries the printed face ``content`` (sRGB float)."""
    gray = content.mean(axis=2, keepdims=True)
    printed = gray + mask.saturation * (content - gray)
    if mask.smoothing > 0.3:
        printed = cv2.GaussianBlur(printed, (0, 0), mask.smoothing)
    return srgb_to_linear(printed) * np.asarray(mask.tint, dtype=np.float32)
