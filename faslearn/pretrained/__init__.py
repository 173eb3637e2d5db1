"""Files shipped with faslearn: results of the course sweep and one small trained CDCN.

Each entry of ``REGISTRY`` names a file in this folder, its SHA-256, and how it was made (the
notebook, its parameters and the command), so that anyone can re-make it and compare. Every
loader checks the digest first: a file that was edited or truncated raises ``ValueError``.

    model = CDCN(theta=0.7, width=0.25, map_size=16)
    fl.pretrained.load_pretrained("cdcn_night_leave_one_out", model)
    sweep = fl.pretrained.load_results("course_sweep")
"""
import json
from pathlib import Path

from faslearn.checkpoints import file_sha256, load_weights

FOLDER = Path(__file__).parent
SWEEP = "notebooks/training/configs/course_sweep.yaml"

REGISTRY = {
    "course_sweep": {
        "path": "course_sweep_results.json",
        "sha256": "ba827945cdc1edd076d88adbf8e64bb80c850191a50836812b6f11164e1e1122",
        "made_by": {
            "notebook": "notebooks/training/train_cdcn.ipynb",
            "parameters": f"every run of {SWEEP}",
            "command": f"python scripts/run_sweep.py {SWEEP} && python scripts/run_sweep.py {SWEEP} "
                       "--collect faslearn/pretrained/course_sweep_results.json",
        },
    },
    "cdcn_night_leave_one_out": {
        "path": "cdcn_theta0.7_width0.125_night_leave_one_out_seed0.safetensors",
        "sha256": "d3d4a2d39b08432224d42af24c65e89dac8c741c426ee34bb7cf80d70cb5e4d4",
        "model": {"class": "CDCN", "theta": 0.7, "width": 0.125},
        "made_by": {
            "notebook": "notebooks/training/train_cdcn.ipynb",
            "parameters": {"model": "cdcn", "theta": 0.7, "width": 0.125, "image_size": 64, "epochs": 3,
                           "batch_size": 32, "lr": 0.001, "dataset": "faslearn", "protocol": "leave_one_out",
                           "target": "night", "device": "cpu", "cpu_threads": 1, "seed": 0},
            "command": f"python scripts/run_sweep.py {SWEEP}, then "
                       "runs/sweep/cdcn-leave_one_out-night-theta0.7-width0.125-seed0/model.safetensors",
        },
    },
}


def _entry_file(name: str) -> tuple[dict, Path]:
    if name not in REGISTRY:
        raise ValueError(f"unknown pretrained entry {name!r}; expected one of {list(REGISTRY)}")
    entry = REGISTRY[name]
    file = FOLDER / entry["path"]
    if not file.is_file():
        raise FileNotFoundError(f"shipped file missing: {file}")
    return entry, file


def path(name: str) -> Path:
    """The shipped file of registry entry ``name``, after checking its SHA-256."""
    entry, file = _entry_file(name)
    actual = file_sha256(file)
    if actual != entry["sha256"]:
        raise ValueError(f"sha256 mismatch for {file}: expected {entry['sha256']}, got {actual}")
    return file


def load_pretrained(name: str, model):
    """Load the shipped weights ``name`` into ``model`` (built as ``REGISTRY[name]["model"]`` says),
    checking the file's SHA-256 first (faslearn.checkpoints.load_weights)."""
    entry, file = _entry_file(name)
    return load_weights(model, file, entry["sha256"])


def load_results(name: str = "course_sweep") -> dict:
    """The shipped JSON results ``name`` (see scripts/run_sweep.py for their layout)."""
    return json.loads(path(name).read_text())
