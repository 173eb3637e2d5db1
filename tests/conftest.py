"""Shared pytest set-up: a fixed hash seed, headless matplotlib, and how nbval compares notebooks.

conftest files only apply to tests below their own folder, and the notebooks live in notebooks/,
so the nbval run loads this file as a plugin (this is what ``make test`` runs):

    python -m pytest -p tests.conftest --nbval --nbval-current-env \\
        --nbval-sanitize-with tests/nbval_sanitize.cfg notebooks/[0-9]*.ipynb
"""
import copy
import os

import matplotlib

from tests.portability import (
    is_lesson_cell,
    largest_difference,
    lesson_lines,
    outputs_difference,
    read_slot,
    text_slots,
    tolerance,
    tolerance_refusal,
    write_slot,
)

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


def pytest_collection_modifyitems(items):
    """Compare lesson cells (``"nbval": {"lessons": true}`` in their metadata) on their lesson lines, and cells
    with ``"nbval": {"numbers_within": x}`` within x.

    A tolerance wider than a tenth of the printed range is refused: the cell fails with a message
    that says to state a lesson instead (tests/portability.py).
    """
    for item in items:
        cell = getattr(item, "cell", None)  # nbval's items carry their notebook cell
        if cell is None or cell.cell_type != "code":
            continue
        if is_lesson_cell(cell.metadata):
            item.compare_outputs = _lessons_only(item)
            continue
        limit = tolerance(cell.metadata)
        if limit is None:
            continue
        refusal = tolerance_refusal(cell.metadata, cell.outputs)
        item.compare_outputs = _refused(item, refusal) if refusal else _within_tolerance(item, limit)


def _refused(item, reason):
    def compare(test, ref, skip_compare=None):
        item.comparison_traceback = [reason]  # (nbval's own compare starts this list; it does not run here)
        return False

    return compare


def _lessons_only(item):
    """Compare the ``lesson: ...`` lines of the new and stored outputs, word for word; ignore the rest."""
    def compare(test, ref, skip_compare=None):
        item.comparison_traceback = []  # (nbval's own compare starts this list; it does not run here)
        stored, new = lesson_lines(ref), lesson_lines(test)
        if not stored:
            item.comparison_traceback.append("nbval lessons: the stored outputs state no lesson "
                                             "(no line starts with 'lesson: '), so nothing would be checked")
            return False
        if new == stored:
            return True
        item.comparison_traceback.append("nbval lessons: the lessons differ\n  stored: " + "\n          ".join(stored)
                                         + "\n  now:    " + "\n          ".join(new or ["(none)"]))
        return False

    return compare


def _within_tolerance(item, limit):
    """nbval's compare_outputs, after taking the stored text wherever new numbers are within ``limit``.

    A text whose words differ, or any of whose numbers is further than ``limit`` away, is left as it
    is, so nbval reports it; a line naming the largest difference and the tolerance is added.
    """
    compare_exactly = item.compare_outputs

    def compare(test, ref, skip_compare=None):
        test = copy.deepcopy(test)
        test_slots, ref_slots = text_slots(test), text_slots(ref)
        if [key for _, key in test_slots] == [key for _, key in ref_slots]:
            for (index, key), ref_slot in zip(test_slots, ref_slots):
                stored, new = item.sanitize(read_slot(ref, ref_slot)), item.sanitize(read_slot(test, (index, key)))
                if largest_difference(stored, new) <= limit:
                    write_slot(test, (index, key), read_slot(ref, ref_slot))
        if compare_exactly(test, ref, skip_compare):
            return True
        difference = outputs_difference(ref, test, item.sanitize)
        item.comparison_traceback.append(
            f"nbval numbers_within {limit:g}: " + (f"a number moved by {difference:g}" if difference < float("inf")
                                                   else "the text around the numbers changed"))
        return False

    return compare

