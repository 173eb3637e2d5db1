"""Shared pytest set-up: a fixed hash seed, headless matplotlib, and what nbval leaves uncompared.

conftest files only apply to tests below their own folder, and the notebooks live in notebooks/,
so the nbval run loads this file as a plugin (this is what ``make test`` runs):

    python -m pytest -p tests.conftest --nbval --nbval-current-env \\
        --nbval-sanitize-with tests/nbval_sanitize.cfg notebooks/[0-9]*.ipynb
"""
import os

import matplotlib

# Kernels started by nbval and papermill inherit this environment. A fixed hash seed keeps printed
# set orders stable. Without MPLBACKEND, ipykernel picks its inline backend, so figures appear as
# they do in JupyterLab (under MPLBACKEND=Agg a kernel would display no figures at all).
os.environ["PYTHONHASHSEED"] = "0"
os.environ.pop("MPLBACKEND", None)
matplotlib.use("Agg")  # this process has no display: unit tests that plot draw off-screen

# Outputs that change from run to run or machine to machine for reasons unrelated to what a
# notebook teaches: SVG/PDF and plotly/HTML embed random ids, widget views hold random model ids,
# and stderr carries library warnings and tqdm's text bars. nbval compares everything else.
NOT_COMPARED = (
    "image/svg+xml",
    "application/pdf",
    "application/vnd.plotly.v1+json",
    "application/vnd.jupyter.widget-view+json",
    "text/html",
    "stderr",
)


def pytest_collectstart(collector):
    if hasattr(collector, "skip_compare"):  # nbval's collector for one notebook
        collector.skip_compare = tuple(collector.skip_compare) + NOT_COMPARED
