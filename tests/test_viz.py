"""fl.viz and fl.widgets: where the power of known patterns lands, legible score plots, slider steps."""
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


def test_a_threshold_slider_step_changes_its_readout_at_every_press():
    from faslearn.widgets import slider_step

    for low, high in ((0.0, 1.0), (-3.2, 4.1), (0.2, 0.31), (0.0, 250.0), (-0.013, 0.02), (12.5, 9000.0)):
        step, digits = slider_step(low, high)
        assert 50 <= (high - low) / step <= 200, (low, high, step)  # about a hundred positions
        shown = [f"{low + k * step:.{digits}f}" for k in range(60)]
        assert len(set(shown)) == len(shown), (low, high, step, digits)  # one arrow press, one new number
    assert slider_step(1.0, 1.0) == (1.0, 0)  # all scores equal: a slider that cannot move still builds


def test_score_histograms_put_the_error_rates_in_the_title():
    import matplotlib.pyplot as plt

    import faslearn as fl

    scores, labels = np.array([0.1, 0.4, 0.6, 0.9]), np.array([0, 0, 1, 1])
    ax = fl.viz.score_histograms(scores, labels, 0.5, title="demo")
    assert ax.get_title() == "demo\nAPCER 0.0 %   BPCER 0.0 %   ACER 0.0 %" and not ax.texts
    plt.close(ax.figure)
