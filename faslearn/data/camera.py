"""The capture camera: every presentation, bona fide or attack, is seen through the same model.

The scene arrives as linear RGB radiance at ``oversample`` times the output resolution (fine
enough to hold halftone dots and screen sub-pixels). The camera then does what a phone camera does:

1. optics: a Gaussian point-spread function (defocus, lens softness);
2. sensor: pixel-area integration down to the output grid, then a Bayer colour filter mosaic
   (one colour per pixel) and bilinear demosaicing; fine periodic patterns alias here, which is
   where moiré and false colour come from;
3. noise: shot noise (variance proportional to the signal) plus read noise;
4. processing: auto-exposure (a gain that brings the frame's mean to mid-gray, so a dim room
   gives a noisier image, not a darker one), white balance (with the camera's own error),
   sRGB-like gamma;
5. JPEG compression.

Only the medium in front of the camera differs between a live face and an attack.
"""
from dataclasses import dataclass

import cv2
import numpy as np

MID_GRAY = 0.18  # the linear level auto-exposure aims the frame's mean at


@dataclass(frozen=True)
class Camera:
    """Parameters of one capture device. Units: blur in output pixels; noise on a 0-1 scale."""

    blur: float = 0.5  # PSF standard deviation, output pixels
    shot_noise: float = 0.01  # std of shot noise at signal 1 (scales with sqrt(signal))
    read_noise: float = 0.004
    white_balance: tuple[float, float, float] = (1.0, 1.0, 1.0)  # residual gains after auto-WB
    exposure: float = 1.0  # exposure compensation on top of auto-exposure
    gamma: float = 2.2
    jpeg_quality: int = 90


def srgb_to_linear(image: np.ndarray) -> np.ndarray:
    return np.power(np.clip(image, 0, 1), 2.2)


def capture(radiance: np.ndarray, camera: Camera, size: int, rng: np.random.Generator) -> np.ndarray:
    """Image ``radiance`` (H, W, 3) linear float, H = W = size * oversample -> uint8 RGB (size, size, 3)."""
    oversample = radiance.shape[0] / size
    if radiance.shape[0] != radiance.shape[1] or oversample < 1:
        raise ValueError(f"radiance must be square and at least {size} px, got {radiance.shape}")
    # 1. optics: PSF in oversampled pixels
    sigma = camera.blur * oversample
    if sigma > 0.3:
        radiance = cv2.GaussianBlur(radiance, (0, 0), sigma)
    # 2. sensor: integrate each pixel's area, then keep one colour per pixel (RGGB) and demosaic
    pixels = cv2.resize(radiance, (size, size), interpolation=cv2.INTER_AREA)
    mosaic = _bayer_mosaic(pixels * np.asarray(camera.white_balance, dtype=np.float32))
    # 3. noise on the raw signal, before any gain
    noise_std = np.sqrt(camera.shot_noise ** 2 * np.clip(mosaic, 0, None) + camera.read_noise ** 2)
    noisy = mosaic + rng.standard_normal(mosaic.shape).astype(np.float32) * noise_std
    # 4. auto-exposure: gain so that the mean raw signal becomes 18% gray (times the compensation)
    gain = camera.exposure * MID_GRAY / max(float(mosaic.mean()), 1e-4)
    raw = (np.clip(noisy * gain, 0, 1) * 65535).astype(np.uint16)
    rgb = cv2.cvtColor(raw, cv2.COLOR_BayerBG2RGB).astype(np.float32) / 65535  # bilinear demosaic
    # tone curve
    encoded = np.power(np.clip(rgb, 0, 1), 1 / camera.gamma)
    # 5. JPEG
    image = (encoded * 255 + 0.5).astype(np.uint8)
    if camera.jpeg_quality < 100:
        ok, buffer = cv2.imencode(".jpg", image[..., ::-1], [cv2.IMWRITE_JPEG_QUALITY, int(camera.jpeg_quality)])
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
