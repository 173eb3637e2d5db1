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
    ignores_output,
    is_lesson_cell,
    largest_difference,
    lesson_lines,
    markers,
    outputs_difference,
    split_numbers,
    tolerance,
    tolerance_refusal,
)

REPO = Path(__file__).resolve().parent.parent


def _marked(**nbval):
    return {"nbval": nbval}


def test_tolerance_is_read_from_the_cell_metadata():
    assert tolerance(_marked(numbers_within=0.5)) == 0.5
    assert tolerance(_marked(numbers_within=3.8, why="measured spread 2.5 (README, Tests)")) == 3.8
    assert tolerance({}) is None and tolerance({"tags": ["nbval-ignore-output"]}) is None
    for bad in (-1, 0, float("nan"), "0.5", True):
        with pytest.raises(ValueError, match="positive number"):
            tolerance(_marked(numbers_within=bad))
    with pytest.raises(ValueError, match="unknown nbval metadata key"):
        tolerance(_marked(number_within=0.5))  # a misspelt key is an error, not an exact check
    assert is_lesson_cell(_marked(lessons=True)) and not is_lesson_cell(_marked(numbers_within=1))
    assert ignores_output({"tags": ["nbval-skip"]}) and not ignores_output({"tags": ["other"]})


def test_no_notebook_cell_carries_a_harness_marker_in_its_source():
    """The markers live in the cells' metadata, so a cell's first line is about the lesson."""
    notebooks = sorted(REPO.glob("notebooks/*.ipynb")) + sorted(REPO.glob("notebooks/training/*.ipynb"))
    for path in notebooks:
        for index, cell in enumerate(nbformat.read(path, as_version=4).cells):
            assert "NBVAL_" not in cell.source, f"{path.name} cell {index}: move the marker into the cell's metadata"
            markers(cell.metadata)  # and what is there is well formed


def _stdout(text):
    return [nbformat.v4.new_output("stream", name="stdout", text=text)]


def test_a_tolerance_wider_than_a_tenth_of_the_printed_range_is_refused():
    percentages = _stdout("HTER 25.8  AUC 85.1\n")  # largest number stored: 85.1
    assert tolerance_refusal(_marked(numbers_within=8), percentages) is None
    refusal = tolerance_refusal(_marked(numbers_within=33), percentages)
    assert "more than a tenth of the printed range 85.1" in refusal and '"lessons": true' in refusal
    gray = _stdout("residual 5.6 ± 2.0 gray levels\n")  # a range the metadata states beats the stored numbers
    assert tolerance_refusal(_marked(numbers_within=1.2), gray) is not None
    assert tolerance_refusal(_marked(numbers_within=1.2, of=255, why="gray levels"), gray) is None
    assert tolerance_refusal({}, gray) is None  # exact cells have nothing to refuse


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


def _notebook(path, source, stored_text, nbval=None):
    cell = nbformat.v4.new_code_cell(source, execution_count=1,
                                     outputs=[nbformat.v4.new_output("stream", name="stdout", text=stored_text)])
    if nbval:
        cell.metadata["nbval"] = nbval
    nbformat.write(nbformat.v4.new_notebook(cells=[cell]), path)


# a trained number printed for the reader (not compared) and the lesson it supports (compared word for word)
LESSON_CELL = ("import faslearn as fl\nprint('HTER {hter:.1f}')\n"
               "fl.lesson('HTER below 20', {hter} < 20);")
LESSONS = {"lessons": True}
WITHIN = {"numbers_within": 0.5}


@pytest.mark.slow
def test_nbval_compares_marked_cells_within_their_tolerance_and_the_rest_exactly(tmp_path):
    cases = {  # notebook name: (cell source, stored output, should pass, the cell's nbval metadata)
        "within": ("print(f'residual {15.8:5.1f} ± {7.5:4.1f}')", "residual  15.9 ±  7.6\n", True, WITHIN),
        "beyond": ("print(f'residual {15.8:5.1f}')", "residual  16.4\n", False, WITHIN),
        "worded": ("print(f'residual {15.8:5.1f}')", "residue  15.8\n", False, WITHIN),
        "exact": ("print(f'residual {15.8:5.1f}')", "residual  15.9\n", False, None),
        "too_wide": ("print(f'HTER {26.5:4.1f}')", "HTER 26.5\n", False, {"numbers_within": 33}),
        "lesson_held": (LESSON_CELL.format(hter=14.0), "HTER 19.7\nlesson: HTER below 20: True\n", True, LESSONS),
        "lesson_flipped": (LESSON_CELL.format(hter=21.0), "HTER 19.7\nlesson: HTER below 20: True\n", False,
                           LESSONS),
        "lesson_missing": (LESSON_CELL.format(hter=14.0), "HTER 14.0\n", False, LESSONS),
    }
    for name, (source, stored, _, nbval) in cases.items():
        _notebook(tmp_path / f"{name}.ipynb", source, stored, nbval)
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "tests.conftest", "--nbval", "--nbval-current-env", "-q", "-rA",
         "-p", "no:cacheprovider", *(str(tmp_path / f"{name}.ipynb") for name in cases)],
        cwd=REPO, capture_output=True, text=True, timeout=300)
    for name, (_, _, should_pass, _) in cases.items():
        verdict = "PASSED" if should_pass else "FAILED"
        assert any(line.startswith(verdict) and f"{name}.ipynb" in line for line in result.stdout.splitlines()), (
            name, result.stdout[-3000:])
    assert "nbval numbers_within 0.5: a number moved by 0.6" in result.stdout
    assert "nbval numbers_within 33 is more than a tenth of the printed range 26.5" in result.stdout
    assert "nbval lessons: the lessons differ" in result.stdout
    assert "the stored outputs state no lesson" in result.stdout


def test_every_notebook_names_the_kernel_that_make_install_registers():
    """JupyterLab rewrites a kernelspec whose display name differs from the installed kernel's, so a
    learner who only opened a notebook would be asked to save it (and would get a git diff)."""
    from jupyter_client.kernelspec import KernelSpecManager

    installed = KernelSpecManager().get_kernel_spec("python3").display_name
    for path in sorted(REPO.glob("notebooks/**/*.ipynb")):
        spec = nbformat.read(path, as_version=4).metadata.kernelspec
        assert (spec.name, spec.display_name) == ("python3", installed), path
