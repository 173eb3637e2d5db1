"""The capture camera: every presentation, bona fide or attack, is seen through the same model.

The scene arrives as linear RGB radiance at twice the sensor's resolution (``faslearn.data.world.simulator``
renders it so). The camera then does what a phone or webcam does:

1. optics: a Gaussian point-spread function (defocus, lens softness) of ``blur`` sensor pixels, and
   veiling glare (light scattered inside the lens, which lifts the darkest tones);
2. sensor: pixel-area integration down to the sensor grid, a Bayer colour filter mosaic (one
   colour per pixel) and bilinear demosaicing; a pattern finer than the optics can resolve is gone
   here, one near the pixel pitch aliases, which is where moiré and false colour come from;
3. noise: shot noise (variance proportional to the signal) plus read noise;
4. processing: auto-exposure (a gain that brings the frame's mean to mid-gray, so a dim room gives
   a noisier image, not a darker one), auto white balance (the room's illuminant, estimated and
   partly corrected, with the camera's own bias and a per-capture error: like a phone's AWB it
   does not paint skin gray, so a photo of a photo keeps its colours), a black-point
   stretch of random strength (as phones' tone mapping does), the camera's colour rendering
   (saturation), tone curve, sharpening;
5. JPEG compression.

Only the medium in front of the camera differs between a live face and an attack. The optics'
modulation transfer function (``optical_mtf``) also tells the attack media how much of their
sub-pixel structure (halftone cells, screen pixels) survives the lens.
"""
from dataclasses import dataclass
from typing import Any, Callable

import cv2
import numpy as np

MID_GRAY = 0.18  # the linear level auto-exposure aims the frame's mean at


@dataclass(frozen=True)
class Camera:
    """One capture device. Lengths in sensor pixels; noise on a 0-1 scale; ranges drawn per capture."""

    face_pixels: tuple[int, int] = (128, 160)  # sensor pixels across the face crop (resolution, distance)
    blur: float = 0.5  # PSF standard deviation, sensor pixels
    flare: float = 0.03  # veiling glare: up to this fraction of the mean light spread over the frame
    shot_noise: float = 0.01  # std of shot noise at signal 1 (scales with sqrt(signal))
    read_noise: float = 0.004
    white_balance: tuple[float, float, float] = (1.0, 1.0, 1.0)  # the camera's systematic residual gains
    white_balance_error: float = 0.03  # per-capture std of the auto-white-balance error (per channel)
    exposure: float = 1.0  # exposure compensation on top of auto-exposure
    exposure_jitter: float = 0.15  # per-capture spread (log scale) of the auto-exposure's choice
    gamma: float = 2.2  # tone curve: encoded = linear ** (1 / gamma)
    saturation: float = 1.0  # colour rendering: 1 neutral, > 1 the vivid look of phone cameras
    saturation_jitter: float = 0.15  # per-capture spread (log scale): colour rendering varies with the scene
    sharpen: float = 0.0  # unsharp-mask amount applied after demosaicing
    auto_white_balance: float = 0.7  # how far auto-WB corrects the illuminant's colour (1 = fully)
    auto_contrast: float = 1.0  # strength of the per-frame black-point stretch (local tone mapping)
    jpeg_quality: tuple[int, int] = (85, 95)


def srgb_to_linear(image: np.ndarray) -> np.ndarray:
    """sRGB-like encoded values in [0, 1] -> linear light: v ** 2.2 (float32)."""
    image = np.clip(np.asarray(image, dtype=np.float32), 0, 1)
    return cv2.pow(image, 2.2).reshape(image.shape)


def optical_mtf(camera: Camera, cycles_per_pixel: float | np.ndarray) -> np.ndarray:
    """Contrast the lens passes at a spatial frequency (cycles per sensor pixel): exp(-2 π² σ² f²)."""
    return np.exp(-2 * np.pi ** 2 * camera.blur ** 2 * np.square(cycles_per_pixel))


def once(clip: dict | None, key: str, draw: Callable[[], Any]) -> Any:
    """A random draw that holds for a whole clip: made on the first frame, reused on the others.

    ``clip`` is the dict that one clip's frames share (``None``: a single image, draw every
    time). Auto exposure, white balance, the skin's pores or a screen's glare settle once per clip;
    sensor noise does not. The first frame draws exactly what a single image would draw, in the
    same order, so a one-frame clip is the single image, bit for bit.
    """
    if clip is None:
        return draw()
    if key not in clip:
        clip[key] = draw()
    return clip[key]


def capture(radiance: np.ndarray, camera: Camera, size: int, rng: np.random.Generator,
            illuminant: tuple[float, float, float] | np.ndarray = (1.0, 1.0, 1.0),
            clip: dict | None = None) -> np.ndarray:
    """Image ``radiance`` (H, W, 3) linear float, H = W >= size -> uint8 sRGB frame (size, size, 3).

    ``illuminant`` is the linear RGB colour of the room's light, which auto white balance corrects.
    Frames of one clip share ``clip`` (see `once`): the camera's automatic settings hold over the
    clip, while every frame gets its own sensor noise."""
    oversample = radiance.shape[0] / size
    if radiance.shape[0] != radiance.shape[1] or oversample < 1:
        raise ValueError(f"radiance must be square and at least {size} px, got {radiance.shape}")
    # 1. optics: PSF in radiance pixels
    sigma = camera.blur * oversample
    if sigma > 0.3:
        radiance = cv2.GaussianBlur(radiance, (0, 0), sigma)
    flare = once(clip, "flare", lambda: rng.uniform(0, camera.flare))
    radiance = radiance + flare * radiance.mean(axis=(0, 1))  # light scattered in the lens
    # 2. sensor: integrate each pixel's area, then keep one colour per pixel (RGGB) and demosaic
    pixels = cv2.resize(radiance, (size, size), interpolation=cv2.INTER_AREA)
    # auto white balance: the illuminant's cast (partly corrected), the camera's own bias, a per-capture error
    illuminant = np.asarray(illuminant, dtype=np.float64)
    correction = (illuminant.mean() / illuminant) ** camera.auto_white_balance
    white_balance = correction * np.asarray(camera.white_balance) * np.exp(
        camera.white_balance_error * once(clip, "white_balance", lambda: rng.standard_normal(3)))
    mosaic = _bayer_mosaic(pixels * white_balance.astype(np.float32))
    # 3. noise on the raw signal, before any gain
    noise_std = np.sqrt(camera.shot_noise ** 2 * np.clip(mosaic, 0, None) + camera.read_noise ** 2)
    noisy = mosaic + rng.standard_normal(mosaic.shape).astype(np.float32) * noise_std
    # 4. auto-exposure: gain so that the mean raw signal becomes 18% gray (times the compensation)
    exposure = camera.exposure * np.exp(camera.exposure_jitter * once(clip, "exposure", rng.standard_normal))
    gain = exposure * MID_GRAY / max(float(mosaic.mean()), 1e-4)
    raw = (np.clip(noisy * gain, 0, 1) * 65535).astype(np.uint16)
    rgb = cv2.cvtColor(raw, cv2.COLOR_BayerBG2RGB).astype(np.float32) / 65535  # bilinear demosaic
    black_share = once(clip, "black", lambda: rng.uniform(0.9, 1))
    black = np.percentile(rgb, 2, axis=(0, 1)).min() * black_share * camera.auto_contrast
    rgb = (rgb - black) / (1 - black)  # the processing stretches the darkest tones back towards black
    luma = rgb.mean(axis=2, keepdims=True)  # colour rendering, which varies with the scene
    saturation = camera.saturation * np.exp(camera.saturation_jitter * once(clip, "saturation", rng.standard_normal))
    rgb = luma + saturation * (rgb - luma)
    encoded = cv2.pow(np.clip(rgb, 0, 1), 1 / camera.gamma)
    if camera.sharpen > 0:
        encoded = encoded + camera.sharpen * (encoded - cv2.GaussianBlur(encoded, (0, 0), 1.0))
    # 5. JPEG
    image = (np.clip(encoded, 0, 1) * 255 + 0.5).astype(np.uint8)
    low, high = camera.jpeg_quality
    quality = int(once(clip, "jpeg_quality", lambda: rng.integers(low, high + 1)))
    if quality < 100:
        ok, buffer = cv2.imencode(".jpg", image[..., ::-1], [cv2.IMWRITE_JPEG_QUALITY, quality])
        image = cv2.imdecode(buffer, cv2.IMREAD_COLOR)[..., ::-1]
    return np.ascontiguousarray(image)


def _bayer_mosaic(rgb: np.ndarray) -> np.ndarray:
    """RGGB colour filter array: R at (even, even), G at (even, odd) and (odd, even), B at (odd, odd).

    OpenCV names Bayer patterns from a different corner, so its code for this layout is
    ``COLOR_BayerBG2RGB``; the tests check that a flat colour survives the round trip.
    """
    mosaic = np.empty(rgb.shape[:2], dtype=np.float32)
    mosaic[0::2, 0::2] = rgb[0::2, 0::2, 0]
    mosaic[0::2, 1::2] = rgb[0::2, 1::2, 1]
    mosaic[1::2, 0::2] = rgb[1::2, 0::2, 1]
    mosaic[1::2, 1::2] = rgb[1::2, 1::2, 2]
    return mosaic
