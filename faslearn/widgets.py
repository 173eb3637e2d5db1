"""Interactive knobs for the notebooks (ipywidgets); each also works as a plain function call."""
from typing import TYPE_CHECKING

import ipywidgets as widgets
import matplotlib.pyplot as plt
import numpy as np
from IPython.display import display
from numpy.typing import ArrayLike

from .viz import score_histograms

if TYPE_CHECKING:
    import torch


def threshold_explorer(scores: ArrayLike, labels: ArrayLike, pai: ArrayLike | None = None,
                       threshold: float | None = None, title: str | None = None) -> widgets.VBox:
    """A slider over the decision threshold, redrawing the histograms with APCER / BPCER / ACER.

    Move it right and fewer attacks get in (APCER falls) while more live users are rejected
    (BPCER rises): the trade-off every deployed system has to pick a point on.
    """
    scores = np.asarray(scores, dtype=float)
    low, high = float(scores.min()), float(scores.max())
    step, digits = slider_step(low, high)
    slider = widgets.FloatSlider(value=threshold if threshold is not None else (low + high) / 2, min=low, max=high,
                                 step=step, description="threshold", continuous_update=False,
                                 readout_format=f".{digits}f", layout=widgets.Layout(width="60%"))

    def draw():
        fig, ax = plt.subplots(figsize=(8, 3.4), dpi=WIDGET_DPI, layout="constrained")
        score_histograms(scores, labels, slider.value, pai, ax=ax, title=title)
        return fig

    return _figure_under(slider, draw)


WIDGET_DPI = 96  # the widgets' figures, whatever dpi a notebook sets for its saved ones: text stays legible


def slider_step(low: float, high: float, steps: int = 100) -> tuple[float, int]:
    """A round step (1, 2 or 5 × 10^k) giving about ``steps`` positions over [low, high], and the decimals
    its readout needs, so that every press of an arrow key changes the number shown."""
    if not high > low:
        return 1.0, 0
    raw = (high - low) / steps
    exponent = int(np.floor(np.log10(raw)))
    step = min((m * 10.0 ** exponent for m in (1, 2, 5, 10) if m * 10.0 ** exponent >= raw))
    return float(step), max(0, -int(np.floor(np.log10(step))))


def _figure_under(control, draw):
    """Display ``control`` with the figure ``draw()`` returns below it, redrawn whenever its value changes."""
    output = widgets.Output()

    def redraw(change=None):
        with output:
            output.clear_output(wait=True)
            fig = draw()
            plt.show()
            plt.close(fig)

    control.observe(redraw, names="value")
    redraw()
    box = widgets.VBox([control, output])
    display(box)
    return box


def strength_explorer(images: "torch.Tensor | np.ndarray", reconstructions: dict,
                      titles: list[str] | None = None) -> widgets.VBox:
    """A slider over the DFG's noise strength: the inputs (top row) and their reconstructions at the
    chosen strength (bottom row). ``images`` (B, 3, H, W) in [-1, 1]; ``reconstructions`` maps each
    strength to a tensor like ``images``, computed beforehand (so the slider only redraws)."""
    strengths = sorted(reconstructions)
    slider = widgets.SelectionSlider(options=strengths, value=strengths[len(strengths) // 2], description="strength",
                                     continuous_update=False, layout=widgets.Layout(width="60%"))

    def picture(tensor):
        return ((np.asarray(tensor).transpose(1, 2, 0) + 1) / 2).clip(0, 1)

    def draw():
        fig, axes = plt.subplots(2, len(images), figsize=(1.6 * len(images) + 1.0, 4.0), squeeze=False,
                                 dpi=WIDGET_DPI, layout="constrained")
        for j in range(len(images)):
            axes[0, j].imshow(picture(images[j]))
            axes[1, j].imshow(picture(reconstructions[slider.value][j]))
            if titles is not None:
                axes[0, j].set_title(titles[j], fontsize=11)
        for ax in axes.ravel():  # no ticks or frame, but keep the y label that names each row
            ax.set_xticks([])
            ax.set_yticks([])
            ax.spines[:].set_visible(False)
        axes[0, 0].set_ylabel("input", fontsize=11)
        axes[1, 0].set_ylabel(f"rebuilt at\nstrength {slider.value}", fontsize=11)
        fig.suptitle(f"inputs (top) and their reconstructions at strength {slider.value}", fontsize=12)
        return fig

    return _figure_under(slider, draw)
