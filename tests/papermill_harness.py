"""Run a parameterized notebook with papermill from a test, as a learner's training run would be."""
import re
from pathlib import Path

import nbformat
import papermill
from papermill.exceptions import PapermillExecutionError

from faslearn.kernels import steady_kernel_channels

steady_kernel_channels()  # as the sweep runner does: no smoke run may wait forever (faslearn/kernels.py)

ANSI_COLOUR = re.compile(r"\x1b\[[0-9;]*m")


def run_papermill(notebook_path, parameters: dict, tmp_path) -> nbformat.NotebookNode:
    """Execute ``notebook_path`` with ``parameters`` injected after its cell tagged ``parameters``.

    The kernel is this environment's python3 and its working directory is the notebook's folder.
    The executed copy, the run's record, is written to ``tmp_path`` and returned. A failing cell
    raises AssertionError naming that cell and giving its error and traceback.
    """
    notebook_path = Path(notebook_path)
    cells = nbformat.read(notebook_path, as_version=4).cells
    if not any("parameters" in cell.metadata.get("tags", []) for cell in cells):
        # papermill would inject at the top, and the notebook's own assignments would undo it
        raise ValueError(f"expected a cell tagged 'parameters' in {notebook_path}")
    output_path = Path(tmp_path) / notebook_path.name
    try:
        return papermill.execute_notebook(
            notebook_path,
            output_path,
            parameters=parameters,
            kernel_name="python3",
            language="python",
            cwd=notebook_path.parent,
            progress_bar=False,
        )
    except PapermillExecutionError as error:
        first_line = (error.source.strip().splitlines() or [""])[0]
        traceback = ANSI_COLOUR.sub("", "\n".join(error.traceback))
        raise AssertionError(
            f"{notebook_path.name}: cell In [{error.exec_count}] ({first_line!r}) raised "
            f"{error.ename}: {error.evalue}\n"
            f"(executed copy: {output_path})\n{traceback}"
        ) from None
