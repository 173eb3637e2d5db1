"""Execute notebooks headless with this Python environment's kernel.

    python scripts/run_notebooks.py --out runs/course-1    # executed copies + HTML; sources untouched
    python scripts/run_notebooks.py --inplace               # refresh the outputs stored in notebooks/

With no notebook paths the teaching notebooks ``notebooks/[0-9]*.ipynb`` are run, in name order.
Each notebook runs in its own fresh kernel with its own folder as the working directory, so
relative paths behave as they do in JupyterLab. One line per notebook reports its wall time and
the peak resident memory of the kernel (and of any process it started, e.g. DataLoader workers).
Each notebook has a wall-clock limit (`--limit`, 900 s) that no wait inside it can outlast. The exit
status is 1 if any notebook failed; the message names the notebook and the cell.
"""
import argparse
import asyncio
import os
import sys
import threading
import time
from pathlib import Path

import nbformat
import psutil
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError, CellTimeoutError, DeadKernelError
from nbconvert import HTMLExporter

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))  # this checkout's faslearn, installed or not
from faslearn.kernels import steady_kernel_channels  # noqa: E402

steady_kernel_channels()  # a widget cell must not leave nbclient waiting forever (faslearn/kernels.py)
TEACHING_NOTEBOOKS = "notebooks/[0-9]*.ipynb"


class PeakMemory:
    """Track the peak summed RSS of this process's children (the kernel and what it spawns).

    Sampled every ``interval`` seconds on a background thread, so a spike shorter than that can be
    missed. Forked workers share pages with their parent, so the sum is an upper bound.
    """

    def __init__(self, interval: float = 0.2):
        self.interval = interval
        self.peak_bytes = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)

    def _sample(self):
        me = psutil.Process()
        while not self._stop.is_set():
            total = 0
            for child in me.children(recursive=True):
                try:
                    total += child.memory_info().rss
                except psutil.Error:  # the process ended between listing and reading it
                    pass
            self.peak_bytes = max(self.peak_bytes, total)
            self._stop.wait(self.interval)

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()


async def within(coroutine, limit: float | None):
    """Await ``coroutine``; past ``limit`` seconds cancel it (its clean-up runs) and raise TimeoutError."""
    task = asyncio.ensure_future(coroutine)
    done, _ = await asyncio.wait({task}, timeout=limit)
    if task in done:
        return task.result()
    task.cancel()
    try:
        await task  # let nbclient shut the kernel down
    except BaseException:  # whatever the cancelled run raises, the limit is the reason
        pass
    raise asyncio.TimeoutError


def execute(path: Path, timeout: int, kernel_name: str, limit: float | None = None):
    """Run ``path`` in a fresh kernel; return (notebook, seconds, peak bytes, failure message or None).

    ``timeout`` bounds each cell (nbclient's own check); ``limit`` bounds the whole notebook by the wall
    clock, whatever the kernel or nbclient is waiting for: past it the run is cancelled, the kernel shut
    down, and the failure names the cell it was in.
    """
    nb = nbformat.read(path, as_version=4)
    running = {}  # the cell being executed, to name it if the notebook fails

    def remember_cell(cell, cell_index):
        running.update(index=cell_index, first_line=(cell.source.strip().splitlines() or [""])[0])

    client = NotebookClient(
        nb,
        timeout=timeout,
        kernel_name=kernel_name,
        resources={"metadata": {"path": str(path.parent)}},  # the kernel's working directory
        record_timing=False,  # no per-cell timestamps in the saved file
        on_cell_execute=remember_cell,
        extra_arguments=["--IPKernelApp.log_level=ERROR"],  # hush start-up warnings, keep errors
    )
    failure = None
    start = time.perf_counter()
    with PeakMemory() as memory:
        try:
            asyncio.run(within(client.async_execute(), limit))
        except (CellExecutionError, CellTimeoutError, DeadKernelError) as error:
            if isinstance(error, CellExecutionError):
                reason = f"{error.ename}: {error.evalue}"
            else:
                reason = type(error).__name__  # the kernel died (out of memory?) or a cell ran too long
            failure = f"cell {running.get('index')} ({running.get('first_line')!r}) raised {reason}"
        except asyncio.TimeoutError:  # cancelled: async_execute's own clean-up has shut the kernel down
            failure = (f"stopped after the notebook's limit of {limit:g} s, in cell {running.get('index')} "
                       f"({running.get('first_line')!r})")
    return nb, time.perf_counter() - start, memory.peak_bytes, failure


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("notebooks", nargs="*", type=Path, help=f"default: {TEACHING_NOTEBOOKS}")
    where = parser.add_mutually_exclusive_group(required=True)
    where.add_argument("--inplace", action="store_true", help="store the new outputs in the notebooks themselves")
    where.add_argument("--out", type=Path, help="write executed copies and HTML renderings to this folder")
    parser.add_argument("--timeout", type=int, default=600, help="seconds allowed per cell (default 600)")
    parser.add_argument("--limit", type=float, default=900,
                        help="wall-clock seconds allowed per notebook, whatever it waits for (default 900)")
    parser.add_argument("--kernel", default="python3", help="kernel name (default python3, i.e. this Python)")
    args = parser.parse_args(argv)

    notebooks = args.notebooks or sorted(REPO.glob(TEACHING_NOTEBOOKS))
    if not notebooks:
        print(f"no notebooks match {TEACHING_NOTEBOOKS}; nothing to run")
        return 0
    missing = [str(p) for p in notebooks if not p.is_file()]
    if missing:
        parser.error(f"expected notebook files, not found: {', '.join(missing)}")
    # Kernels inherit this environment: a fixed hash seed keeps printed set orders stable, and
    # without MPLBACKEND ipykernel picks the inline backend, so figures are stored as in JupyterLab.
    os.environ["PYTHONHASHSEED"] = "0"
    os.environ.pop("MPLBACKEND", None)
    if args.out:
        args.out.mkdir(parents=True, exist_ok=True)
    html = HTMLExporter()

    failures, total_seconds, overall_peak = [], 0.0, 0
    for path in notebooks:
        path = path.resolve()
        if sys.stdout.isatty():
            print(f"{path.name:<40} running", end="\r", flush=True)
        nb, seconds, peak, failure = execute(path, args.timeout, args.kernel, args.limit)
        total_seconds += seconds
        overall_peak = max(overall_peak, peak)
        if args.inplace:
            if not failure:  # a failed run must not replace good stored outputs
                nbformat.write(nb, path)
            written = path
        else:
            written = args.out / path.name
            nbformat.write(nb, written)
            body, _ = html.from_notebook_node(nb)
            written.with_suffix(".html").write_text(body, encoding="utf-8")
        status = "FAILED" if failure else "ok"
        size_kb = written.stat().st_size / 1024
        print(f"{path.name:<40} {status:<6} {seconds:7.1f} s   peak RSS {peak / 2**30:5.2f} GiB   "
              f"{size_kb:7.0f} KiB", flush=True)
        if failure:
            failures.append(f"{path.name}: {failure}")

    print(f"{'total':<40} {'':<6} {total_seconds:7.1f} s   peak RSS {overall_peak / 2**30:5.2f} GiB")
    if args.out:
        print(f"executed notebooks and HTML in {args.out}")
    if failures:
        print(f"\n{len(failures)} notebook(s) failed:", file=sys.stderr)
        for line in failures:
            print(f"  {line}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
