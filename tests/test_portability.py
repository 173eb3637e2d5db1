"""The notebook checks' tolerance rule (tests/portability.py) and its nbval hook (tests/conftest.py)."""
import math
import os
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

from tests.portability import (
    CPU_PATHS,
    largest_difference,
    lesson_lines,
    outputs_difference,
    split_numbers,
    tolerance,
    tolerance_refusal,
)

REPO = Path(__file__).resolve().parent.parent


def test_tolerance_is_read_from_the_marker_comment():
    assert tolerance("# NBVAL_NUMBERS_WITHIN 0.5\nprint(1)") == 0.5
    assert tolerance("x = 1\n#NBVAL_NUMBERS_WITHIN 2\n") == 2.0
    assert tolerance("# NBVAL_NUMBERS_WITHIN 3.8: measured spread 2.5 (README, Tests)\nprint(1)") == 3.8
    assert tolerance("print(1)  # no marker") is None
    with pytest.raises(ValueError, match="positive number"):
        tolerance("# NBVAL_NUMBERS_WITHIN -1")


def _stdout(text):
    return [nbformat.v4.new_output("stream", name="stdout", text=text)]


def test_a_tolerance_wider_than_a_tenth_of_the_printed_range_is_refused():
    percentages = _stdout("HTER 25.8  AUC 85.1\n")  # largest number stored: 85.1
    assert tolerance_refusal("# NBVAL_NUMBERS_WITHIN 8\nprint()", percentages) is None
    refusal = tolerance_refusal("# NBVAL_NUMBERS_WITHIN 33\nprint()", percentages)
    assert "more than a tenth of the printed range 85.1" in refusal and "NBVAL_LESSONS" in refusal
    gray = _stdout("residual 5.6 ± 2.0 gray levels\n")  # a range the marker states beats the stored numbers
    assert tolerance_refusal("# NBVAL_NUMBERS_WITHIN 1.2\nprint()", gray) is not None
    assert tolerance_refusal("# NBVAL_NUMBERS_WITHIN 1.2 of 255: gray levels\nprint()", gray) is None
    assert tolerance("# NBVAL_NUMBERS_WITHIN 1.2 of 255: gray levels") == 1.2
    assert tolerance_refusal("print()", gray) is None  # exact cells have nothing to refuse


def test_lesson_lines_are_the_lines_fl_lesson_prints():
    outputs = _stdout("plain conv  26.5\nlesson: CDC wins: True\n") + _stdout("lesson: by 5 points: False\n")
    assert lesson_lines(outputs) == ["lesson: CDC wins: True", "lesson: by 5 points: False"]
    assert lesson_lines(_stdout("no lesson here\n")) == []


def test_fl_lesson_prints_its_statement_and_returns_whether_it_holds(capsys):
    import faslearn as fl

    assert fl.lesson("CDC's mean HTER is lower", 14.0 < 26.5) is True
    assert fl.lesson("by at least 20 points", 26.5 - 14.0 >= 20) is False
    assert capsys.readouterr().out == "lesson: CDC's mean HTER is lower: True\nlesson: by at least 20 points: False\n"


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


# a trained number printed for the reader (not compared) and the lesson it supports (compared word for word)
LESSON_CELL = ("# NBVAL_LESSONS\nimport faslearn as fl\nprint('HTER {hter:.1f}')\n"
               "fl.lesson('HTER below 20', {hter} < 20);")


@pytest.mark.slow
def test_nbval_compares_marked_cells_within_their_tolerance_and_the_rest_exactly(tmp_path):
    cases = {  # notebook name: (cell source, stored output, should pass)
        "within": ("# NBVAL_NUMBERS_WITHIN 0.5\nprint(f'residual {15.8:5.1f} ± {7.5:4.1f}')",
                   "residual  15.9 ±  7.6\n", True),
        "beyond": ("# NBVAL_NUMBERS_WITHIN 0.5\nprint(f'residual {15.8:5.1f}')", "residual  16.4\n", False),
        "worded": ("# NBVAL_NUMBERS_WITHIN 0.5\nprint(f'residual {15.8:5.1f}')", "residue  15.8\n", False),
        "exact": ("print(f'residual {15.8:5.1f}')", "residual  15.9\n", False),
        "too_wide": ("# NBVAL_NUMBERS_WITHIN 33\nprint(f'HTER {26.5:4.1f}')", "HTER 26.5\n", False),
        "lesson_held": (LESSON_CELL.format(hter=14.0), "HTER 19.7\nlesson: HTER below 20: True\n", True),
        "lesson_flipped": (LESSON_CELL.format(hter=21.0), "HTER 19.7\nlesson: HTER below 20: True\n", False),
        "lesson_missing": (LESSON_CELL.format(hter=14.0), "HTER 14.0\n", False),
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
    assert "NBVAL_NUMBERS_WITHIN 33 is more than a tenth of the printed range 26.5" in result.stdout
    assert "NBVAL_LESSONS: the lessons differ" in result.stdout
    assert "the stored outputs state no lesson" in result.stdout


def test_every_notebook_names_the_kernel_that_make_install_registers():
    """JupyterLab rewrites a kernelspec whose display name differs from the installed kernel's, so a
    learner who only opened a notebook would be asked to save it (and would get a git diff)."""
    from jupyter_client.kernelspec import KernelSpecManager

    installed = KernelSpecManager().get_kernel_spec("python3").display_name
    for path in sorted(REPO.glob("notebooks/**/*.ipynb")):
        spec = nbformat.read(path, as_version=4).metadata.kernelspec
        assert (spec.name, spec.display_name) == ("python3", installed), path
