"""fl.viz's radially averaged power spectrum: where the power of known patterns lands."""
import numpy as np
import pytest

from faslearn.viz import radial_power_spectrum


def test_a_grating_peaks_at_its_frequency_whatever_its_direction():
    y, x = np.mgrid[0:64, 0:64]
    for fy, fx in ((0.0, 0.25), (0.25, 0.0), (0.1768, 0.1768)):  # 0.25 cycles/px, three directions
        grating = np.cos(2 * np.pi * (fy * y + fx * x))[None]
        frequency, power = radial_power_spectrum(grating)
        assert abs(frequency[np.argmax(power)] - 0.25) <= 1 / 64


def test_white_noise_is_flat_and_colour_is_averaged_to_gray():
    noise = np.random.default_rng(0).standard_normal((200, 64, 64))
    frequency, power = radial_power_spectrum(noise)
    inside = (frequency > 0.05) & (frequency < 0.45)
    assert power[inside].std() / power[inside].mean() < 0.1
    rgb = np.repeat(noise[..., None], 3, axis=-1)
    np.testing.assert_allclose(radial_power_spectrum(rgb)[1], power, rtol=1e-4)
    with pytest.raises(ValueError, match="images must be"):
        radial_power_spectrum(noise[0, 0])
