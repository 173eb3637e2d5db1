"""Smoke-run every training notebook with tiny parameters, and check the papermill harness itself.

A training notebook joins these tests by storing its tiny, CPU-quick parameters in its metadata:
``"metadata": {"faslearn": {"smoke_parameters": {"epochs": 1, "max_steps": 2}}, ...}``.
"""
from pathlib import Path

import nbformat
import pytest
from papermill_harness import run_papermill

TRAINING_NOTEBOOKS = sorted((Path(__file__).parents[1] / "notebooks" / "training").glob("*.ipynb"))


@pytest.mark.papermill
@pytest.mark.parametrize(
    "notebook",
    TRAINING_NOTEBOOKS
    or [pytest.param(None, marks=pytest.mark.skip(reason="no notebooks/training/*.ipynb yet"))],
    ids=lambda path: path.stem if path else "none",
)
def test_training_notebook_runs_with_smoke_parameters(notebook, tmp_path):
    metadata = nbformat.read(notebook, as_version=4).metadata
    parameters = metadata.get("faslearn", {}).get("smoke_parameters")
    if not isinstance(parameters, dict):
        pytest.fail(f"{notebook.name}: expected a dict of tiny parameters in metadata "
                    "faslearn.smoke_parameters")
    run_papermill(notebook, parameters, tmp_path)


def write_notebook(path: Path, *sources: str) -> Path:
    """A notebook whose first code cell is tagged ``parameters``."""
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nb.cells = [nbformat.v4.new_code_cell(source) for source in sources]
    nb.cells[0].metadata["tags"] = ["parameters"]
    path.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, path)
    return path


@pytest.mark.papermill
def test_harness_injects_parameters_and_runs_in_the_notebook_folder(tmp_path):
    notebook = write_notebook(
        tmp_path / "notebooks" / "tiny.ipynb",
        'epochs = 100\nrun_name = "full"',
        "import os\nprint(epochs * 2, run_name, os.getcwd())",
    )
    executed = run_papermill(notebook, {"epochs": 3, "run_name": "smoke"}, tmp_path)

    injected = [cell for cell in executed.cells if "injected-parameters" in cell.metadata.get("tags", [])]
    assert len(injected) == 1
    printed = executed.cells[-1].outputs[0].text.split()
    assert printed == ["6", "smoke", str(notebook.parent)]
    assert (tmp_path / "tiny.ipynb").is_file()  # the run record


@pytest.mark.papermill
def test_harness_failure_names_the_cell_and_its_error(tmp_path):
    notebook = write_notebook(
        tmp_path / "nb" / "broken.ipynb",
        "steps = 1",
        "# train\nraise RuntimeError(f'diverged after {steps} steps')",
    )
    # cell 1 holds the parameters, cell 2 papermill's injected ones, cell 3 the failure
    expected = r"broken.ipynb: cell In \[3\] \('# train'\) raised RuntimeError: diverged after 2 steps"
    with pytest.raises(AssertionError, match=expected):
        run_papermill(notebook, {"steps": 2}, tmp_path)


def test_harness_refuses_a_notebook_without_parameters_cell(tmp_path):
    notebook = tmp_path / "plain.ipynb"
    nbformat.write(nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("x = 1")]), notebook)
    with pytest.raises(ValueError, match="expected a cell tagged 'parameters'"):
        run_papermill(notebook, {"x": 2}, tmp_path)
