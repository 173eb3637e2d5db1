"""scripts/run_notebooks.py, the runner behind `make course` and `make outputs`: it finishes or fails, never waits
forever."""
import subprocess
import sys
import time
from pathlib import Path

import nbformat
import pytest

REPO = Path(__file__).resolve().parents[1]


def write_notebook(path: Path, *sources: str) -> Path:
    nbformat.write(nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(s) for s in sources]), path)
    return path


def run_notebooks(*args: str, timeout: float = 240) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(REPO / "scripts" / "run_notebooks.py"), *args],
                          capture_output=True, text=True, timeout=timeout)


@pytest.mark.slow
def test_a_notebook_past_its_wall_clock_limit_is_stopped_and_its_cell_named(tmp_path):
    notebook = write_notebook(tmp_path / "slow.ipynb", "x = 1", "import time\ntime.sleep(600)  # waits")
    start = time.perf_counter()
    result = run_notebooks("--out", str(tmp_path / "out"), "--limit", "8", str(notebook))
    assert time.perf_counter() - start < 120
    assert result.returncode == 1
    assert "slow.ipynb: stopped after the notebook's limit of 8 s, in cell 1 ('import time')" in result.stderr


def test_with_limit_stops_a_command_and_its_children_past_the_limit(tmp_path):
    marker = tmp_path / "still_running"
    child = f"import time, pathlib; time.sleep(5); pathlib.Path({str(marker)!r}).write_text('x')"
    script = f"import subprocess, sys, time; subprocess.Popen([sys.executable, '-c', {child!r}]); time.sleep(60)"
    start = time.perf_counter()
    result = subprocess.run([sys.executable, str(REPO / "scripts" / "with_limit.py"), "1", "--", sys.executable, "-c",
                             script], capture_output=True, text=True, timeout=60)
    assert result.returncode == 124 and "with_limit: stopped after 1 s" in result.stderr
    assert time.perf_counter() - start < 30
    time.sleep(6)
    assert not marker.exists()  # the grandchild went with the group
    ok = subprocess.run([sys.executable, str(REPO / "scripts" / "with_limit.py"), "30", "--", sys.executable, "-c",
                         "raise SystemExit(3)"], timeout=60)
    assert ok.returncode == 3


# Notebook 04's strength slider in miniature: a widget with a large figure in an Output. Without
# faslearn.kernels.steady_kernel_channels, nbclient waited forever after this cell in 6 of 12 runs.
WIDGET_CELLS = (
    "import torch\nimport faslearn as fl\ng = torch.Generator().manual_seed(0)\n"
    "images = torch.rand(7, 3, 64, 64, generator=g) * 2 - 1\n"
    "rec = {s: torch.rand(7, 3, 64, 64, generator=g) * 2 - 1 for s in (0.25, 0.5, 0.75, 1.0)}",
    "box = fl.widgets.strength_explorer(images, rec, titles=[str(i) for i in range(7)])",
    "print('after the widget')",
)
RUNS = 6


@pytest.mark.slow
def test_a_widget_cell_never_hangs_the_course_runner(tmp_path):
    notebooks = [str(write_notebook(tmp_path / f"widget{i}.ipynb", *WIDGET_CELLS)) for i in range(RUNS)]
    result = run_notebooks("--out", str(tmp_path / "out"), "--limit", "60", *notebooks, timeout=900)
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.count(" ok ") == RUNS


@pytest.mark.slow
@pytest.mark.papermill
def test_a_widget_cell_never_hangs_papermill(tmp_path):
    from papermill_harness import run_papermill

    source = write_notebook(tmp_path / "widget.ipynb", *WIDGET_CELLS)
    nb = nbformat.read(source, as_version=4)
    nb.cells.insert(0, nbformat.v4.new_code_cell("x = 0", metadata={"tags": ["parameters"]}))
    nbformat.write(nb, source)
    for i in range(RUNS):
        start = time.perf_counter()
        executed = run_papermill(source, {"x": i}, tmp_path)
        assert time.perf_counter() - start < 60
        assert executed.cells[-1].outputs[0]["text"] == "after the widget\n"


@pytest.mark.slow
def test_a_widget_cell_never_hangs_nbval(tmp_path):
    notebooks = []
    for i in range(RUNS):
        path = write_notebook(tmp_path / f"widget{i}.ipynb", *WIDGET_CELLS)
        nb = nbformat.read(path, as_version=4)
        for count, cell in enumerate(nb.cells, 1):
            cell.execution_count = count  # nbval compares only cells that were run
        nb.cells[-1].outputs = [nbformat.v4.new_output("stream", name="stdout", text="after the widget\n")]
        nb.cells[1].metadata["tags"] = ["nbval-ignore-output"]  # the widget cell, as the course marks it
        nbformat.write(nb, path)
        notebooks.append(str(path))
    result = subprocess.run([sys.executable, str(REPO / "scripts" / "with_limit.py"), "600", "--", sys.executable,
                             "-m", "pytest", "-p", "tests.conftest", "--nbval", "--nbval-current-env", "-q",
                             "-p", "no:cacheprovider", *notebooks], cwd=REPO, capture_output=True, text=True,
                            timeout=900)
    assert result.returncode == 0, result.stdout[-2000:]
    assert f"{3 * RUNS} passed" in result.stdout


def test_with_limit_stopped_itself_stops_what_it_started(tmp_path):
    marker = tmp_path / "still_running"
    child = f"import time, pathlib; time.sleep(4); pathlib.Path({str(marker)!r}).write_text('x')"
    process = subprocess.Popen([sys.executable, str(REPO / "scripts" / "with_limit.py"), "60", "--", sys.executable,
                                "-c", child])
    time.sleep(1.5)
    process.terminate()  # as make or CI stopping the check would
    assert process.wait(timeout=30) == 128 + 15
    time.sleep(5)
    assert not marker.exists()
