"""Run one method over the benchmark's protocols and tabulate the results.

A *method* is any function ``method(benchmark, rows) -> (dev_scores, test_scores)`` where
``rows`` holds the ``train``/``dev``/``test`` row indices of one protocol: it trains on the train
rows however it likes and scores the dev and test rows. The threshold is then always chosen on
dev (``faslearn.metrics.evaluate``), so every model in the course is compared the same way.

The shortcut audit uses the same runner: ``feature_classifier(border_ring_statistics(frames))``
is a method that sees only the outer ring of each crop, ``colour_statistics`` only global colour.
A benchmark whose attacks can be told apart that way teaches shortcuts, not anti-spoofing, unless
the same statistics separate as well anywhere else in the crop: a print or a screen usually fills
the whole crop, so its ring shows the medium itself. The control, the ring one width further in
(``inset=1``), tells the two apart.
"""
import inspect
import json
from pathlib import Path
from typing import Callable

import numpy as np
from sklearn.ensemble import HistGradientBoostingClassifier
from threadpoolctl import threadpool_limits

from .data import ATTACKS, Benchmark
from .metrics import bootstrap_ci, bpcer_at_apcer, eer, evaluate, pad_metrics

DFG_STRENGTH = 0.5  # the strength of the DFG's cue in train_oanet.ipynb's defaults (a test holds the two equal)
PROTOCOL_LABELS = {"intra": "intra-domain", "leave_one_out": "leave-one-domain-out",
                   "unseen_attack": "unseen attack species"}


def run_protocols(benchmark: Benchmark, method: Callable, protocols: tuple[str, ...] = ("intra", "leave_one_out"),
                  targets: list[str] | None = None) -> list[dict]:
    """One result row per (protocol, target domain): dev-threshold metrics on the test rows."""
    results = []
    for protocol in protocols:
        for target in targets or (ATTACKS if protocol == "unseen_attack" else benchmark.config.domains):
            rows = benchmark.protocol(protocol, target)
            dev_scores, test_scores = method(benchmark, rows)
            metrics = evaluate(dev_scores, benchmark.label[rows["dev"]], test_scores, benchmark.label[rows["test"]],
                               benchmark.pai[rows["test"]])
            # (metrics["protocol"] says "dev_threshold"; here the key names the data protocol instead)
            results.append({**metrics, "protocol": PROTOCOL_LABELS[protocol], "target": target,
                            "test_scores": np.asarray(test_scores)})
    return results


def results_table(rows: list[dict],
                  keys: tuple[str, ...] = ("hter", "acer", "apcer", "apcer_pooled", "bpcer", "auc")) -> str:
    """A fixed-width text table in %, one decimal."""
    header = f"{'protocol':<22}{'target':<10}" + "".join(f"{k.upper():>14}" for k in keys)
    lines = [header, "-" * len(header)]
    for r in rows:
        lines.append(f"{r['protocol']:<22}{r['target']:<10}" + "".join(f"{100 * r[k]:>14.1f}" for k in keys))
    for protocol in dict.fromkeys(r["protocol"] for r in rows):
        subset = [r for r in rows if r["protocol"] == protocol]
        lines.append(f"{protocol:<22}{'mean':<10}" + "".join(f"{100 * np.mean([r[k] for r in subset]):>14.1f}"
                                                            for k in keys))
    return "\n".join(lines)


def border_ring_statistics(frames: np.ndarray, fraction: float = 1 / 8, inset: int = 0) -> np.ndarray:
    """Per side of each (N, S, S, 3) frame's outer ring (``fraction`` of S wide): the channel means,
    the channel spreads and the mean absolute gradient, (N, 28). Nothing of the face's centre.

    ``inset`` moves the ring that many ring widths in from the crop's edge (1: the ring just inside
    the outer one, which the shortcut audit uses as its control)."""
    frames = np.asarray(frames, dtype=np.float32)
    width = max(1, round(frames.shape[1] * fraction))
    if inset:
        if 2 * (inset + 1) * width > frames.shape[1]:
            raise ValueError(f"a ring {inset} widths in does not fit in a {frames.shape[1]} px crop")
        frames = frames[:, inset * width:-inset * width, inset * width:-inset * width]
    sides = (frames[:, :width], frames[:, -width:], frames[:, :, :width], frames[:, :, -width:])
    columns = []
    for side in sides:
        gray = side.mean(axis=-1)
        gradient = np.abs(np.diff(gray, axis=1)).mean(axis=(1, 2)) + np.abs(np.diff(gray, axis=2)).mean(axis=(1, 2))
        columns += [side.mean(axis=(1, 2)), side.std(axis=(1, 2)), gradient[:, None]]
    return np.concatenate(columns, axis=1)


def colour_statistics(frames: np.ndarray,
                      percentiles: tuple[float, ...] = (1, 5, 25, 50, 75, 95, 99)) -> np.ndarray:
    """Per channel of each (N, S, S, 3) frame: mean, spread and percentiles over all pixels, (N, 27)."""
    pixels = np.asarray(frames, dtype=np.float32).reshape(len(frames), -1, 3)
    quantiles = np.percentile(pixels, percentiles, axis=1)  # (P, N, 3)
    return np.concatenate([pixels.mean(axis=1), pixels.std(axis=1), *quantiles], axis=1)


def feature_classifier(features: np.ndarray,
                       seed: int = 0) -> Callable[[Benchmark, dict], tuple[np.ndarray, np.ndarray]]:
    """A method for ``run_protocols``: gradient-boosted trees on precomputed per-row ``features``."""

    def method(benchmark, rows):
        trees = HistGradientBoostingClassifier(max_iter=200, random_state=seed)
        trees.fit(features[rows["train"]], benchmark.label[rows["train"]])
        return trees.decision_function(features[rows["dev"]]), trees.decision_function(features[rows["test"]])

    return method


def shortcut_audit(benchmark: Benchmark) -> dict[str, dict[str, float]]:
    """Test AUC per domain (intra-domain protocol) of gradient-boosted trees that see only a shortcut:
    ``{"border ring": {domain: auc}, "global colour": {...}, "inner ring": {...}}``, the last the
    control: the border ring's statistics one ring width further in. One thread: trees on a few
    hundred rows gain little from more, and OpenMP threads crawl on busy cores."""
    frames = benchmark.frames[:, 0]
    audit = {}
    with threadpool_limits(limits=1):
        for name, features in (("border ring", border_ring_statistics(frames)),
                               ("global colour", colour_statistics(frames)),
                               ("inner ring", border_ring_statistics(frames, inset=1))):
            rows = run_protocols(benchmark, feature_classifier(features), protocols=("intra",))
            audit[name] = {r["target"]: r["auc"] for r in rows}
    return audit


def sweep_metrics(sweep: dict, scores: dict | None = None) -> list[dict]:
    """One dict per run of a collected sweep (`faslearn.pretrained.load_results`, layout in
    scripts/run_sweep.py): the run's name, parameters and ``frames`` key, its test metrics at the dev
    EER threshold (`metrics.evaluate`), ``bpcer_at_apcer5`` and its ``test_scores`` array.

    ``scores`` ({name: {"dev": ..., "test": ..., "frames": key}}) evaluates other score sets the same
    way, e.g. the fused scores of two runs.
    """
    if scores is None:
        scores = {name: {**run["scores"], "frames": run["frames"]} for name, run in sweep["runs"].items()}
    rows = []
    for name, run in scores.items():
        frames = sweep["splits"][run["frames"]]  # the dev and test clips this run scored
        dev, test = frames["dev"], frames["test"]
        metrics = evaluate(run["dev"], dev["labels"], run["test"], test["labels"], test["pai"])
        operating = bpcer_at_apcer(run["test"], test["labels"], test["pai"], apcer=0.05)
        parameters = sweep["runs"][name]["parameters"] if name in sweep["runs"] else {}
        # the run's parameters last: their "protocol" is the data protocol, not evaluate's "dev_threshold"
        rows.append({**metrics, "bpcer_at_apcer5": operating["bpcer"], "test_scores": np.asarray(run["test"]),
                     **parameters, "name": name, "frames": run["frames"]})
    return rows


def paired_gap(sweep: dict, rows_a: list[dict], rows_b: list[dict], key: str = "hter", n_boot: int = 500,
               seed: int = 0) -> dict:
    """How much lower configuration A's mean test ``key`` is than B's (in points, B − A), with a 95 % paired
    bootstrap interval over test identities.

    ``rows_a`` and ``rows_b`` are `sweep_metrics` rows (any seeds and targets). The mean is over all of a
    configuration's runs, each at its own dev threshold; with ``rows_a`` empty the result is B's own mean and its
    interval. Every run of A and of B scored the test presentations
    of its ``frames`` key; the bootstrap draws identities from all those keys together (each person belongs to
    one domain) and both configurations are scored on the same draw, so what is shared cancels.
    Returns {"gap", "low", "high", "n_a", "n_b"}.
    """
    keys = sorted({row["frames"] for row in rows_a + rows_b})
    labels, pai, people, where = [], [], [], {}
    for k in keys:
        test = sweep["splits"][k]["test"]
        where[k] = slice(len(labels), len(labels) + len(test["labels"]))
        labels += list(test["labels"])
        pai += list(test["pai"])
        people += [f"{k}/{video.split('/')[1]}" if video.count("/") >= 2 else f"{k}/{video}"
                   for video in test["video"]]
    frame_key = np.repeat(np.arange(len(keys)), [where[k].stop - where[k].start for k in keys])

    def stack(rows):  # one column per run, its scores on its own key's rows (NaN elsewhere)
        out = np.full((len(labels), len(rows)), np.nan)
        for j, row in enumerate(rows):
            out[where[row["frames"]], j] = row["test_scores"]
        return out

    def mean_metric(rows, scores, labels, pai, frame_key):
        if not rows:  # no A: the "gap" is B's own mean, and the interval B's
            return 0.0
        return np.mean([pad_metrics(scores[frame_key == keys.index(row["frames"]), j],
                                    labels[frame_key == keys.index(row["frames"])], row["threshold"],
                                    pai[frame_key == keys.index(row["frames"])])[key]
                        for j, row in enumerate(rows)])

    def gap(scores_a, scores_b, labels, pai, frame_key):
        return 100 * (mean_metric(rows_b, scores_b, labels, pai, frame_key)
                      - mean_metric(rows_a, scores_a, labels, pai, frame_key))

    arrays = (stack(rows_a), stack(rows_b), np.asarray(labels), np.asarray(pai), frame_key)
    low, high = bootstrap_ci(gap, np.asarray(people), *arrays, n_boot=n_boot, seed=seed)
    return {"gap": float(gap(*arrays)), "low": low, "high": high, "n_a": len(rows_a), "n_b": len(rows_b)}


# The course's benchmark: every trained run side by side on the same leave-one-domain-out splits (AG-FAS's
# Table I in miniature). Runs come as collected sweeps ({"splits", "runs"}, scripts/run_sweep.py) or as run
# folders; `benchmark` groups them by method and prints one row per method.


def run_as_sweep(folder: str | Path) -> dict:
    """A finished training run's folder (its ``results.json``) as a one-run sweep, like a collected sweep."""
    from .runs import read_results
    from .sweeps import frames_key

    folder = Path(folder)
    path = folder / "results.json"
    if not path.is_file():
        raise FileNotFoundError(f"no results.json in {folder}: expected the output_dir of a finished "
                                "train_oanet.ipynb or train_cdcn.ipynb run, or a collected sweep's JSON file")
    result = read_results(path)
    if "splits" not in result:
        raise ValueError(f"{path} holds no dev and test scores (splits): not a classifier's run")
    parameters = result["parameters"]
    key = frames_key(parameters)
    splits = {split: {k: data[k] for k in ("labels", "pai", "video")} for split, data in result["splits"].items()}
    run = {"parameters": parameters, "frames": key, "history": result.get("history", []),
           "scores": {split: data["scores"] for split, data in result["splits"].items()}}
    return {"splits": {key: splits}, "runs": {str(folder): run}}


def read_sweep(source: str | Path) -> dict:
    """A collected sweep by shipped name (`faslearn.pretrained`), a collected sweep's JSON file, or a run folder."""
    from . import pretrained

    if isinstance(source, str) and source in pretrained.REGISTRY and not Path(source).exists():
        return pretrained.load_results(source)
    path = Path(source)
    if path.is_dir():
        return run_as_sweep(path)
    if not path.is_file():
        raise FileNotFoundError(f"{source}: expected a run folder, a collected sweep's .json file or a shipped "
                                f"results name ({', '.join(n for n in pretrained.REGISTRY if n.endswith('sweep'))})")
    try:
        sweep = json.loads(path.read_text())
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise ValueError(f"{path} is not a collected sweep (JSON): {' '.join(str(error).split())}") from None
    if not isinstance(sweep, dict) or not isinstance(sweep.get("runs"), dict) or not isinstance(sweep.get("splits"),
                                                                                                 dict):
        raise ValueError(f"{path} is not a collected sweep: expected a JSON object with 'splits' and 'runs'")
    return sweep


def merge_sweeps(sweeps: list[dict]) -> dict:
    """Several sweeps as one: their runs together; a frames key two sweeps share must name the same frames, rendered
    with the same world settings (``RENDER_SETTINGS``: difficulty, moiré, clutter, colour management)."""
    from .data.world.benchmark import RENDER_SETTINGS

    merged, worlds = {"splits": {}, "runs": {}}, {}
    for sweep in sweeps:
        for name, run in sweep["runs"].items():  # one frames key, one world: the runs' render settings agree
            world = tuple(run["parameters"].get(k) for k in RENDER_SETTINGS)
            if worlds.setdefault(run["frames"], world) != world:
                raise ValueError(f"run {name!r} scored {run['frames']} on another world "
                                 f"({dict(zip(RENDER_SETTINGS, world))} against "
                                 f"{dict(zip(RENDER_SETTINGS, worlds[run['frames']]))})")
        for key, splits in sweep["splits"].items():
            known = merged["splits"].setdefault(key, splits)
            if any(known.get(s, {}).get("labels") != splits[s]["labels"] for s in splits if s in known):
                raise ValueError(f"two sweeps scored different {key} frames (was the benchmark re-rendered?)")
            merged["splits"][key] = {**splits, **known}
        for name, run in sweep["runs"].items():
            if name in merged["runs"]:
                raise ValueError(f"run {name!r} appears in two sweeps")
            merged["runs"][name] = run
    return merged


def fuse_two_stream(sweep: dict) -> dict:
    """The two-stream model's runs (§3.4 of arXiv 2108.04032: the two branches trained apart, their scores summed).

    Every multi-frame run pairs with the RGB-difference run trained with the same settings, target and seed (each
    with the paper's feature pyramid, ``fpm="paper"`` or its direction spelled out, `faslearn.models.PAPER_FPM`, and
    pyramid pooling); where a run ran (device, threads, workers, crop cache, output folder) does not matter. The pair
    becomes one run, branch ``"two_stream"``, whose scores on every split are Σ σ(logit) (`faslearn.models.fuse_scores`)
    and whose ``members`` name the two runs. Other runs and unpaired branches are left out.

    Args:
        sweep: collected `train_two_stream.ipynb` runs (`read_sweep`, `merge_sweeps`).

    Returns:
        a sweep (the same ``splits``, the fused ``runs``) that `benchmark` and `sweep_metrics` read.
    """
    import torch

    from .models import PAPER_FPM, TWO_STREAM_BRANCHES, fuse_scores

    where = ("branch", "fpm", "output_dir", "device", "cpu_threads", "num_workers", "crop_cache", "mixed_precision")
    pairs: dict[str, dict] = {}
    for name, run in sweep["runs"].items():
        p = run["parameters"]
        branch = p.get("branch")
        if branch in TWO_STREAM_BRANCHES and p.get("fpm") in ("paper", PAPER_FPM[branch]) and p.get("ppm") is True:
            shared = json.dumps({k: v for k, v in p.items() if k not in where}, sort_keys=True)
            pair = pairs.setdefault(shared, {})
            if branch in pair:
                raise ValueError(f"{pair[branch][0]!r} and {name!r} are the same {branch} run (settings, target "
                                 "and seed): which one is the two-stream model's?")
            pair[branch] = (name, run)
    runs = {}
    for pair in pairs.values():
        if len(pair) < len(TWO_STREAM_BRANCHES):
            continue
        (frame_name, frame), (motion_name, motion) = pair["multi_frame"], pair["rgb_difference"]
        if frame["frames"] != motion["frames"]:
            raise ValueError(f"{frame_name!r} and {motion_name!r} scored different clips "
                             f"({frame['frames']} against {motion['frames']})")
        scores = {split: fuse_scores(torch.tensor(frame["scores"][split], dtype=torch.float32),
                                     torch.tensor(motion["scores"][split], dtype=torch.float32)).tolist()
                  for split in frame["scores"]}
        runs[f"{frame_name} + {motion_name}"] = {
            "parameters": {**frame["parameters"], "branch": "two_stream", "fpm": None},
            "frames": frame["frames"], "history": [], "scores": scores, "members": [frame_name, motion_name]}
    return {"splits": sweep["splits"], "runs": runs}


def _weights_name(parameters: dict) -> str:
    """" (λ adversarial 0.5)" for a run whose loss weights differ from its objective's defaults (the keyword
    defaults of `faslearn.losses.ssdg_objective` / `dann_objective`: SSDG's official config), else ""."""
    from faslearn.losses import dann_objective, ssdg_objective

    make = {"ssdg": ssdg_objective, "dann": dann_objective}.get(parameters.get("objective", "erm"))
    defaults = {} if make is None else {key: p.default for key, p in inspect.signature(make).parameters.items()
                                        if key.startswith("lambda_")}
    changed = [f"{key.removeprefix('lambda_')} {parameters[key]:g}" for key, value in defaults.items()
               if key in parameters and float(parameters[key]) != value]
    return f" (λ {', '.join(changed)})" if changed else ""


def method_name(parameters: dict) -> str:
    """A run's row in the benchmark: its network, cue, start, objective and data, e.g. "ViT", "ViT + SSDG",
    "OA-Net (energy cue) + SSDG", "OA-Net (energy cue, strength 0.25)", "ViT (pre-trained)", "CLIP ViT",
    "ViT + SSDG + pool faces", "ViT, studio+office in"."""
    if "variant" in parameters:  # train_oanet.ipynb
        network = {"only_image": "ViT", "only_residual": "ViT on the cue", "dual_branch": "dual-branch",
                   "oanet": "OA-Net", "resnet18": "ResNet-18"}.get(parameters["variant"], parameters["variant"])
        if parameters["variant"] not in ("only_image", "resnet18"):
            source, details = parameters.get("cue_source", "dfg"), []
            if source != "dfg":
                details.append(f"{source} cue")
            elif parameters.get("cue_form", "residual") != "residual":
                details.append(f"{parameters['cue_form']} cue")
            if source == "dfg" and parameters.get("strength", DFG_STRENGTH) != DFG_STRENGTH:
                details.append(f"strength {parameters['strength']:g}")  # Table VI's rows: not the default's row
            network += f" ({', '.join(details)})" if details else ""
        if parameters.get("vit_style") == "clip":
            network = "CLIP " + network
        elif parameters.get("pretrained_vit"):
            network += " (pre-trained)"
        objective = parameters.get("objective", "erm")
        name = network if objective == "erm" else f"{network} + {objective.upper()}" + _weights_name(parameters)
        name += " + pool faces" if parameters.get("pool_faces") else ""
        return name + (f", {parameters['sources']} in" if parameters.get("sources") else "")
    if "branch" in parameters:  # train_two_stream.ipynb; "two_stream": both branches fused (`fuse_two_stream`)
        from .models.two_stream import PAPER_FPM

        branch, details = parameters["branch"], []
        if branch != "two_stream":
            if parameters.get("fpm", "paper") not in ("paper", PAPER_FPM.get(branch)):
                fpm = parameters["fpm"]
                details.append("no FPM" if fpm == "none" else f"{fpm.replace('_', '-')} FPM")
            if parameters.get("ppm") is False:
                details.append("no PPM")
        if parameters.get("optimizer", "adamw") != "adamw":
            details.append(str(parameters["optimizer"]).upper())
        if parameters.get("augment"):
            details.append("augmented")
        if parameters.get("max_train_samples"):
            details.append(f"{parameters['max_train_samples']} clips")
        name = "two-stream" if branch == "two_stream" else f"two-stream {branch}"
        return name + (f" ({', '.join(details)})" if details else "")
    model = parameters.get("model")
    name = {"cdcn": "CDCN (depth)", "cdcn_binary": "CDCN binary", "multitask": "CDCN multi-task",
            "resnet18": "ResNet-18"}.get(model, str(model))
    if model in ("cdcn", "cdcn_binary", "multitask") and parameters.get("theta", 0.7) != 0.7:
        name += f", θ {parameters['theta']:g}"  # notebook 02's θ sweep: not the default's row
    if parameters.get("max_train_samples"):  # a subset of the training presentations (0: all of them)
        name += f", {parameters['max_train_samples']} presentations"
    return name


def target_name(parameters: dict) -> str:
    """What a run was tested on: the course benchmark's target domain, or a real dataset's protocol (e.g.
    "O&C&I->M", whose target is the dataset after the arrow)."""
    if parameters.get("dataset", "faslearn") == "faslearn":
        return parameters["target"]
    return str(parameters["protocol"])


def _legacy_best(run: dict) -> float | None:
    """The legacy protocol's number: the lowest test EER over the run's epochs (threshold and checkpoint on test)."""
    values = [record["test_eer"] for record in run.get("history", []) if "test_eer" in record]
    return min(values) if values else None


def benchmark(sweep: dict, method: Callable[[dict], str] = method_name, n_boot: int = 200,
              seed: int = 0) -> list[dict]:
    """AG-FAS's Table I in miniature: one row per method, over every target and seed it was run on.

    Each run is scored at the EER threshold of its own sources' dev scores (`metrics.evaluate`). A method's
    ``hter``, ``acer`` and ``auc`` are means over its targets; ``*_sd`` is the spread over seeds of that mean
    (each seed's runs averaged over targets); ``low``/``high`` is a 95 % bootstrap interval of the mean HTER over
    test identities (pooled over all the method's runs, each seed weighing by its runs); ``targets`` maps each target
    (`target_name`: a domain, or a real dataset's protocol) to its mean HTER over seeds. ``legacy_hter`` is the same
    runs' HTER at each target's own test EER threshold (the protocol of SSDG, FLIP and AG-FAS's code: optimistic) and
    ``legacy_best`` also picks each run's best epoch on the test data (where the run's history kept the test EER).

    Args:
        sweep: collected runs (`read_sweep`, `merge_sweeps`).
        method: parameters → the method's name (default `method_name`).
        n_boot: bootstrap replicates of the interval (0: none).
        seed: the bootstrap's seed.
    """
    rows = [{**row, "target": target_name(row)} for row in sweep_metrics(sweep)]
    groups: dict[str, list[dict]] = {}
    for row in rows:
        groups.setdefault(method(row), []).append(row)
    table = []
    for name, members in groups.items():
        by_seed: dict[int, list[dict]] = {}
        for row in members:
            by_seed.setdefault(row.get("seed", 0), []).append(row)
        entry = {"method": name, "runs": len(members), "seeds": len(by_seed),
                 "targets": {t: float(np.mean([r["hter"] for r in members if r["target"] == t]))
                             for t in dict.fromkeys(r["target"] for r in members)}}
        for key in ("hter", "acer", "auc"):
            per_seed = [np.mean([r[key] for r in runs]) for runs in by_seed.values()]
            entry[key], entry[f"{key}_sd"] = float(np.mean(per_seed)), float(np.std(per_seed, ddof=1)) \
                if len(per_seed) > 1 else 0.0
        legacy = []
        for row in members:
            test = sweep["splits"][row["frames"]]["test"]
            legacy.append(pad_metrics(row["test_scores"], test["labels"],
                                      eer(row["test_scores"], test["labels"])[1], test["pai"])["hter"])
        entry["legacy_hter"] = float(np.mean(legacy))
        best = [_legacy_best(sweep["runs"][row["name"]]) for row in members]
        entry["legacy_best"] = float(np.mean(best)) if all(b is not None for b in best) else None
        if n_boot:
            interval = paired_gap(sweep, [], members, n_boot=n_boot, seed=seed)
            entry["low"], entry["high"] = interval["low"] / 100, interval["high"] / 100
        table.append(entry)
    return table


def benchmark_text(table: list[dict], targets: list[str] | None = None) -> str:
    """`benchmark`'s rows as a fixed-width text table, in %."""
    targets = targets or list(dict.fromkeys(t for entry in table for t in entry["targets"]))
    width = max([26] + [len(e["method"]) + 2 for e in table])
    header = (f"{'method':<{width}}" + "".join(f"{t:>9}" for t in targets)
              + f"{'HTER':>15}{'95% CI':>14}{'ACER':>8}{'AUC':>7}{'legacy':>8}{'seeds':>6}")
    lines = [header, "-" * len(header)]
    for e in table:
        cells = "".join(f"{100 * e['targets'][t]:>9.1f}" if t in e["targets"] else f"{'':>9}" for t in targets)
        interval = f"{100 * e['low']:.1f}–{100 * e['high']:.1f}" if "low" in e else ""
        lines.append(f"{e['method']:<{width}}{cells}{100 * e['hter']:>9.1f} ± {100 * e['hter_sd']:<3.1f}{interval:>14}"
                     f"{100 * e['acer']:>8.1f}{e['auc']:>7.3f}{100 * e['legacy_hter']:>8.1f}{e['seeds']:>6}")
    return "\n".join(lines)
