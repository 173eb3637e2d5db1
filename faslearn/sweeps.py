"""Run a sweep of training notebooks with papermill, then collect a compact results file.

    faslearn train notebooks/training/configs/course_sweep.yaml
    faslearn train notebooks/training/configs/course_sweep.yaml --set epochs=1 --set seed=3
    faslearn train notebooks/training/configs/course_sweep.yaml --shard 1/2   # the odd runs
    faslearn train notebooks/training/configs/course_sweep.yaml --collect results.json

(``python scripts/run_sweep.py ...`` is the same command, for a checkout without the entry point.)

The YAML file names the notebook, the folder of the runs, the parameters shared by every run
(``defaults``) and a ``grid``: each entry's list-valued parameters are crossed (a product), its
scalars fixed; ``--set key=value`` overrides a parameter in every run (the value is read as YAML:
``--set epochs=1`` is an int, ``--set data_root=/data/OULU-NPU`` a string). An optional ``run_name``
template names the runs from their parameters, e.g.
``"{branch}-fpm_{fpm}-ppm_{ppm}-{protocol}-{target}-seed{seed}"`` (default: `run_name`'s rule for
train_cdcn.ipynb). Runs with the same parameters are run once. Each run writes its executed notebook,
checkpoints and ``results.json`` to ``<output_root>/<name>/``; a run whose ``results.json`` exists
is skipped (after checking that it was made with the same parameters), and an interrupted one
resumes from its last epoch. Runs go seed by seed, so a sweep cut short still has every
configuration at the first seeds.

The notebooks run in the Jupyter kernel ``--kernel`` (default ``python3``: with ipykernel
importable, jupyter_client provides it without any ``jupyter kernelspec install``, running this
Python). The kernels get this checkout first on their PYTHONPATH, so they import its faslearn even
where faslearn is not installed.

``--collect`` writes every finished run in one JSON file::

    {"made_by": command, "config": the YAML,
     "splits": {frames key: {"dev" | "test": {"labels", "pai", "video"}}},
     "runs": {run name: {"parameters", "frames" (its key in splits), "model_parameters" (total,
                          backbone, heads), "device_used", "train_seconds",
                          "history": [per epoch: epoch, train_loss, dev_loss, dev_acer, test_hter,
                                      test_acer, test_auc (4 decimals)],
                          "scores": {"dev" | "test": scores, at float16 precision}}}}

The labels, attack species and video ids are stored once per frames key, ``<protocol>-<target>``
for the course data (``<dataset>-<protocol>`` otherwise): every run of a key scores the same dev
and test frames, in the same order. With them, any metric at the dev EER threshold follows from a
run's scores, e.g. ``faslearn.metrics.evaluate`` (HTER, and ACER = (max APCER over the attack
species + BPCER) / 2).
A run that scores no dev/test frames (train_dfg.ipynb) is kept as its ``results.json`` says, every
float to 5 significant digits.
"""
import argparse
import ast
import difflib
import itertools
import json
import keyword
import math
import os
import re
import string
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import yaml
from numpy.typing import ArrayLike

REPO = Path(__file__).resolve().parent.parent


class CommandLineError(ValueError):
    """A malformed ``--set`` or ``--shard``: a usage error (exit status 2), not an unusable file (1)."""


class _NoAliasLoader(yaml.SafeLoader):
    """YAML without anchors and aliases: a config names parameters and values, and nine nested aliases
    ("billion laughs") expand to gigabytes."""

    def compose_node(self, parent, index):  # yaml's own signature
        if self.check_event(yaml.AliasEvent):
            mark = self.peek_event().start_mark
            raise yaml.YAMLError(f"YAML aliases (*name) are not accepted in a sweep config "
                                 f"(line {mark.line + 1}); write the values out")
        return super().compose_node(parent, index)


def _short(value: object, limit: int = 80) -> str:
    """repr(value), cut to ``limit`` characters: a message stays one readable line whatever a file holds."""
    text = repr(value)
    return text if len(text) <= limit else f"{text[:limit]}... ({len(text)} characters)"


def read_config(path: Path) -> dict:
    """The sweep config in ``path``, checked: a mapping that names a notebook, an output_root and a
    non-empty grid of mappings (``defaults`` a mapping too, if given). ValueError, one line, otherwise."""
    try:
        config = yaml.load(path.read_text(), Loader=_NoAliasLoader)  # a SafeLoader
    except yaml.YAMLError as error:
        where = getattr(error, "problem_mark", None)
        at = f" (line {where.line + 1}, column {where.column + 1})" if where is not None else ""
        raise ValueError(f"{path} is not valid YAML{at}: {getattr(error, 'problem', None) or error}") from None
    except (OSError, UnicodeDecodeError) as error:
        raise ValueError(f"cannot read the sweep config {path}: {error}") from None
    expected = "a mapping with notebook, output_root, defaults and grid"
    if not isinstance(config, dict):
        got = type(config).__name__ if config is not None else "nothing"
        raise ValueError(f"{path}: expected {expected}, got {got}")
    missing = [key for key in ("notebook", "output_root", "grid") if key not in config]
    if missing:
        raise ValueError(f"{path}: expected {expected}; missing {', '.join(missing)}")
    grid, defaults = config["grid"], config.get("defaults", {})
    if not isinstance(grid, list) or not grid or not all(isinstance(entry, dict) and entry for entry in grid):
        raise ValueError(f"{path}: grid must be a non-empty list of mappings (parameter: value or list of values)")
    if not isinstance(defaults, dict):
        raise ValueError(f"{path}: defaults must be a mapping of parameter: value, got {type(defaults).__name__}")
    for key in ("notebook", "output_root"):
        if not isinstance(config[key], str) or not config[key]:
            raise ValueError(f"{path}: {key} must be a path, got {_short(config[key])}")
    if "run_name" in config and not isinstance(config["run_name"], str):
        raise ValueError(f"{path}: run_name must be a text template such as \"{{model}}-seed{{seed}}\", got "
                         f"{_short(config['run_name'])}")
    for i, entry in enumerate(grid):
        empty = [key for key, value in entry.items() if value == []]
        if empty:
            raise ValueError(f"{path}: grid entry {i + 1} gives {empty[0]} an empty list; expected at least one "
                             "value")
    return config


def notebook_parameters(notebook: Path) -> dict:
    """{name: default} of the notebook's ``parameters`` cell: the list papermill's --help-notebook shows, each
    default read as a Python literal (never run; ``None`` where it is not a literal)."""
    import warnings

    import papermill

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # papermill warns about what it cannot parse; the line below says it
            parameters = papermill.inspect_notebook(str(notebook))
    except Exception as error:  # nbformat and papermill raise many kinds for a file that is not one
        reason = str(error).splitlines()[0][:200] if str(error) else type(error).__name__
        raise ValueError(f"{notebook} is not a notebook ({reason}); expected a .ipynb file") from None
    defaults = {}
    for name, info in parameters.items():
        try:
            defaults[name] = ast.literal_eval(info["default"])
        except (ValueError, SyntaxError):
            defaults[name] = None
    return defaults


def _type_refusal(value, default) -> str | None:
    """Why ``value`` cannot stand for a parameter whose default is ``default``, or None: a True/False flag
    takes a bool, a whole number an int, a number an int or float, a text a str or an int (``-p protocol 1``)."""
    if default is None:
        return None
    if isinstance(default, bool):
        return None if isinstance(value, bool) else "True or False"
    if isinstance(default, int):
        return None if isinstance(value, int) and not isinstance(value, bool) else "a whole number"
    if isinstance(default, float):
        ok = isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)
        return None if ok else "a finite number"
    if isinstance(default, str):
        return None if isinstance(value, (str, int)) and not isinstance(value, bool) else "a text"
    return None


def check_parameters(config: dict, overrides: dict, declared: dict) -> None:
    """Every parameter a config or ``--set`` names must be a plain identifier that the notebook's
    ``parameters`` cell defines (``declared``, from `notebook_parameters`), with a value of its default's
    type: papermill writes ``name = value`` into the notebook, so a name that is not checked is code.
    ValueError naming the key, where it came from and the nearest valid name (or the type expected). The
    notebook checks ranges itself when it runs."""
    sources = [("--set", overrides), ("defaults", config.get("defaults", {}))]
    sources += [(f"grid entry {i + 1}", entry) for i, entry in enumerate(config["grid"])]
    for where, parameters in sources:
        for key, values in parameters.items():
            error = CommandLineError if where == "--set" else ValueError
            if not isinstance(key, str) or not key.isidentifier() or keyword.iskeyword(key):
                raise error(f"{where}: {_short(key)} is not a parameter name (expected a Python identifier "
                            f"from the notebook's parameters cell)")
            if key not in declared:
                near = difflib.get_close_matches(key, sorted(declared), n=1)
                hint = f"; did you mean {near[0]!r}?" if near else ""
                raise error(f"{where}: unknown parameter {key!r}: the notebook's parameters cell has no "
                            f"such name{hint}")
            for value in values if where.startswith("grid") and isinstance(values, list) else [values]:
                expected = _type_refusal(value, declared[key])
                if expected:
                    raise error(f"{where}: {key} is {_short(value)}, expected {expected} (its default is "
                                f"{declared[key]!r})")


def expand(config: dict, overrides: dict | None = None) -> dict[str, dict]:
    """{run name: parameters} of every grid entry (``overrides`` replacing any parameter), ordered by
    seed. Two runs with one name must have the same parameters (run once); a name shared by different
    parameters is an error."""
    runs = {}
    for entry in config["grid"]:
        keys = list(entry)
        values = [v if isinstance(v, list) else [v] for v in entry.values()]
        for combination in itertools.product(*values):
            parameters = {**config.get("defaults", {}), **dict(zip(keys, combination)), **(overrides or {})}
            name = run_name(parameters, config.get("run_name"))
            if runs.setdefault(name, parameters) != parameters:
                differ = sorted(k for k in {**parameters, **runs[name]} if parameters.get(k) != runs[name].get(k))
                raise ValueError(f"two grid entries make run {name} with different {differ}; "
                                 "runs that differ in these need separate sweeps (output_root)")
    return dict(sorted(runs.items(), key=lambda item: item[1].get("seed", 0)))


def run_name(p: dict, template: str | None = None) -> str:
    """e.g. cdcn_binary-leave_one_out-night-theta0.7-width0.5-seed0 (the target only for the course
    data; θ and width for every registered model that takes them, i.e. all but resnet18), or ``template``
    filled in with the parameters. Other parameters (epochs, batch size, device) are not in the
    name: a sweep that changes them needs its own ``output_root``, and `run_all` refuses a folder
    whose results were made with other parameters."""
    if template:
        for _, field, spec, conversion in string.Formatter().parse(template):
            if field is not None and (not field.isidentifier() or conversion or len(spec or "") > 4):
                raise ValueError(f"run_name template {_short(template)}: {{{field}...}} must be a plain parameter "
                                 "name with at most a short format such as :.1f")
        try:
            return _safe_run_name(_protocol_name(template.format(**p)))
        except KeyError as missing:
            raise ValueError(f"run_name template {template!r} names {missing}, which no run parameter sets") from None
    from faslearn.models.registry import model_entry  # the registry says which models take θ and width

    needed = ["model", "protocol", "seed"] + (["target"] if p.get("dataset", "faslearn") == "faslearn" else [])
    on_cdc = "theta" in model_entry(p["model"]).settings if "model" in p else True
    needed += ["theta", "width"] if on_cdc else []
    missing = [key for key in needed if key not in p]
    if missing:
        raise ValueError(f"a run sets no {', '.join(missing)}, which the default run name needs; set them in the "
                         "config's defaults or grid, or give the config a run_name template")
    name = f"{p['model']}-{_protocol_name(p['protocol'])}"
    if p.get("dataset", "faslearn") == "faslearn":
        name += f"-{p['target']}"
    if on_cdc:
        name += f"-theta{p['theta']}-width{p['width']}"
    return _safe_run_name(f"{name}-seed{p['seed']}")


def _safe_run_name(name: str) -> str:
    """``name`` if it is one folder name that stays inside output_root (letters, digits, . _ - + =, at most
    120 characters, not starting with a dot); ValueError otherwise."""
    if not re.fullmatch(r"[A-Za-z0-9_+=-][A-Za-z0-9._+=-]{0,119}", name):
        raise ValueError(f"run name {_short(name)} is not one folder name (expected letters, digits and . _ - + = "
                         "only, at most 120 characters): check the parameters it is made of")
    return name


def _protocol_name(protocol) -> str:
    """A cross-dataset protocol as part of a folder name: 'O&C&I->M' -> 'OCI-to-M'."""
    return str(protocol).replace("&", "").replace("->", "-to-")


def frames_key(p: dict) -> str:
    """The dev and test frames a run scores: e.g. leave_one_out-night (oulu_npu-1 for other data)."""
    if p.get("dataset", "faslearn") == "faslearn":
        if p.get("sources"):  # limited sources: another dev split
            return f"{p['protocol']}-{p['sources'].replace(',', '+')}-{p['target']}"
        return f"{p['protocol']}-{p['target']}"
    return f"{p['dataset']}-{_protocol_name(p['protocol'])}"


def check_same_parameters(name: str, result: dict, parameters: dict) -> None:
    """Refuse a finished run that was made with other parameters than the sweep asks for."""
    made = result["parameters"]
    differ = {k: (made.get(k), v) for k, v in parameters.items() if k != "output_dir" and made.get(k) != v}
    if differ:
        raise ValueError(f"{name}: its results.json was made with other parameters "
                         f"({', '.join(f'{k}={a!r}, not {b!r}' for k, (a, b) in differ.items())}); "
                         "give this sweep its own output_root, or delete the run's folder")


def kernel_environment() -> None:
    """Put this checkout first on the PYTHONPATH that the kernels inherit."""
    paths = [str(REPO), *filter(None, os.environ.get("PYTHONPATH", "").split(os.pathsep))]
    os.environ["PYTHONPATH"] = os.pathsep.join(dict.fromkeys(paths))


def check_kernel(kernel: str) -> None:
    """Fail before the first run, with the fix, when no Jupyter kernel ``kernel`` can be found."""
    from jupyter_client.kernelspec import KernelSpecManager, NoSuchKernel

    try:
        spec = KernelSpecManager().get_kernel_spec(kernel)
    except NoSuchKernel:
        raise SystemExit(f"no Jupyter kernel named {kernel!r}. For 'python3', make ipykernel importable "
                         f"by {sys.executable} (pip install ipykernel, or its wheels on PYTHONPATH); "
                         "for another name, `python -m ipykernel install --user --name NAME` in the "
                         "environment that has torch and faslearn's dependencies") from None
    print(f"kernel {kernel!r}: {' '.join(spec.argv[:3])}", flush=True)


def repo_path(path: str | Path) -> Path:
    """A config's path, made absolute: as given, or relative to the working directory if it exists there,
    else to this checkout. (Runs execute in the notebook's folder, so a relative path would point elsewhere.)"""
    path = Path(path)
    return path.resolve() if path.is_absolute() or path.exists() else REPO / path


def parse_overrides(pairs: list[str] | None) -> dict:
    """["epochs=1", "data_root=/data"] -> {"epochs": 1, "data_root": "/data"} (values read as YAML)."""
    overrides = {}
    for pair in pairs or ():
        key, sep, value = pair.partition("=")
        if not sep or not key.strip():
            raise CommandLineError(f"--set expects key=value, got {_short(pair)}")
        try:
            overrides[key.strip()] = yaml.load(value, Loader=_NoAliasLoader) if value else ""
        except yaml.YAMLError as error:
            reason = str(getattr(error, "problem", None) or error).splitlines()[0]
            raise CommandLineError(f"--set {key.strip()}: {_short(value)} is not a YAML value ({reason})") from None
    return overrides


def run_all(config: dict, runs: dict[str, dict], kernel: str = "python3") -> None:
    import papermill  # here, not at the top: `faslearn --help` should not wait for it

    from .kernels import steady_kernel_channels

    steady_kernel_channels()  # papermill runs on nbclient: no run may wait forever on a reply

    notebook = repo_path(config["notebook"])
    root = repo_path(config["output_root"])
    if not notebook.is_file():
        raise SystemExit(f"the config names notebook {config['notebook']}, not found here or in {REPO}")
    kernel_environment()
    check_kernel(kernel)
    for i, (name, parameters) in enumerate(runs.items(), 1):
        folder = root / name
        if (folder / "results.json").is_file():
            check_same_parameters(name, json.loads((folder / "results.json").read_text()), parameters)
            print(f"[{i}/{len(runs)}] {name}: done, skipped", flush=True)
            continue
        folder.mkdir(parents=True, exist_ok=True)
        start = time.perf_counter()
        try:
            papermill.execute_notebook(notebook, folder / notebook.name,
                                       parameters={**parameters, "output_dir": str(folder)},
                                       cwd=notebook.parent, kernel_name=kernel, progress_bar=False)
        except papermill.PapermillExecutionError as error:  # the notebook's own message, not 36 lines
            raise SystemExit(f"[{i}/{len(runs)}] {name}: {error.ename}: {error.evalue} "
                             f"(cell {error.exec_count}; the executed notebook is {folder / notebook.name})") from None
        result = json.loads((folder / "results.json").read_text())
        print(f"[{i}/{len(runs)}] {name}: {headline(result)} ({time.perf_counter() - start:.0f} s)", flush=True)


def headline(result: dict) -> str:
    """A run's main figures, in one line: test HTER and ACER for a classifier, the cue's AUC for a DFG."""
    if "metrics" in result:
        return f"test HTER {100 * result['metrics']['hter']:.1f}%, ACER {100 * result['metrics']['acer']:.1f}%"
    return ", ".join(f"{name} cue AUC {check['auc']:.3f}" for name, check in result["cue_check"].items()
                     if name in ("conditioned", "unconditioned"))


# per epoch: enough to see whether the dev loss has flattened and how the test error moved with it (and the test
# EER, which the legacy protocol picks its best epoch by)
HISTORY_KEYS = ("epoch", "train_loss", "dev_loss", "dev_acer", "test_hter", "test_acer", "test_auc", "test_eer")


def float16_list(values: ArrayLike) -> list[float]:
    """Scores at float16 precision, printed with the fewest digits that read back the same."""
    return [float(str(v)) for v in np.asarray(values, dtype=np.float16)]


def significant_digits(value: Any, digits: int = 5) -> Any:
    """``value`` (JSON: dicts, lists, numbers) with every float rounded to ``digits`` significant digits."""
    if isinstance(value, dict):
        return {k: significant_digits(v, digits) for k, v in value.items()}
    if isinstance(value, list):
        return [significant_digits(v, digits) for v in value]
    return float(f"{value:.{digits}g}") if isinstance(value, float) else value


def collect(config: dict, runs: dict[str, dict], config_path: Path, out: Path) -> None:
    root = repo_path(config["output_root"])
    splits, collected = {}, {}
    for name, parameters in runs.items():
        path = root / name / "results.json"
        if not path.is_file():
            continue
        result = json.loads(path.read_text())
        check_same_parameters(name, result, parameters)
        if "splits" not in result:  # a run that scores no dev/test frames (train_dfg.ipynb): its record, rounded
            collected[name] = significant_digits(result)
            continue
        key = frames_key(parameters)
        for split, data in result["splits"].items():
            shared = {k: data[k] for k in ("labels", "pai", "video")}
            known = splits.setdefault(key, {}).setdefault(split, shared)
            if known != shared:
                raise ValueError(f"{name}: its {split} frames differ from the other {key} runs'; "
                                 "was the benchmark re-rendered?")
        collected[name] = {
            "parameters": result["parameters"],
            "frames": key,
            "model_parameters": result.get("model_parameters"),
            "device_used": result.get("device_used"),
            "train_seconds": round(result["train_seconds"], 1),
            "history": [{k: round(v, 4) if isinstance(v, float) else v for k, v in record.items()
                         if k in HISTORY_KEYS} for record in result["history"]],
            "scores": {split: float16_list(data["scores"]) for split, data in result["splits"].items()},
        }
    config_path = config_path.resolve()
    shown = config_path.relative_to(REPO) if config_path.is_relative_to(REPO) else config_path
    made_by = f"faslearn train {shown} --collect {out}"
    out.write_text(json.dumps({"made_by": made_by, "config": config, "splits": splits, "runs": collected},
                              separators=(",", ":")))
    print(f"collected {len(collected)}/{len(runs)} runs into {out} ({out.stat().st_size / 1024:.0f} KiB)")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The options of a sweep run, shared by ``faslearn train`` and scripts/run_sweep.py."""
    parser.add_argument("config", type=Path, help="sweep YAML file (notebooks/training/configs/*.yaml)")
    parser.add_argument("--set", action="append", metavar="KEY=VALUE", dest="overrides",
                        help="override a parameter in every run, e.g. --set epochs=1 (repeatable)")
    parser.add_argument("--collect", type=Path, help="only gather the finished runs into this JSON file")
    parser.add_argument("--shard", default="0/1", help="run only share i of n, e.g. 1/2 (one process per core)")
    parser.add_argument("--dry-run", action="store_true", help="list the runs and stop")
    parser.add_argument("--kernel", default="python3", help="Jupyter kernel that runs the notebooks (default: python3)")


def run(args: argparse.Namespace, parser: argparse.ArgumentParser) -> int:
    """Run (or list, or collect) the sweep that ``add_arguments`` parsed."""
    if not args.config.is_file():
        parser.error(f"expected a sweep YAML file, not found: {args.config}")
    index, sep, count = args.shard.partition("/")
    if not (sep and index.strip().isdigit() and count.strip().isdigit() and int(index) < int(count)):
        parser.error(f"--shard must be i/n with whole numbers 0 <= i < n, got {args.shard!r}")
    index, count = int(index), int(count)
    try:
        overrides = parse_overrides(args.overrides)
        config = read_config(args.config)
        notebook = repo_path(config["notebook"])
        if not notebook.is_file():
            raise ValueError(f"the config names notebook {config['notebook']}, not found here or in {REPO}")
        check_parameters(config, overrides, notebook_parameters(notebook))
        runs = expand(config, overrides)
    except CommandLineError as error:  # the command line is malformed: usage, exit status 2
        parser.error(str(error))
    # any other ValueError (the config or its notebook cannot be used) reaches the caller: exit status 1
    if not args.collect:
        runs = dict(list(runs.items())[index::count])
    if args.dry_run:
        for name in runs:
            print(name)
        print(f"{len(runs)} runs")
    elif args.collect:
        collect(config, runs, args.config, args.collect)
    else:
        run_all(config, runs, kernel=args.kernel)
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_arguments(parser)
    args = parser.parse_args(argv)
    try:
        return run(args, parser)
    except ValueError as error:  # an unusable config: one line, exit status 1 (a malformed command line: 2)
        print(f"{parser.prog}: {error}", file=sys.stderr)
        return 1
