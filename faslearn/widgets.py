"""Interactive knobs for the notebooks (ipywidgets); each also works as a plain function call."""
import ipywidgets as widgets
import matplotlib.pyplot as plt
import numpy as np
from IPython.display import display

from .viz import score_histograms


def threshold_explorer(scores, labels, pai=None, threshold: float | None = None, title: str | None = None):
    """A slider over the decision threshold, redrawing the histograms with APCER / BPCER / ACER.

    Move it right and fewer attacks get in (APCER falls) while more live users are rejected
    (BPCER rises): the trade-off every deployed system has to pick a point on.
    """
    scores = np.asarray(scores, dtype=float)
    low, high = float(scores.min()), float(scores.max())
    slider = widgets.FloatSlider(value=threshold if threshold is not None else (low + high) / 2, min=low, max=high,
                                 step=(high - low) / 200, description="threshold", continuous_update=False,
                                 readout_format=".2f", layout=widgets.Layout(width="60%"))
    output = widgets.Output()

    def redraw(change=None):
        with output:
            output.clear_output(wait=True)
            fig, ax = plt.subplots(figsize=(7, 3))
            score_histograms(scores, labels, slider.value, pai, ax=ax, title=title)
            plt.show()
            plt.close(fig)

    slider.observe(redraw, names="value")
    redraw()
    box = widgets.VBox([slider, output])
    display(box)
    return box
