"""Measure how far each notebook cell's printed numbers move across CPU code paths.

    python scripts/measure_spread.py                      # run the teaching notebooks on every path, then report
    python scripts/measure_spread.py --paths baseline     # only some paths (see tests/portability.py)
    python scripts/measure_spread.py --only-report        # report on runs already in runs/spread/

Each path runs every teaching notebook in a fresh kernel with that path's environment and its own
empty benchmark cache (so the benchmark is rendered again with that path's arithmetic), writing
the executed copies to ``runs/spread/<path>/``. Any other folder of executed notebooks can be added
to the report with ``--extra NAME=DIR`` (e.g. copies made on another machine).

The report lists every code cell whose text outputs differ from the stored ones: the largest
number difference per path ("text" where more than numbers changed), and the tolerance its
metadata declares (``"nbval": {"numbers_within": x}``). A cell fails where the difference exceeds
it; a cell without one fails on any difference. Set each cell's tolerance from these figures. A
lesson cell (``"nbval": {"lessons": true}``) is listed with whether its lesson lines came out the
same; its margins come from ``scripts/measure_lessons.py``, which trains over many seeds.
"""
import argparse
import math
import os
import subprocess
import sys
from pathlib import Path

import nbformat

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
from tests.portability import (  # noqa: E402
    CPU_PATHS,
    ignores_output,
    is_lesson_cell,
    lesson_lines,
    outputs_difference,
    tolerance,
)


def sanitizer():
    """nbval's own sanitizing with tests/nbval_sanitize.cfg (timings, addresses, figure sizes)."""
    import re

    from nbval.plugin import get_sanitize_patterns

    patterns = get_sanitize_patterns((REPO / "tests" / "nbval_sanitize.cfg").read_text())

    def clean(text):
        for regex, replace in patterns:
            text = re.sub(regex, replace, text)
        return text

    return clean


def run_path(name: str, notebooks: list[Path], out: Path) -> None:
    env = {**os.environ, **CPU_PATHS[name], "FASLEARN_CACHE": str(out / "cache")}
    print(f"== {name}: {' '.join(f'{k}={v}' for k, v in CPU_PATHS[name].items()) or '(this CPU as it is)'}", flush=True)
    subprocess.run([sys.executable, str(REPO / "scripts" / "run_notebooks.py"), "--out", str(out),
                    *map(str, notebooks)], env=env, check=True)


def report(notebooks: list[Path], runs: dict[str, Path]) -> int:
    clean = sanitizer()
    failures = 0
    print(f"\n{'cell':<44}{'tolerance':>10}" + "".join(f"{name:>12}" for name in runs))
    for path in notebooks:
        stored = nbformat.read(path, as_version=4).cells
        executed = {name: nbformat.read(folder / path.name, as_version=4).cells
                    for name, folder in runs.items() if (folder / path.name).is_file()}
        for index, cell in enumerate(stored):
            if cell.cell_type != "code" or ignores_output(cell.metadata):
                continue
            if is_lesson_cell(cell.metadata):  # trained numbers: only the lesson lines count
                differ = [name for name, cells in executed.items()
                          if lesson_lines(cells[index].outputs) != lesson_lines(cell.outputs)]
                failures += bool(differ)
                label = f"{path.stem[:2]}[{index}] lessons"
                print(f"{label:<44}{'lessons':>10}" + "".join(
                    f"{'differ!' if name in differ else 'same':>12}" for name in executed))
                continue
            limit = tolerance(cell.metadata)
            moved = {name: outputs_difference(cell.outputs, cells[index].outputs, clean)
                     for name, cells in executed.items()}
            if limit is None and not any(moved.values()):
                continue
            bad = [d > (limit or 0) for d in moved.values()]
            failures += any(bad)
            first_line = next((line for line in cell.source.splitlines() if not line.startswith("#")), "")
            label = f"{path.stem[:2]}[{index}] {first_line[:34]}"
            columns = [f"{'text' if math.isinf(d) else f'{d:.3g}':>11}{'!' if b else ' '}"
                       for d, b in zip(moved.values(), bad)]
            print(f"{label:<44}{'exact' if limit is None else f'{limit:g}':>10}" + "".join(columns))
    print(f"\n{failures} cell(s) outside their tolerance ('!')" if failures else "\nevery cell within its tolerance")
    return 1 if failures else 0


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("notebooks", nargs="*", type=Path, help="default: notebooks/[0-9]*.ipynb")
    parser.add_argument("--paths", nargs="+", default=list(CPU_PATHS), choices=list(CPU_PATHS))
    parser.add_argument("--out", type=Path, default=REPO / "runs" / "spread")
    parser.add_argument("--only-report", action="store_true", help="do not run; report on existing runs")
    parser.add_argument("--extra", action="append", default=[], metavar="NAME=DIR",
                        help="also report on executed notebooks in DIR")
    args = parser.parse_args(argv)

    notebooks = [p.resolve() for p in args.notebooks] or sorted(REPO.glob("notebooks/[0-9]*.ipynb"))
    runs = {name: args.out / name for name in args.paths}
    if not args.only_report:
        for name, folder in runs.items():
            run_path(name, notebooks, folder)
    for extra in args.extra:
        name, _, folder = extra.partition("=")
        runs[name] = Path(folder)
    missing = [str(folder) for folder in runs.values() if not folder.is_dir()]
    if missing:
        parser.error(f"expected folders of executed notebooks, not found: {', '.join(missing)}")
    return report(notebooks, runs)


if __name__ == "__main__":
    sys.exit(main())
