"""Measure the distribution of a notebook's trained numbers over many seeds, to set its lesson margins.

    python scripts/measure_lessons.py 01 --seeds 0-19 --out runs/lessons           # this CPU's code path
    python -m tests.portability baseline -- python scripts/measure_lessons.py 01 --seeds 0-19 --out runs/lessons
    python scripts/measure_lessons.py --report runs/lessons                         # margins from every file

A teaching notebook that trains a model on the learner's CPU does not print digits that nbval can
compare: a few epochs from a handful of seeds take another path on every CPU (README, Tests). Such a
cell states its lesson instead, with a margin (``fl.utils.lesson``). This script runs the notebook's
own code, up to the cells that train, with other seeds: a ``SWEEPS`` entry names the line of the
notebook that fixes the seeds (or the world), what to put in its place, and the code that writes the
headline numbers to a JSON file. Each run gets a fresh benchmark cache, so the benchmark is rendered
with the arithmetic of the code path the script runs on (``python -m tests.portability PATH -- ...``).

``--report`` reads every JSON file written so far and prints, for each lesson, its statistic over all
runs (each run's statistic computed on groups of as many seeds as the notebook uses), the smallest
value seen and the share of runs in which the stated margin holds.
"""
import argparse
import itertools
import json
import os
import sys
import tempfile
import time
from pathlib import Path

import nbformat
import numpy as np
from nbclient import NotebookClient

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
from faslearn.kernels import steady_kernel_channels  # noqa: E402
from tests.portability import CPU_PATHS  # noqa: E402

steady_kernel_channels()

# What to run. ``replace``: (line in the notebook, its replacement, formatted with the run's seeds);
# cells after ``stop_after`` (a substring of the last cell to run) are not run, nor are cells containing one of
# ``skip``, nor, where ``only`` is given, cells containing none of it;
# ``dump`` is run last and writes the numbers to the path in ``OUT``.
SWEEPS = {
    "01": {
        "notebook": "notebooks/01_central_difference_convolution.ipynb",
        "replace": ("EPOCHS, SEEDS = 8, (0, 1, 2, 3, 4)", "EPOCHS, SEEDS = 8, {seeds}"),
        "group": 5,  # the notebook trains five seeds: its lessons are statements about five
        "per_run": False,  # every seed in one kernel: the notebook's loop runs them all
        "stop_after": "histories[name, seed] = fl.train.fit(",
        "skip": ("fl.widgets.", "median_time("),
        "dump": """
import json
json.dump({f"{name}|{seed}": {k: float(h.last[k]) for k in ("dev_acer", "test_hter", "test_auc")}
           for (name, seed), h in histories.items()}, open(OUT, "w"))
""",
    },
    "00": {
        "notebook": "notebooks/00_data_and_metrics.ipynb",
        "replace": ("bench = fl.data.make_benchmark()", "bench = fl.data.make_benchmark(seed={seed}, progress=False)"),
        "per_run": True,  # one kernel per world seed: each renders its own benchmark
        "stop_after": "def hter_at(threshold):",
        "only": ("import faslearn as fl", "bench = fl.data.make_benchmark()", "shortcut_audit(bench)", "def lbp_svm(",
                 "def hter_at("),
        "dump": """
import json
rows_out = []
for r, unseen in zip(results, unseen_scores):
    rows = test_rows(r)
    test = rows["test"]
    low, high = fl.metrics.bootstrap_ci(hter_at(r["threshold"]), bench.identity[test], r["test_scores"],
                                        bench.label[test])
    species = bench.pai[rows["unseen"]]
    legacy = fl.metrics.evaluate_optimistic_test_threshold(r["test_scores"], bench.label[test])
    rows_out.append({
        "protocol": r["protocol"], "target": r["target"], "hter": r["hter"], "acer": r["acer"], "auc": r["auc"],
        "apcer": r["apcer"], "apcer_pooled": r["apcer_pooled"], "bpcer": r["bpcer"], "ci": [low, high],
        "legacy_hter": legacy["hter"],
        "unseen_accepted": {n: float((unseen[species == n] >= r["threshold"]).mean()) for n in UNSEEN_ATTACKS},
        "bpcer_at_apcer": {str(level): fl.metrics.bpcer_at_apcer(r["test_scores"], bench.label[test], bench.pai[test],
                                                                 apcer=level)["bpcer"] for level in (0.01, 0.05)},
    })
json.dump({"results": rows_out, "audit": {name: float(np.mean(list(aucs.values()))) for name, aucs in audit.items()}},
          open(OUT, "w"), default=float)
""",
    },
}


def parse_seeds(text: str) -> list[int]:
    """'0-19' or '0,3,5' -> a list of seeds."""
    seeds = []
    for part in text.split(","):
        first, _, last = part.partition("-")
        seeds += list(range(int(first), int(last or first) + 1))
    return seeds


def build(spec: dict, seeds: list[int], out: Path) -> nbformat.NotebookNode:
    """The notebook's cells up to the training, with the seeds replaced and the dump cell appended."""
    nb = nbformat.read(REPO / spec["notebook"], as_version=4)
    old, new = spec["replace"]
    cells, replaced = [], False
    for cell in nb.cells:
        if cell.cell_type != "code" or any(s in cell.source for s in spec.get("skip", ())):
            continue
        if "only" in spec and not any(s in cell.source for s in spec["only"]):
            continue
        if old in cell.source:
            cell.source = cell.source.replace(old, new.format(seeds=tuple(seeds), seed=seeds[0]))
            replaced = True
        cells.append(cell)
        if spec["stop_after"] in cell.source:
            break
    else:
        raise SystemExit(f"{spec['notebook']}: no cell contains {spec['stop_after']!r}")
    if not replaced:
        raise SystemExit(f"{spec['notebook']}: no cell contains the line {old!r}")
    cells.append(nbformat.v4.new_code_cell(f"OUT = {str(out)!r}\n" + spec["dump"]))
    nb.cells = cells
    return nb


def code_path() -> str:
    """The name of the CPU code path (tests/portability.py) this process runs on."""
    matches = [name for name, variables in CPU_PATHS.items()
               if variables and all(os.environ.get(k) == v for k, v in variables.items())]
    return max(matches, key=lambda name: len(CPU_PATHS[name]), default="native")


def run(name: str, seeds: list[int], out_dir: Path) -> None:
    spec = SWEEPS[name]
    path_name = code_path()
    out_dir.mkdir(parents=True, exist_ok=True)
    groups = [[s] for s in seeds] if spec["per_run"] else [seeds]
    with tempfile.TemporaryDirectory() as cache:
        os.environ["FASLEARN_CACHE"] = cache  # the benchmark rendered on this code path
        for group in groups:
            label = f"{group[0]}-{group[-1]}" if len(group) > 1 else str(group[0])
            out = out_dir / f"nb{name}-{path_name}-seeds{label}.json"
            if out.is_file():
                print(f"{out.name}: already measured", flush=True)
                continue
            start = time.perf_counter()
            nb = build(spec, group, out)
            NotebookClient(nb, timeout=3600, kernel_name="python3",
                           resources={"metadata": {"path": str(REPO / "notebooks")}}).execute()
            print(f"{out.name}: {time.perf_counter() - start:.0f} s", flush=True)


# --- the lessons, as the notebooks state them: (statement, statistic of one group of runs, margin) ---

def nb01_lessons(runs: dict, seeds) -> list[tuple[str, float, float]]:
    """Notebook 01, section 7, on one group of seeds (as many as the notebook trains): its lessons, and
    (marked "not stated") the test-HTER gap, which held too rarely to be one."""
    def mean(model, key):
        return 100 * np.mean([runs[f"{model}|{s}"][key] for s in seeds])

    cdc, plain = "CDC θ=0.7", "plain conv"
    return [("cell 33: seeds on which CDC has the lower test HTER (lesson: at least 2)",
             sum(runs[f"{cdc}|{s}"]["test_hter"] < runs[f"{plain}|{s}"]["test_hter"] for s in seeds), 2),
            ("cell 34: plain conv's mean dev ACER minus CDC's (points; lesson: above 0)",
             mean(plain, "dev_acer") - mean(cdc, "dev_acer"), 1e-9),
            ("cell 34: the same, negated (points; lesson: below 5)",
             -(mean(plain, "dev_acer") - mean(cdc, "dev_acer")), -5.0 + 1e-9),
            ("not stated: CDC's mean test AUC minus plain conv's (points; > 0)",
             mean(cdc, "test_auc") - mean(plain, "test_auc"), 1e-9),
            ("not stated: plain conv's mean test HTER minus CDC's (points; > 0)",
             mean(plain, "test_hter") - mean(cdc, "test_hter"), 1e-9),
            ("not stated: seeds on which CDC has the lower test HTER (at least 3)",
             sum(runs[f"{cdc}|{s}"]["test_hter"] < runs[f"{plain}|{s}"]["test_hter"] for s in seeds), 3)]


def report(folder: Path) -> None:
    files = sorted(folder.glob("nb*.json"))
    if not files:
        raise SystemExit(f"no measurements in {folder}")
    by_path = {}
    for f in files:
        notebook, path = f.stem.split("-")[:2]
        by_path.setdefault((notebook, path), []).append(json.loads(f.read_text()))
    for (notebook, path), found in sorted(by_path.items()):
        print(f"\n== notebook {notebook[2:]}, {path}: {len(found)} file(s)")
        if notebook == "nb01":
            merged = {k: v for d in found for k, v in d.items()}
            seeds = sorted({int(k.split("|")[1]) for k in merged})
            for model in ("plain conv", "CDC θ=0.7"):
                values = np.array([[100 * merged[f"{model}|{s}"][k] for k in ("dev_acer", "test_hter", "test_auc")]
                                   for s in seeds])
                print(f"{model:<11} over {len(seeds)} seeds: dev ACER {fmt(values[:, 0])}; "
                      f"test HTER {fmt(values[:, 1])}; test AUC {fmt(values[:, 2])}")
            stalls = [s for s in seeds if merged[f"plain conv|{s}"]["dev_acer"] > 0.15
                      or merged[f"CDC θ=0.7|{s}"]["dev_acer"] > 0.15]
            print(f"seeds with a dev ACER above 15 % (a stalled run): {stalls or 'none'}")
            size = SWEEPS["01"]["group"]
            groups = list(itertools.combinations(seeds, size))
            print_lessons([nb01_lessons(merged, g) for g in groups],
                          f"{len(groups)} groups of {size} seeds out of {len(seeds)}")
        elif notebook == "nb00":
            stats = [nb00_lessons(run["results"]) for run in found]
            for name in found[0]["audit"]:
                print(f"shortcut audit, mean test AUC, {name}: {fmt([run['audit'][name] for run in found], 3)}")
            print_lessons(stats, f"{len(found)} world seeds")


def nb00_lessons(rows: list[dict]) -> list[tuple[str, float, float]]:
    """Notebook 00, section 10 (LBP + SVM), on one rendered world: its lessons, with the notebook's margins."""
    intra = [r for r in rows if r["protocol"] == "intra-domain"]
    loo = [r for r in rows if r["protocol"] == "leave-one-domain-out"]
    highest_intra = max(r["ci"][1] for r in intra)
    return [
        ("cell 37: mean HTER, leave-one-out / intra-domain",
         np.mean([r["hter"] for r in loo]) / max(np.mean([r["hter"] for r in intra]), 1e-9), 3.0),
        ("cell 40: unseen targets whose HTER interval lies above every intra-domain one",
         sum(r["ci"][0] > highest_intra for r in loo), 1),
        ("cell 42: results whose max APCER is >= 5 points above their pooled APCER",
         sum(r["apcer"] - r["apcer_pooled"] >= 0.05 for r in rows), 1),
        ("cell 44: domains with BPCER at APCER 5 % at most 25 % (of 4), intra-domain",
         sum(r["bpcer_at_apcer"]["0.05"] <= 0.25 for r in intra), 4),
        ("cell 44: unseen domains with BPCER at APCER 5 % above 50 %",
         sum(r["bpcer_at_apcer"]["0.05"] > 0.50 for r in loo), 1),
        ("cell 46: results in which the mask gets through more often than the worst seen species",
         sum(r["unseen_accepted"]["mask_3d"] > r["apcer"] for r in rows), 6),
        ("cell 48: unseen domains whose FAR and FRR at the dev threshold are >= 20 points apart",
         sum(abs(r["apcer_pooled"] - r["bpcer"]) >= 0.20 for r in loo), 1),
    ]


def fmt(values, digits: int = 1) -> str:
    mean, sd, low, high = np.mean(values), np.std(values), np.min(values), np.max(values)
    return f"{mean:.{digits}f} ± {sd:.{digits}f} [{low:.{digits}f}, {high:.{digits}f}]"


def print_lessons(stats: list, what: str) -> None:
    if not stats:
        print(f"no lessons over {what}: measure more seeds")
        return
    print(f"lessons over {what}: statistic mean ± sd [min, max], margin, share of groups where it holds")
    for i, (statement, _, margin) in enumerate(stats[0]):
        values = np.array([s[i][1] for s in stats], dtype=float)
        held = np.mean(values >= margin)
        print(f"  {statement:<90} {fmt(values, 2):>30}  margin {margin:g}  holds {100 * held:.1f} %")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("notebook", nargs="?", choices=sorted(SWEEPS), help="which notebook's training to measure")
    parser.add_argument("--seeds", default="0-9", help="e.g. 0-19 or 0,4,7 (default 0-9)")
    parser.add_argument("--out", type=Path, default=REPO / "runs" / "lessons")
    parser.add_argument("--report", type=Path, metavar="DIR", help="report on the files in DIR instead of running")
    args = parser.parse_args(argv)
    if args.report:
        report(args.report)
        return 0
    if args.notebook is None:
        parser.error("name a notebook (00 or 01), or pass --report DIR")
    run(args.notebook, parse_seeds(args.seeds), args.out.resolve())  # the kernel runs in notebooks/
    return 0


if __name__ == "__main__":
    sys.exit(main())
