"""Run a sweep of training notebooks with papermill, then collect a compact results file.

    python scripts/run_sweep.py notebooks/training/configs/course_sweep.yaml
    python scripts/run_sweep.py notebooks/training/configs/course_sweep.yaml --shard 1/2   # the odd runs
    python scripts/run_sweep.py notebooks/training/configs/course_sweep.yaml --collect results.json

The YAML file names the notebook, the folder of the runs, the parameters shared by every run
(``defaults``) and a ``grid``: each entry's list-valued parameters are crossed (a product), its
scalars fixed. Runs with the same parameters are run once. Each run writes its executed notebook,
checkpoints and ``results.json`` to ``<output_root>/<name>/``; a run whose ``results.json`` exists
is skipped, and an interrupted one resumes from its last epoch. Runs go seed by seed, so a sweep cut
short still has every configuration at the first seeds.

``--collect`` writes the scores of every finished run in one JSON file: scores rounded to float16
precision, and the labels, attack species and video ids once per protocol (every run of a
protocol scores the same dev and test frames, in the same order).
"""
import argparse
import itertools
import json
import sys
import time
from pathlib import Path

import numpy as np
import papermill
import yaml

REPO = Path(__file__).resolve().parent.parent


def expand(config: dict) -> dict[str, dict]:
    """{run name: parameters} of every grid entry, ordered by seed."""
    runs = {}
    for entry in config["grid"]:
        keys = list(entry)
        values = [v if isinstance(v, list) else [v] for v in entry.values()]
        for combination in itertools.product(*values):
            parameters = {**config.get("defaults", {}), **dict(zip(keys, combination))}
            runs.setdefault(run_name(parameters), parameters)
    return dict(sorted(runs.items(), key=lambda item: item[1].get("seed", 0)))


def run_name(p: dict) -> str:
    """e.g. cdcn-leave_one_out-night-theta0.7-width0.125-seed0 (the target only for the course data)"""
    name = f"{p['model']}-{p['protocol']}"
    if p.get("dataset", "faslearn") == "faslearn":
        name += f"-{p['target']}"
    if p["model"] != "resnet18":
        name += f"-theta{p['theta']}-width{p['width']}"
    return f"{name}-seed{p['seed']}"


def run_all(config: dict, runs: dict[str, dict]) -> None:
    notebook = REPO / config["notebook"]
    root = REPO / config["output_root"]
    for i, (name, parameters) in enumerate(runs.items(), 1):
        folder = root / name
        if (folder / "results.json").is_file():
            print(f"[{i}/{len(runs)}] {name}: done, skipped", flush=True)
            continue
        folder.mkdir(parents=True, exist_ok=True)
        start = time.perf_counter()
        papermill.execute_notebook(notebook, folder / notebook.name,
                                   parameters={**parameters, "output_dir": str(folder)},
                                   cwd=notebook.parent, kernel_name="python3", progress_bar=False)
        hter = json.loads((folder / "results.json").read_text())["metrics"]["hter"]
        print(f"[{i}/{len(runs)}] {name}: test HTER {100 * hter:.1f}% ({time.perf_counter() - start:.0f} s)",
              flush=True)


def float16_list(values) -> list[float]:
    """Scores at float16 precision, printed with the fewest digits that read back the same."""
    return [float(str(v)) for v in np.asarray(values, dtype=np.float16)]


def collect(config: dict, runs: dict[str, dict], config_path: Path, out: Path) -> None:
    root = REPO / config["output_root"]
    splits, collected = {}, {}
    for name, parameters in runs.items():
        path = root / name / "results.json"
        if not path.is_file():
            continue
        result = json.loads(path.read_text())
        for split, data in result["splits"].items():
            shared = {k: data[k] for k in ("labels", "pai", "video")}
            known = splits.setdefault(parameters["protocol"], {}).setdefault(split, shared)
            if known != shared:
                raise ValueError(f"{name}: its {split} frames differ from the other "
                                 f"{parameters['protocol']} runs'; was the benchmark re-rendered?")
        collected[name] = {
            "parameters": result["parameters"],
            "train_seconds": round(result["train_seconds"], 1),
            "history": [{k: round(v, 4) if isinstance(v, float) else v for k, v in record.items()
                         if k in ("epoch", "train_loss", "dev_loss", "test_hter", "test_auc")}
                        for record in result["history"]],
            "scores": {split: float16_list(data["scores"]) for split, data in result["splits"].items()},
        }
    made_by = f"python scripts/run_sweep.py {config_path.resolve().relative_to(REPO)} --collect {out}"
    out.write_text(json.dumps({"made_by": made_by, "config": config, "splits": splits, "runs": collected},
                              separators=(",", ":")))
    print(f"collected {len(collected)}/{len(runs)} runs into {out} ({out.stat().st_size / 1024:.0f} KiB)")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("config", type=Path, help="sweep YAML file")
    parser.add_argument("--collect", type=Path, help="only gather the finished runs into this JSON file")
    parser.add_argument("--shard", default="0/1", help="run only share i of n, e.g. 1/2 (one process per core)")
    parser.add_argument("--dry-run", action="store_true", help="list the runs and stop")
    args = parser.parse_args(argv)
    if not args.config.is_file():
        parser.error(f"expected a sweep YAML file, not found: {args.config}")
    index, count = (int(n) for n in args.shard.split("/"))
    if not 0 <= index < count:
        parser.error(f"--shard must be i/n with 0 <= i < n, got {args.shard}")
    config = yaml.safe_load(args.config.read_text())
    runs = expand(config)
    if not args.collect:
        runs = dict(list(runs.items())[index::count])
    if args.dry_run:
        for name in runs:
            print(name)
        print(f"{len(runs)} runs")
    elif args.collect:
        collect(config, runs, args.config, args.collect)
    else:
        run_all(config, runs)
    return 0


if __name__ == "__main__":
    sys.exit(main())
