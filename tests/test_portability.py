"""The notebook checks' tolerance rule (tests/portability.py) and its nbval hook (tests/conftest.py)."""
import math
import os
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

from tests.portability import CPU_PATHS, largest_difference, outputs_difference, split_numbers, tolerance

REPO = Path(__file__).resolve().parent.parent


def test_tolerance_is_read_from_the_marker_comment():
    assert tolerance("# NBVAL_NUMBERS_WITHIN 0.5\nprint(1)") == 0.5
    assert tolerance("x = 1\n#NBVAL_NUMBERS_WITHIN 2\n") == 2.0
    assert tolerance("# NBVAL_NUMBERS_WITHIN 3.8: measured spread 2.5 (README, Tests)\nprint(1)") == 3.8
    assert tolerance("print(1)  # no marker") is None
    with pytest.raises(ValueError, match="positive number"):
        tolerance("# NBVAL_NUMBERS_WITHIN -1")


def test_numbers_are_split_from_the_words_around_them():
    text, numbers = split_numbers("replay_1   residual:  15.8 ±  7.5 gray levels, AUC -0.25 1e-3")
    assert text == "replay_# residual: # ± # gray levels, AUC # #"
    assert numbers == [1, 15.8, 7.5, -0.25, 1e-3]


def test_largest_difference_ignores_column_shifts_but_not_words():
    stored = "plain conv   9.6   13.8\nCDC          8.5   14.1\n"
    assert largest_difference(stored, "plain conv  10.1   13.8\nCDC          8.5   14.0\n") == pytest.approx(0.5)
    assert largest_difference(stored, stored) == 0
    assert largest_difference(stored, "plain conv  9.6  13.8\nCDD  8.5  14.1\n") == math.inf  # a word changed
    assert largest_difference(stored, "plain conv  9.6  13.8\n") == math.inf  # a line is missing


def test_outputs_difference_pairs_streams_and_text_outputs_in_order():
    def stream(text):
        return nbformat.v4.new_output("stream", name="stdout", text=text)

    def figure(size):
        return nbformat.v4.new_output("display_data", data={"text/plain": f"<Figure size {size}>", "image/png": "x"})

    assert outputs_difference([stream("a 1.0"), figure(3)], [stream("a 1.25"), figure(3)]) == 0.25
    assert outputs_difference([stream("a 1.0"), figure(3)], [figure(3), stream("a 1.0")]) == math.inf
    assert outputs_difference([stream("a 1.0")], [stream("a 1.0"), figure(3)]) == math.inf


def test_the_baseline_code_path_changes_floating_point_results():
    """A second run that computes the same bits proves nothing: baseline must change NumPy's and OpenCV's."""
    probe = ("import numpy as np, cv2; x = np.linspace(0, 10, 100_000, dtype=np.float32); "
             "image = np.random.default_rng(0).random((128, 128, 3), dtype=np.float32); "
             "print(float(np.exp(x).astype(np.float64).sum()), float(np.sin(x).astype(np.float64).sum()), "
             "float(cv2.GaussianBlur(image, (0, 0), 1.3).astype(np.float64).sum()))")
    results = {}
    for path, variables in CPU_PATHS.items():
        env = {key: value for key, value in os.environ.items() if key not in CPU_PATHS["baseline"]}
        results[path] = subprocess.run([sys.executable, "-c", probe], env={**env, **variables}, check=True,
                                       capture_output=True, text=True).stdout.split()
    changed = [a != b for a, b in zip(results["native"], results["baseline"])]
    if not any(changed):
        pytest.skip("this CPU has no SIMD kernels beyond the baseline ones (nothing to force off)")
    assert sum(changed) >= 2, (results, "baseline should change NumPy's transcendental and OpenCV's blur results")


def _notebook(path, source, stored_text):
    cell = nbformat.v4.new_code_cell(source, execution_count=1,
                                     outputs=[nbformat.v4.new_output("stream", name="stdout", text=stored_text)])
    nbformat.write(nbformat.v4.new_notebook(cells=[cell]), path)


@pytest.mark.slow
def test_nbval_compares_marked_cells_within_their_tolerance_and_the_rest_exactly(tmp_path):
    cases = {  # notebook name: (cell source, stored output, should pass)
        "within": ("# NBVAL_NUMBERS_WITHIN 0.5\nprint(f'residual {15.8:5.1f} ± {7.5:4.1f}')", "residual  15.9 ±  7.6\n", True),
        "beyond": ("# NBVAL_NUMBERS_WITHIN 0.5\nprint(f'residual {15.8:5.1f}')", "residual  16.4\n", False),
        "worded": ("# NBVAL_NUMBERS_WITHIN 0.5\nprint(f'residual {15.8:5.1f}')", "residue  15.8\n", False),
        "exact": ("print(f'residual {15.8:5.1f}')", "residual  15.9\n", False),
    }
    for name, (source, stored, _) in cases.items():
        _notebook(tmp_path / f"{name}.ipynb", source, stored)
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "tests.conftest", "--nbval", "--nbval-current-env", "-q", "-rA",
         "-p", "no:cacheprovider", *(str(tmp_path / f"{name}.ipynb") for name in cases)],
        cwd=REPO, capture_output=True, text=True, timeout=300)
    for name, (_, _, should_pass) in cases.items():
        verdict = "PASSED" if should_pass else "FAILED"
        assert any(line.startswith(verdict) and f"{name}.ipynb" in line for line in result.stdout.splitlines()), (
            name, result.stdout[-3000:])
    assert "NBVAL_NUMBERS_WITHIN 0.5: a number moved by 0.6" in result.stdout
