"""Files shipped with faslearn: results of the course sweeps (CDCN, two-stream, the DFG's pool size, OA-Net, domain
generalisation and its tables, the pre-trained ViT fine-tuned), one small trained CDCN, a two-stream pair, one OA-Net,
the teaching De-fake Face Generator, a ViT pre-trained by masked image modelling, and the measurements of the DFG's
residual and of the domain left in trained features; `benchmark_settings` says which benchmark each was made on.

Each entry of ``REGISTRY`` names a file (or a folder, with every file's digest) in this folder, its
SHA-256, and how it was made (the notebook, its parameters and the command), so that anyone can re-make
it and compare. Every loader checks the digest first: a file that was edited or truncated raises
``ValueError``.

    model = fl.pretrained.load_pretrained("cdcn_night_leave_one_out")   # a CDCN as the registry says
    sweep = fl.pretrained.load_results("course_sweep")
    dfg = fl.pretrained.load_dfg()
"""
import json
from pathlib import Path
from typing import TYPE_CHECKING

from torch import nn

from faslearn.checkpoints import file_sha256, load_weights
from faslearn.data.world.benchmark import RENDER_SETTINGS
from faslearn.models.registry import create_model, entry_of_class

if TYPE_CHECKING:
    from faslearn.models.dfg import DeFakeFaceGenerator
    from faslearn.models.two_stream import TwoStream

FOLDER = Path(__file__).parent
SWEEP = "notebooks/training/configs/course_sweep.yaml"
TWO_STREAM_SWEEP = "notebooks/training/configs/two_stream_sweep.yaml"
DFG_POOL_SIZE = "notebooks/training/configs/dfg_pool_size.yaml"
OANET_SWEEP = "notebooks/training/configs/oanet_sweep.yaml"
DG_SWEEP = "notebooks/training/configs/dg_sweep.yaml"
DG_TABLES_SWEEP = "notebooks/training/configs/dg_tables_sweep.yaml"
VIT_MIM_SWEEP = "notebooks/training/configs/vit_mim_sweep.yaml"
DG_LAMBDA_SWEEP = "notebooks/training/configs/dg_lambda_sweep.yaml"
DG_BUDGET_SWEEP = "notebooks/training/configs/dg_budget_sweep.yaml"
DG_WORLD_SWEEP = "notebooks/training/configs/dg_world_sweep.yaml"
BENCHMARK_CDCN_SWEEP = "notebooks/training/configs/benchmark_cdcn_sweep.yaml"
BENCHMARK_TWO_STREAM_SWEEP = "notebooks/training/configs/benchmark_two_stream_sweep.yaml"


def _collected(config: str, notebook: str, sha256: str) -> dict:
    """The registry entry of a collected sweep: every run of ``config``, trained by ``notebook`` through
    scripts/run_sweep.py and collected into faslearn/pretrained/<the config's name>_results.json."""
    name = Path(config).stem
    return {"path": f"{name}_results.json", "sha256": sha256,
            "made_by": {"notebook": notebook, "parameters": f"every run of {config}",
                        "command": f"python scripts/run_sweep.py {config} && python scripts/run_sweep.py {config} "
                                   f"--collect faslearn/pretrained/{name}_results.json"}}


REGISTRY = {
    "course_sweep": _collected(SWEEP, "notebooks/training/train_cdcn.ipynb",
                               "6a0f15026800d65a877ce9859d9b0ae3eee7b4614106e18570403778d4dc860e"),
    "two_stream_sweep": _collected(TWO_STREAM_SWEEP, "notebooks/training/train_two_stream.ipynb",
                                   "4a99f5f9fe7ff6d6ecd52ea6d55a0d82f07e86437d17f5ab7c67f8def955c7b5"),
    "dfg_pool_size": _collected(DFG_POOL_SIZE, "notebooks/training/train_dfg.ipynb",
                                "d921f54ceb818d6740228579ed7b6543a36cffb5f4b29acabf6c3571823fdfaf"),
    "oanet_sweep": _collected(OANET_SWEEP, "notebooks/training/train_oanet.ipynb",
                              "55b5a516bdf6340e75c4eda4e3ba5981d8ea90c1d5c5c4951e3672fccb78367f"),
    "dg_sweep": _collected(DG_SWEEP, "notebooks/training/train_oanet.ipynb",
                           "9cb1b99e1cd608ff2d2d675ddc51ccade47ff66bbfa92b397c1b054ab5d73a4e"),
    "dg_tables_sweep": _collected(DG_TABLES_SWEEP, "notebooks/training/train_oanet.ipynb",
                                  "6c63662c7d7d3d8e6a359b63b0c1c66bc68f8bcb8d8fe236a3cfbb590734af76"),
    "dg_lambda_sweep": _collected(DG_LAMBDA_SWEEP, "notebooks/training/train_oanet.ipynb",
                                  "6ff6679f59f3f06903247abfdf74e033e2323aba2ab1da5ced894b64b987f046"),
    "dg_budget_sweep": _collected(DG_BUDGET_SWEEP, "notebooks/training/train_oanet.ipynb",
                                  "ab70faa71915c49538c35a4fa0ee19fb7d2ceae50a0024604f52a5e64dd54128"),
    "dg_world_sweep": _collected(DG_WORLD_SWEEP, "notebooks/training/train_oanet.ipynb",
                                 "9689b8c90a0bf98d380eadc503af225e5a7c68896a5bc6275d14bd46b5c08b6b"),
    "benchmark_cdcn_sweep": _collected(BENCHMARK_CDCN_SWEEP, "notebooks/training/train_cdcn.ipynb",
                                       "96b3d18d3f669cc1c441fb21a302327e9a95bc8b3c4327fbdaaf9ad46015f41a"),
    "benchmark_two_stream_sweep": _collected(BENCHMARK_TWO_STREAM_SWEEP, "notebooks/training/train_two_stream.ipynb",
                                             "eb38f061262eac9d823600201e7acc67c637dd921b927248adae183e0b0b777e"),
    "vit_mim_sweep": {
        "path": "vit_mim_sweep_results.json",
        "sha256": "f7381fd11adc46da752076b5b37ba39e61cbd1c59abb19743f94db920bb6b954",
        "made_by": {
            "notebook": "notebooks/training/train_oanet.ipynb",
            "parameters": f"every run of {VIT_MIM_SWEEP}",
            "command": f"python scripts/pretrain_vit.py --out runs/vit_mim --steps 1500 --threads 1 && python "
                       f"scripts/run_sweep.py {VIT_MIM_SWEEP} && python scripts/run_sweep.py {VIT_MIM_SWEEP} "
                       "--collect faslearn/pretrained/vit_mim_sweep_results.json",
        },
    },
    "vit_mim_pool": {
        "path": "vit_mim_pool.safetensors",
        "sha256": "c8f423bd8224e151f405433c242222a9c5214cb604bbb53905611559af0d4713",
        "model": {"class": "ViT", "image_size": 64, "patch_size": 8, "width": 96, "depth": 4, "heads": 4,
                  "stem": "conv"},
        "made_by": {
            "notebook": "scripts/pretrain_vit.py",
            "parameters": {"steps": 1500, "batch_size": 64, "lr": 0.001, "mask_ratio": 0.6, "pool_identities": 0,
                           "views_per_identity": 8, "seed": 0, "difficulty": 1.0, "moire": 1.0, "clutter": 1.0,
                           "colour_managed": True},
            "command": "python scripts/pretrain_vit.py --out runs/vit_mim --steps 1500 --threads 1, then "
                       "runs/vit_mim/vit.safetensors",
        },
    },
    "domain_probe": {
        "path": "domain_probe.json",
        "sha256": "f7088507c0cf9939d9ddd6e056b4025efdc5d5cde1856e8558b604aaf53c434e",
        "made_by": {
            "notebook": "scripts/measure_domain_probe.py",
            "parameters": {"runs": "the ViT and ResNet-18 runs of oanet_sweep, dg_sweep and dg_lambda_sweep",
                           "difficulty": 1.0, "moire": 1.0, "clutter": 1.0, "colour_managed": True},
            "command": "python scripts/measure_domain_probe.py --out faslearn/pretrained/domain_probe.json "
                       "--runs runs/oanet_sweep runs/dg_sweep runs/dg_lambda_sweep",
        },
    },
    "oanet_night_leave_one_out": {
        "path": "oanet_night_leave_one_out.safetensors",
        "sha256": "d831f32c7edc611a9a2dcaf53c0028a621a011d50e8e919e438e8a73fb06ee2f",
        "model": {"class": "OANet", "image_size": 64, "patch_size": 8, "width": 96, "depth": 4, "heads": 4,
                  "cue_dim": 96, "stem": "conv"},
        "made_by": {
            "notebook": "notebooks/training/train_oanet.ipynb",
            "parameters": {"variant": "oanet", "cue_source": "dfg", "cue_form": "energy", "dfg": "dfg_teaching",
                           "strength": 0.5, "ddim_steps": 8, "image_size": 64, "patch_size": 8, "width": 96,
                           "depth": 4, "heads": 4, "stem": "conv", "cue_dim": 96, "epochs": 10, "batch_size": 32,
                           "lr": 0.0005, "weight_decay": 0.05, "optimizer": "adamw", "augment": True,
                           "protocol": "leave_one_out", "target": "night", "identities_per_domain": 150,
                           "difficulty": 1.0, "moire": 1.0, "clutter": 1.0, "colour_managed": True,
                           "device": "cpu", "cpu_threads": 1, "seed": 0},
            "command": f"python scripts/run_sweep.py {OANET_SWEEP}, then "
                       "runs/oanet_sweep/oanet-dfg-energy-s0.5-leave_one_out-night-seed0/model.safetensors",
        },
    },
    "dfg_cue_diagnostics": {
        "path": "dfg_cue_diagnostics.json",
        "sha256": "cfbc27cb44de49780a45a352d650464ff9ffb8b05f3487ddbb3a08b2b9fe7600",
        "made_by": {
            "notebook": "scripts/measure_dfg_cue.py",
            "parameters": {"dfg": "dfg_teaching", "steps": 8, "strengths": [0.25, 0.5, 0.75],
                           "presentations": "the test split of every domain (960)", "difficulty": 1.0, "moire": 1.0,
                           "clutter": 1.0, "colour_managed": True},
            "command": "python scripts/measure_dfg_cue.py --out faslearn/pretrained/dfg_cue_diagnostics.json",
        },
    },
    "cdcn_night_leave_one_out": {
        "path": "cdcn_theta0.7_width0.25_map16_night_leave_one_out_seed0.safetensors",
        "sha256": "16e41524ba16f9a32d675d639b28708d2512763b4a899999f9486462bab5afaf",
        "model": {"class": "CDCN", "theta": 0.7, "width": 0.25, "map_size": 16},
        "made_by": {
            "notebook": "notebooks/training/train_cdcn.ipynb",
            "parameters": {"model": "cdcn", "theta": 0.7, "width": 0.25, "image_size": 64, "epochs": 10,
                           "batch_size": 16, "lr": 0.001, "augment": True, "dataset": "faslearn",
                           "protocol": "leave_one_out", "target": "night", "difficulty": 1.0, "moire": 1.0,
                           "clutter": 1.0, "colour_managed": True,
                           "device": "cpu", "max_train_samples": 540, "cpu_threads": 1, "seed": 0},
            "command": f"python scripts/run_sweep.py {SWEEP}, then "
                       "runs/sweep/cdcn-leave_one_out-night-theta0.7-width0.25-seed0/model.safetensors",
        },
    },
    "two_stream_night_leave_one_out": {
        "kind": "two_stream",
        "folder": "two_stream_night_leave_one_out",
        "files": {
            "multi_frame.json": "cdacbae43f46f65262c1016e2764fa093bff98a732abc87e40b5bfec22b905cf",
            "multi_frame.safetensors": "05915a8a52f4365d61d587f9a85c76193097f8a003bd9ffc91123b1bc3484529",
            "rgb_difference.json": "4916c9b0891cb853ecf4e2db1f96a2b108aa04ca26fc1b1815f39bbe02243668",
            "rgb_difference.safetensors": "8d2a0e6fa7caba84cbffd4a3233d8513bf5e0c84c8805343633051f79b698d8b",
        },
        "made_by": {
            "notebook": "notebooks/training/train_two_stream.ipynb",
            "parameters": f"two runs of {TWO_STREAM_SWEEP}: "
                          "multi_frame-fpm_top_down-ppm_True-leave_one_out-k4-adamw-aug_False-night-seed0 and "
                          "rgb_difference-fpm_bottom_up-ppm_True-leave_one_out-k4-adamw-aug_False-night-seed0 "
                          "(each record's parameters beside its weights)",
            "command": f"python scripts/run_sweep.py {TWO_STREAM_SWEEP}, then each run's model.safetensors and "
                       "results.json copied here as <branch>.safetensors and <branch>.json",
        },
    },
    "dfg_teaching": {
        "kind": "dfg",
        "folder": "dfg_teaching",
        "files": {
            "autoencoder/config.json": "824bc7def2df77fc5fccfa452af1b05dabdc1b53b2b3bb23948eae2101675ee6",
            "autoencoder/diffusion_pytorch_model.safetensors":
                "56ae419c1c05035bdf204f5343620b53573956b1175c79ccc7d1722d673ad5b6",
            "identity/config.json": "4345aa421b8886f23352fe1baed9c43c2fbeebd4d3b20f9f79cb67fa0b82c005",
            "identity/model.safetensors": "1d80f9b546a32ae4d3273eb6d2b5ee6899b92069920db03e57e60c67348eda59",
            "results.json": "e0dd60a3601efee05288103e2cd5325143439c9cf80e056959813a8b632a0471",
            "scheduler/scheduler_config.json": "28d1a009dfa466938be057413130d37105fb555c44c7c403af4cbdb4c3194f5c",
            "unet/config.json": "eab0da79d30139065a8802e6aa3230b1c6b83c27f4fd1cb2ad04032d27395012",
            "unet/diffusion_pytorch_model.safetensors":
                "208b4fc214cf766478edc44a168eaae856bb2896a4aa3ccc9bc36bcb2ec24002"
        },
        "made_by": {
            "notebook": "notebooks/training/train_dfg.ipynb",
            "parameters": {"image_size": 64, "pool_identities": 0, "views_per_identity": 8, "pool_folder": "",
                           "identities_per_domain": 150, "difficulty": 0.5, "moire": 0.0, "clutter": 0.0,
                           "colour_managed": False, "identity_encoder": "train", "identity_steps": 800,
                           "identity_width": 32, "autoencoder_path": "", "autoencoder_width": 32,
                           "latent_channels": 4, "downsample": 4, "autoencoder_steps": 2000,
                           "autoencoder_batch_size": 16, "autoencoder_lr": 0.001, "unet_width": 32,
                           "unet_steps": 4000, "batch_size": 32, "lr": 0.0005, "weight_decay": 0.01,
                           "ema_decay": 0.999, "warmup": 200, "condition_dropout": 0.15, "diffusion_steps": 1000,
                           "eval_images": 240, "eval_strength": 0.6, "eval_ddim_steps": 20, "device": "auto",
                           "mixed_precision": "no", "output_dir": "/work/main/runs/dfg_teaching", "seed": 0,
                           "cpu_threads": 2},
            "command": "papermill notebooks/training/train_dfg.ipynb runs/dfg_teaching/train_dfg.ipynb "
                       "-p output_dir $PWD/runs/dfg_teaching -p cpu_threads 2 -p difficulty 0.5 -p moire 0.0 "
                       "-p clutter 0.0 -p colour_managed False "
                       "--cwd notebooks/training, then "
                       "runs/dfg_teaching/dfg/ and results.json copied here (1,968 s of UNet training on 2 CPU cores)",
        },
    },
}


def _entry_file(name: str) -> tuple[dict, Path]:
    if not isinstance(name, str) or name not in REGISTRY:
        raise ValueError(f"unknown pretrained entry {name!r}; expected one of {list(REGISTRY)}")
    entry = REGISTRY[name]
    file = FOLDER / entry["path"]
    if not file.is_file():
        raise FileNotFoundError(f"shipped file missing: {file}")
    return entry, file


def _checked(file: Path, expected: str) -> Path:
    """``file``, after checking that its SHA-256 is ``expected``."""
    actual = file_sha256(file)
    if actual != expected:
        raise ValueError(f"sha256 mismatch for {file}: expected {expected}, got {actual}")
    return file


def path(name: str) -> Path:
    """The shipped file of registry entry ``name``, after checking its SHA-256."""
    entry, file = _entry_file(name)
    return _checked(file, entry["sha256"])


def load_pretrained(name: str, model: nn.Module | None = None) -> nn.Module:
    """The shipped weights ``name`` in a network: ``model`` if given, else one built as ``REGISTRY[name]["model"]``
    says. The file's SHA-256 is checked first (faslearn.checkpoints.load_weights), and a given ``model`` must
    be the class and settings the weights were trained with: a CDCN built with another θ has the same tensor
    shapes, so the weights would load and compute something else."""
    if not isinstance(name, str) or "model" not in REGISTRY.get(name, {}):
        raise ValueError(f"no shipped model weights named {name!r}; expected one of "
                         f"{[k for k, v in REGISTRY.items() if 'model' in v]}")
    file, spec = path(name), dict(REGISTRY[name]["model"])  # the digest first: a damaged file says so
    registered = entry_of_class(spec.pop("class"))
    if model is None:
        model = create_model(registered.name, **spec)
    elif type(model) is not registered.build:
        raise ValueError(f"{name!r} holds {registered.build.__name__} weights, got a {type(model).__name__}; "
                         f"build it with create_model({registered.name!r}, **{spec}) or pass no model")
    else:
        for key, value in spec.items():
            if key in ("theta", "map_size") and getattr(model, key, value) != value:
                raise ValueError(f"{name!r} was trained with {key}={value}, this {type(model).__name__} has "
                                 f"{key}={getattr(model, key)!r}; build it with create_model("
                                 f"{registered.name!r}, **{spec}) or pass no model")
    return load_weights(model, file)


def _folder_entry(name: str, kind: str) -> dict:
    """The registry entry ``name`` if it is a folder of ``kind`` ("dfg" or "two_stream")."""
    entry = REGISTRY.get(name, {}) if isinstance(name, str) else {}
    if entry.get("kind") != kind:
        label = {"dfg": "DFG", "two_stream": "two-stream"}[kind]
        raise ValueError(f"unknown {label} entry {name!r}; expected one of "
                         f"{[k for k, v in REGISTRY.items() if v.get('kind') == kind]}")
    return entry


def folder_file(name: str, relative: str) -> Path:
    """One file of the folder entry ``name``, after checking its SHA-256 against the registry."""
    entry = REGISTRY.get(name, {}) if isinstance(name, str) else {}
    if "files" not in entry or relative not in entry["files"]:
        raise ValueError(f"{relative!r} is not a file of a shipped folder named {name!r}")
    return _checked(FOLDER / entry["folder"] / relative, entry["files"][relative])


def load_dfg(name: str = "dfg_teaching") -> "DeFakeFaceGenerator":
    """The shipped De-fake Face Generator ``name`` (a folder in diffusers' layout), every file's SHA-256
    checked before it is read."""
    from faslearn.models.dfg import DeFakeFaceGenerator

    entry = _folder_entry(name, "dfg")
    return DeFakeFaceGenerator.from_pretrained(FOLDER / entry["folder"], sha256=entry["files"])


def dfg_record(name: str = "dfg_teaching") -> dict:
    """The run record (``results.json`` of train_dfg.ipynb) shipped with the DFG ``name``, digest checked."""
    _folder_entry(name, "dfg")
    return json.loads(folder_file(name, "results.json").read_text())


def load_two_stream(name: str = "two_stream_night_leave_one_out") -> tuple["TwoStream", dict]:
    """The shipped two-stream model ``name``: a multi-frame and an RGB-difference branch, each trained by
    train_two_stream.ipynb, in one `TwoStream` (forward(clip) = σ(multi-frame) + σ(RGB difference)), built
    with the settings its runs recorded; and those runs' records (``results.json``: parameters, per-split
    scores and labels), keyed ``"multi_frame"`` and ``"rgb_difference"``. Every file's SHA-256 is checked."""
    from faslearn.models.two_stream import TwoStream

    _folder_entry(name, "two_stream")
    records = {branch: json.loads(folder_file(name, f"{branch}.json").read_text())
               for branch in ("multi_frame", "rgb_difference")}
    model = TwoStream.from_parameters(records["multi_frame"]["parameters"], records["rgb_difference"]["parameters"])
    for branch, net in (("multi_frame", model.multi_frame), ("rgb_difference", model.difference)):
        load_weights(net, folder_file(name, f"{branch}.safetensors"))
    return model.eval(), records


def load_results(name: str = "course_sweep") -> dict:
    """The shipped JSON results ``name`` (see scripts/run_sweep.py for their layout)."""
    if isinstance(name, str) and not REGISTRY.get(name, {}).get("path", "").endswith(".json"):
        raise ValueError(f"no shipped results named {name!r}; expected one of "
                         f"{[k for k, v in REGISTRY.items() if v.get('path', '').endswith('.json')]}")
    return json.loads(path(name).read_text())


def benchmark_settings(name: str) -> dict:
    """The course-benchmark settings (``faslearn.data.world.benchmark.RENDER_SETTINGS``: difficulty, moiré, clutter,
    colour management) that the shipped entry ``name`` was made on, read from how it was made:
    ``make_benchmark(**benchmark_settings(name))`` renders the world its runs saw. The DFG's results predate
    the domains' colour moiré, furnished rooms and colour-managed prints, so notebook 04 uses this; every
    other entry was made on today's default benchmark."""
    if name not in REGISTRY:
        raise ValueError(f"unknown pretrained entry {name!r}; expected one of {list(REGISTRY)}")
    if REGISTRY[name].get("kind") == "two_stream":  # two runs of one sweep: their records say
        made = json.loads(folder_file(name, "multi_frame.json").read_text())["parameters"]
    else:
        made = REGISTRY[name]["made_by"]["parameters"]  # a run's parameters (a DFG's equal its record's) ...
        if isinstance(made, str):  # ... or a sweep's: the defaults of its config
            made = load_results(name)["config"]["defaults"]
    return {key: made[key] for key in RENDER_SETTINGS}
