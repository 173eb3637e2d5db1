"""The `faslearn` command line, a trained run as a folder (faslearn.runs), and ONNX export.

Runs are made here in seconds: a tiny model's weights and a results.json in train_cdcn.ipynb's format.
A papermill run of train_cdcn.ipynb on a fixture OULU-NPU tree checks that the real-data path trains.
"""
import json
import os
import struct
import subprocess
import sys
import zlib
from pathlib import Path

import cv2
import numpy as np
import pytest
import skimage.data
import torch
from _threads import one_thread  # noqa: F401  (autouse: every test of the module on one thread)
from dataset_trees import face_frames, make_tree, write_corrupt_video
from papermill_harness import run_papermill

import faslearn as fl
from faslearn.checkpoints import save_checkpoint
from faslearn.cli import main

REPO = Path(__file__).resolve().parents[1]


def make_run(folder: Path, model: str = "cdcn", image_size: int = 32, threshold: float | None = 0.5) -> Path:
    """A finished-run folder as train_cdcn.ipynb writes it (random weights)."""
    torch.manual_seed(0)
    width = 1.0 if model == "resnet18" else 0.125
    net, _ = fl.runs.build_model(model, 0.7, width, image_size // 8)
    save_checkpoint(folder / "model.safetensors", net)
    results = {"parameters": {"model": model, "theta": 0.7, "width": width, "image_size": image_size},
               "map_size": image_size // 8, "metrics": {} if threshold is None else {"threshold": threshold}}
    (folder / "results.json").write_text(json.dumps(results))
    return folder


def write_astronaut(path: Path) -> Path:
    cv2.imwrite(str(path), cv2.cvtColor(skimage.data.astronaut(), cv2.COLOR_RGB2BGR))
    return path


def test_every_command_has_help(capsys):
    for command in ([], ["prepare"], ["train"], ["evaluate"], ["predict"], ["export"]):
        with pytest.raises(SystemExit) as exit_:
            main([*command, "--help"])
        assert exit_.value.code == 0
        assert "usage: faslearn" in capsys.readouterr().out


def test_console_script_is_installed():
    script = Path(sys.executable).parent / "faslearn"
    result = subprocess.run([str(script), "export", "--help"], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0 and "ONNX" in result.stdout


def test_a_malformed_command_line_exits_2(capsys):
    with pytest.raises(SystemExit) as exit_:
        main(["predict"])
    assert exit_.value.code == 2
    assert "the following arguments are required: run, input" in capsys.readouterr().err


def test_load_run_rebuilds_the_model_and_its_threshold(tmp_path):
    run = fl.runs.load_run(make_run(tmp_path, "cdcn++"))
    assert isinstance(run.model, fl.models.CDCNpp) and run.image_size == 32 and run.threshold == 0.5
    scores = run.score(np.zeros((3, 32, 32, 3), np.uint8))
    assert scores.shape == (3,)
    with pytest.raises(ValueError, match=r"expected face crops of shape \(N, 32, 32, 3\)"):
        run.score(np.zeros((3, 64, 64, 3), np.uint8))
    with pytest.raises(FileNotFoundError, match="no results.json in .*expected the output_dir"):
        fl.runs.load_run(tmp_path / "elsewhere")


def test_the_shipped_model_is_a_run_with_its_dev_threshold(tmp_path, capsys):
    run = fl.runs.load_run("cdcn_night_leave_one_out")
    sweep = fl.pretrained.load_results("course_sweep")
    shipped = sweep["runs"][fl.runs.SHIPPED_RUNS["cdcn_night_leave_one_out"]]
    _, threshold = fl.metrics.eer(shipped["scores"]["dev"], sweep["splits"][shipped["frames"]]["dev"]["labels"])
    assert isinstance(run.model, fl.models.CDCN) and run.image_size == 64 and run.threshold == threshold
    assert run.score(np.zeros((2, 64, 64, 3), np.uint8)).shape == (2,)
    image = write_astronaut(tmp_path / "astronaut.png")
    assert main(["predict", "cdcn_night_leave_one_out", str(image)]) == 0
    assert f"(threshold {threshold:.4f})" in capsys.readouterr().out
    with pytest.raises(ValueError, match="unknown shipped model 'nope'"):
        fl.runs.load_shipped_run("nope")


@pytest.mark.parametrize("model", ["cdcn", "resnet18"])  # every registered model: tests/test_models.py
def test_export_writes_onnx_that_matches_pytorch(model, tmp_path, capsys):
    pytest.importorskip("onnxruntime")
    run = make_run(tmp_path / "run", model)
    assert main(["export", str(run), str(tmp_path / "model.onnx"), "--check"]) == 0
    out = capsys.readouterr().out
    difference = float(out.split("largest difference ")[1].split()[0])
    assert difference < 1e-4
    import onnx
    graph = onnx.load(str(tmp_path / "model.onnx")).graph
    assert [o.name for o in graph.output] == (["score", "depth"] if model.startswith("cdcn") else ["score"])


def test_predict_scores_each_face_and_draws_the_decision(tmp_path, capsys):
    run = make_run(tmp_path / "run", threshold=-1e9)  # accept everything: the decision is known
    image = write_astronaut(tmp_path / "astronaut.png")
    assert main(["predict", str(run), str(image), "--draw", str(tmp_path / "drawn")]) == 0
    line = [row for row in capsys.readouterr().out.splitlines() if row.startswith("astronaut.png")][0]
    x, y, w, h = (int(v) for v in line.split("(")[1].split(")")[0].split(","))
    assert 150 < x + w / 2 < 260 and 60 < y + h / 2 < 170  # the astronaut's face (Haar: 177, 66, 95, 95)
    assert line.endswith("bona fide")
    assert (tmp_path / "drawn" / "astronaut.faslearn.jpg").is_file()


def test_predict_on_a_folder_scores_the_good_files_on_both_sides_of_a_bad_one(tmp_path, capsys):
    run = make_run(tmp_path / "run", threshold=-1e9)
    folder = tmp_path / "photos"
    folder.mkdir()
    write_astronaut(folder / "a_first.png")
    write_astronaut(folder / "c_last.jpg")
    (folder / "b_broken.png").write_bytes(b"not an image at all")
    whole = (folder / "c_last.jpg").read_bytes()
    (folder / "d_truncated.jpg").write_bytes(whole[: len(whole) // 2])  # OpenCV alone would score half a photo
    assert main(["predict", str(run), str(folder)]) == 1
    captured = capsys.readouterr()
    scored = {row.split()[0] for row in captured.out.splitlines() if row.endswith("bona fide")}
    assert scored == {"a_first.png", "c_last.jpg"}
    assert "b_broken.png cannot be read as an image" in captured.err
    assert "d_truncated.jpg is damaged" in captured.err and "truncated" in captured.err
    assert "2 input(s) not scored or not drawn" in captured.err


def test_predict_never_overwrites_a_drawing_and_reports_an_unusable_draw_folder(tmp_path, capsys):
    run = make_run(tmp_path / "run", threshold=-1e9)
    image = write_astronaut(tmp_path / "astronaut.png")
    drawn = tmp_path / "drawn"
    assert main(["predict", str(run), str(image), "--draw", str(drawn)]) == 0
    first = (drawn / "astronaut.faslearn.jpg").stat().st_mtime_ns
    assert main(["predict", str(run), str(image), "--draw", str(drawn)]) == 1
    assert "exists already; pass --overwrite" in capsys.readouterr().err
    assert (drawn / "astronaut.faslearn.jpg").stat().st_mtime_ns == first
    assert main(["predict", str(run), str(image), "--draw", str(drawn), "--overwrite"]) == 0
    blocker = tmp_path / "a_file"
    blocker.write_text("x")
    assert main(["predict", str(run), str(image), "--draw", str(blocker / "sub")]) == 1
    err = capsys.readouterr().err.strip().splitlines()[-1]
    assert err.startswith("faslearn predict: --draw ") and "cannot create the folder" in err


@pytest.mark.parametrize("option, value", [("--max-faces", "0"), ("--max-faces", "-1"), ("--video-frames", "0"),
                                           ("--video-frames", "-3"), ("--threshold", "nan"), ("--threshold", "abc")])
def test_predict_refuses_options_outside_their_range(tmp_path, capsys, option, value):
    with pytest.raises(SystemExit) as exit_info:
        main(["predict", str(tmp_path / "run"), "photo.jpg", option, value])
    assert exit_info.value.code == 2
    assert f"argument {option}: expected a" in capsys.readouterr().err


def test_train_refuses_a_shard_that_is_not_i_of_n(capsys):
    config = REPO / "notebooks" / "training" / "configs" / "course_sweep.yaml"
    for shard in ("abc", "2/2", "1/"):
        err = train_error([str(config), "--shard", shard, "--dry-run"], capsys)
        assert "--shard must be i/n with whole numbers" in err


def test_export_refuses_an_unsupported_opset_and_an_existing_output(tmp_path, capsys):
    pytest.importorskip("onnx")
    with pytest.raises(SystemExit) as exit_info:
        main(["export", str(tmp_path / "run"), str(tmp_path / "m.onnx"), "--opset", "3"])
    assert exit_info.value.code == 2 and "expected an ONNX opset from 18 to" in capsys.readouterr().err
    run = make_run(tmp_path / "run")
    (tmp_path / "m.onnx").write_bytes(b"mine")
    assert main(["export", str(run), str(tmp_path / "m.onnx")]) == 1
    assert "exists already; pass --overwrite" in capsys.readouterr().err
    assert (tmp_path / "m.onnx").read_bytes() == b"mine"


@pytest.mark.parametrize("damage", ["random bytes", "truncated"])
def test_a_damaged_checkpoint_is_named_as_not_valid(tmp_path, capsys, damage):
    run = make_run(tmp_path / "run")
    weights = run / "model.safetensors"
    whole = weights.read_bytes()
    weights.write_bytes(np.random.default_rng(0).bytes(4096) if damage == "random bytes" else whole[:-100])
    assert main(["predict", str(run), str(write_astronaut(tmp_path / "a.png"))]) == 1
    err = capsys.readouterr().err.strip()
    assert err.startswith(f"faslearn predict: {weights} is not a valid faslearn checkpoint: ")
    assert len(err.splitlines()) == 1


@pytest.mark.parametrize("change, expected", [
    ({"metrics": []}, "metrics is list, expected a mapping"),
    ({"parameters": {"model": "cdcn", "theta": "abc", "image_size": 32}}, "parameters.theta is 'abc'"),
    ({"parameters": {"model": "cdcn", "theta": 1.5, "image_size": 32}}, "expected a number from 0.0 to 1.0"),
    ({"parameters": {"model": "cdcn", "image_size": "32"}}, "parameters.image_size is '32'"),
    ({"parameters": {"model": "vgg", "image_size": 32}}, "parameters.model is 'vgg'"),
    ({"metrics": {"threshold": "high"}}, "metrics.threshold is 'high'"),
    ({"metrics": {"threshold": float("nan")}}, "metrics.threshold is nan, expected a finite number"),
    ({"parameters": []}, "no 'parameters' mapping"),
    ({"parameters": {"model": "cdcn", "image_size": 4096}}, "expected a whole number from 16 to 1024"),
])
def test_a_results_file_with_wrong_types_is_named_as_not_a_valid_run(tmp_path, change, expected):
    run = make_run(tmp_path / "run")
    results = json.loads((run / "results.json").read_text())
    (run / "results.json").write_text(json.dumps({**results, **change}))
    with pytest.raises(ValueError, match="is not a valid faslearn run") as error:
        fl.runs.load_run(run)
    assert expected in str(error.value)
    for text in ("{not json", "[" * 100_000 + "]" * 100_000, '{"metrics": {"threshold": ' + "9" * 5000 + "}}"):
        (run / "results.json").write_text(text)  # malformed, nested past the recursion limit, a 5,000-digit number
        with pytest.raises(ValueError, match="is not a valid faslearn run: not JSON") as error:
            fl.runs.load_run(run)
        assert len(str(error.value)) < 400


def test_predict_lists_what_is_not_a_readable_image_and_scores_the_rest(tmp_path, capsys):
    run = make_run(tmp_path / "run")
    folder = tmp_path / "photos"
    folder.mkdir()
    good = face_frames(0)[0]
    cv2.imwrite(str(folder / "a.jpg"), cv2.cvtColor(good, cv2.COLOR_RGB2BGR))
    os.mkfifo(folder / "b.jpg")  # reading a pipe would wait forever
    (folder / "c.jpg").mkdir()  # a folder named like an image
    (folder / "d.png").write_bytes(_png_header(20_000, 20_000))  # 400 megapixels announced in 45 bytes
    cv2.imwrite(str(folder / "e.jpg"), cv2.cvtColor(good, cv2.COLOR_RGB2BGR))
    assert main(["predict", str(run), str(folder)]) == 1
    captured = capsys.readouterr()
    assert "a.jpg" in captured.out and "e.jpg" in captured.out
    assert "b.jpg is not a regular file; expected an image" in captured.err
    assert "c.jpg is not a regular file; expected an image" in captured.err
    assert "d.png holds more pixels than are safe to decode" in captured.err
    assert "Traceback" not in captured.err and "Warning" not in captured.err
    assert main(["predict", str(run), "/dev/zero"]) == 1
    assert "/dev/zero is not a regular file" in capsys.readouterr().err


def _png_header(width: int, height: int) -> bytes:
    """The first bytes of a PNG that announces ``width`` x ``height`` pixels and holds none."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)) + \
        chunk(b"IEND", b"")


@pytest.mark.parametrize("argv, expected", [
    (["predict", "RUN", ""], "argument input: expected an image, a folder of images, a video or a webcam index"),
    (["predict", "RUN", "x.jpg", "--video-frames", "1000000000000"], "expected at most 1000 frames"),
    (["export", "RUN", "out_dir/"], "expected the path of a file to write, got 'out_dir/'"),
    (["evaluate", "RUN", "folder", "ROOT", "--json", "m/"], "expected the path of a file to write"),
])
def test_an_input_or_output_path_that_cannot_be_meant_is_a_usage_error(argv, expected, capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(argv)
    assert exit_info.value.code == 2 and expected in capsys.readouterr().err


def test_outputs_that_are_folders_or_exist_are_refused_before_the_work(tmp_path, capsys):
    run = make_run(tmp_path / "run")
    (tmp_path / "metrics.json").write_text("mine")
    argv = ["evaluate", str(run), "folder", str(tmp_path / "nowhere"), "--json", str(tmp_path / "metrics.json")]
    assert main(argv) == 1  # refused before the (missing) dataset is even read
    assert "--json " in capsys.readouterr().err and (tmp_path / "metrics.json").read_text() == "mine"
    assert main(["evaluate", str(run), "folder", str(tmp_path), "--csv", str(tmp_path)]) == 1
    assert f"--csv {tmp_path} is a folder; expected a file path" in capsys.readouterr().err
    assert main(["evaluate", str(run), "folder", str(tmp_path), "--cache", str(tmp_path / "metrics.json")]) == 1
    assert "is a file; expected a folder" in capsys.readouterr().err
    assert main(["export", str(run), str(tmp_path), "--overwrite"]) == 1
    assert "is a folder; expected a file path" in capsys.readouterr().err


def test_predict_says_when_there_is_no_face(tmp_path, capsys):
    run = make_run(tmp_path / "run")
    blank = tmp_path / "wall.png"
    cv2.imwrite(str(blank), np.full((120, 160, 3), 128, np.uint8))
    assert main(["predict", str(run), str(blank)]) == 1
    captured = capsys.readouterr()
    assert "no face found" in captured.out and f"no face found in {blank}" in captured.err
    assert main(["predict", str(run), str(tmp_path / "missing.jpg")]) == 1
    assert "missing.jpg not found; expected an image" in capsys.readouterr().err


def test_predict_averages_a_video(tmp_path, capsys):
    run = make_run(tmp_path / "run", threshold=1e9)  # reject everything
    tree = make_tree("folder", tmp_path / "own")
    video = next(p for p in sorted(tree.rglob("*")) if p.suffix.lower() in (".avi", ".mov", ".mp4"))
    assert main(["predict", str(run), str(video), "--video-frames", "3"]) == 0
    out = capsys.readouterr().out
    assert f"{video.name}: mean score of the main face over 3 frames" in out and out.rstrip().endswith("attack")


def test_prepare_then_evaluate_on_a_dataset_tree(tmp_path, capsys):
    root = make_tree("oulu_npu", tmp_path / "OULU-NPU")
    cache = tmp_path / "crops"
    assert main(["prepare", "oulu_npu", str(root), "--protocol", "1", "--size", "32", "--cache", str(cache)]) == 0
    assert "recordings ready in the crop cache" in capsys.readouterr().out
    run = make_run(tmp_path / "run")
    json_file = tmp_path / "metrics.json"
    assert main(["evaluate", str(run), "oulu_npu", str(root), "--protocol", "1", "--cache", str(cache),
                 "--json", str(json_file), "--csv", str(tmp_path / "metrics.csv")]) == 0
    out = capsys.readouterr().out
    assert "threshold" in out and "APCER print_1" in out
    metrics = json.loads(json_file.read_text())
    assert 0 <= metrics["hter"] <= 1 and "apcer_replay_2" in metrics
    assert (tmp_path / "metrics.csv").read_text().startswith("metric,value")


def test_prepare_and_evaluate_use_every_readable_recording_and_exit_1_listing_the_rest(tmp_path, capsys):
    root = make_tree("oulu_npu", tmp_path / "OULU-NPU")
    write_corrupt_video(root / "Dev_files" / "1_1_21_2.avi")  # one bad file among good ones
    cache, run = tmp_path / "crops", make_run(tmp_path / "run")
    assert main(["prepare", "oulu_npu", str(root), "--protocol", "1", "--size", "32", "--cache", str(cache)]) == 1
    captured = capsys.readouterr()
    assert "skipped, unreadable (1): oulu_npu/Dev_files/1_1_21_2" in captured.out
    assert "recordings ready in the crop cache" in captured.out
    assert captured.err.strip().splitlines() == [captured.err.strip()]  # one line
    assert "faslearn prepare: 1 of " in captured.err and "recordings skipped" in captured.err
    assert main(["evaluate", str(run), "oulu_npu", str(root), "--protocol", "1", "--cache", str(cache)]) == 1
    captured = capsys.readouterr()
    assert "skipped, unreadable (1): oulu_npu/Dev_files/1_1_21_2" in captured.out
    assert "HTER" in captured.out  # the rest evaluated
    assert "faslearn evaluate: 1 of " in captured.err


def test_a_missing_dataset_is_one_clear_line(tmp_path, capsys):
    assert main(["prepare", "oulu_npu", str(tmp_path / "nowhere")]) == 1
    err = capsys.readouterr().err.strip()
    assert err.startswith("faslearn prepare: ") and "nowhere" in err and len(err.splitlines()) == 1


def test_train_lists_the_runs_of_a_config_with_overrides(capsys):
    config = REPO / "notebooks" / "training" / "configs" / "oulu_npu_protocol1.yaml"
    assert main(["train", str(config), "--set", "seed=3", "--dry-run"]) == 0
    assert "cdcn-1-theta0.7-width1.0-seed3" in capsys.readouterr().out
    with pytest.raises(SystemExit):
        main(["train", str(config), "--set", "seed"])


INJECTION = "__import__('os').system('touch pwned');x"


def train_error(argv, capsys, cwd=None) -> str:
    """The one-line message of `faslearn train ...` refused before anything runs: exit status 2 and usage for a
    malformed command line (--set, --shard), 1 and one line for a config or notebook that cannot be used."""
    command_line = any(a in ("--set", "--shard") for a in argv)
    if command_line:
        with pytest.raises(SystemExit) as exit_info:
            main(["train", *argv])
        assert exit_info.value.code == 2
    else:
        assert main(["train", *argv]) == 1
    lines = capsys.readouterr().err.strip().splitlines()
    err = lines[-1]
    assert err.startswith("faslearn: error: " if command_line else "faslearn train: ")
    assert command_line or len(lines) == 1
    return err


def sweep_config(folder: Path, text: str) -> Path:
    path = folder / "sweep.yaml"
    path.write_text(text)
    return path


def test_a_parameter_name_that_is_code_is_refused_from_set_defaults_and_grid(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)  # a command that ran would leave ./pwned here
    config = REPO / "notebooks" / "training" / "configs" / "course_sweep.yaml"
    err = train_error([str(config), "--set", f"{INJECTION}=1", "--dry-run"], capsys)
    assert "--set" in err and "is not a parameter name" in err
    head = "notebook: notebooks/training/train_cdcn.ipynb\noutput_root: runs/x\n"
    key = json.dumps(INJECTION)  # a YAML key in quotes
    err = train_error([str(sweep_config(tmp_path, f"{head}defaults:\n  {key}: 1\ngrid:\n  - seed: 0\n"))], capsys)
    assert err.endswith(f"defaults: {INJECTION!r} is not a parameter name (expected a Python identifier "
                        "from the notebook's parameters cell)")
    err = train_error([str(sweep_config(tmp_path, f"{head}grid:\n  - seed: 0\n    {key}: 1\n"))], capsys)
    assert "grid entry 1" in err and "is not a parameter name" in err
    assert not (tmp_path / "pwned").exists()


def test_a_config_without_what_the_default_run_name_needs_is_one_line(tmp_path, capsys):
    text = "notebook: notebooks/training/train_cdcn.ipynb\noutput_root: runs/x\ngrid:\n  - epochs: 1\n"
    err = train_error([str(sweep_config(tmp_path, text)), "--dry-run"], capsys)
    assert "a run sets no model, protocol, seed, target, theta, width" in err


def test_an_unknown_parameter_is_named_with_the_nearest_valid_one_even_in_a_dry_run(capsys):
    config = REPO / "notebooks" / "training" / "configs" / "course_sweep.yaml"
    err = train_error([str(config), "--set", "epoch=1", "--dry-run"], capsys)
    assert "unknown parameter 'epoch'" in err and "did you mean 'epochs'?" in err


@pytest.mark.parametrize("where, expected", [
    (["--set", "epochs=!!python/object/apply:os.system [touch pwned]"], "is not a YAML value (could not determine"),
    (["--set", "epochs=[1"], "--set epochs: '[1' is not a YAML value"),
    (["--set", "epochs=abc"], "--set: epochs is 'abc', expected a whole number (its default is 3)"),
    (["--set", "augment=1"], "--set: augment is 1, expected True or False (its default is False)"),
    (["--set", "lr=.inf"], "--set: lr is inf, expected a finite number (its default is 0.001)"),
    (["--set", "model=[1, 2]"], "--set: model is [1, 2], expected a text (its default is 'cdcn')"),
])
def test_a_parameter_value_of_the_wrong_type_is_refused_even_in_a_dry_run(capsys, where, expected):
    config = REPO / "notebooks" / "training" / "configs" / "course_sweep.yaml"
    assert expected in train_error([str(config), *where, "--dry-run"], capsys)


def test_a_grid_value_of_the_wrong_type_is_refused_before_anything_runs(tmp_path, capsys):
    text = ("notebook: notebooks/training/train_cdcn.ipynb\noutput_root: runs/x\n"
            "grid:\n  - seed: [0, 1.5]\n    theta: 0.7\n")
    err = train_error([str(sweep_config(tmp_path, text)), "--dry-run"], capsys)
    assert "grid entry 1: seed is 1.5, expected a whole number (its default is 0)" in err


@pytest.mark.parametrize("text, expected", [
    ("a: &a [x, x]\nb: [*a, *a]\nnotebook: n\noutput_root: r\ngrid: [{seed: 0}]\n", "YAML aliases (*name) are not"),
    ("notebook: notebooks/training/train_cdcn.ipynb\noutput_root: runs/x\nrun_name: 5\ngrid:\n  - seed: 0\n",
     "run_name must be a text template"),
    ("notebook: notebooks/training/train_cdcn.ipynb\noutput_root: runs/x\ngrid:\n  - seed: []\n",
     "grid entry 1 gives seed an empty list"),
    ("notebook: notebooks/training/train_cdcn.ipynb\noutput_root: runs/x\nrun_name: '{seed!r:>99999999}'\n"
     "grid:\n  - seed: 0\n", "must be a plain parameter name"),
    ("notebook: notebooks/training/train_cdcn.ipynb\noutput_root: runs/x\nrun_name: '{seed.__class__}'\n"
     "grid:\n  - seed: 0\n", "must be a plain parameter name"),
    ("notebook: notebooks/training/train_cdcn.ipynb\noutput_root: runs/x\nrun_name: '../../{seed}'\n"
     "grid:\n  - seed: 0\n", "is not one folder name"),
    ("notebook: notebooks/training/train_cdcn.ipynb\noutput_root: runs/x\ndefaults: {model: cdcn, theta: 0.7, "
     "width: 1.0, target: night}\ngrid:\n  - seed: 0\n    protocol: ../../tmp/escape\n", "is not one folder name"),
    ("notebook: README.md\noutput_root: runs/x\ngrid:\n  - seed: 0\n", "README.md is not a notebook"),
    ("notebook: [unclosed\n", "is not valid YAML (line"),
    ("- a\n- b\n", "expected a mapping with notebook, output_root, defaults and grid, got list"),
    ("", "got nothing"),
    ("notebook: notebooks/training/train_cdcn.ipynb\noutput_root: runs/x\n", "missing grid"),
    ("notebook: notebooks/training/train_cdcn.ipynb\noutput_root: runs/x\ngrid: []\n", "non-empty list of mappings"),
    ("notebook: nowhere.ipynb\noutput_root: runs/x\ngrid:\n  - seed: 0\n", "names notebook nowhere.ipynb, not found"),
])
def test_a_malformed_sweep_config_is_one_line(tmp_path, capsys, text, expected):
    err = train_error([str(sweep_config(tmp_path, text)), "--dry-run"], capsys)
    assert expected in err


@pytest.mark.papermill
def test_train_cdcn_runs_on_a_real_dataset_layout(tmp_path):
    root = make_tree("oulu_npu", tmp_path / "OULU-NPU")
    run_papermill(REPO / "notebooks" / "training" / "train_cdcn.ipynb",
                  {"dataset": "oulu_npu", "data_root": str(root), "protocol": "1", "model": "cdcn",
                   "image_size": 32, "width": 0.125, "epochs": 1, "cpu_threads": 1,
                   "crop_cache": str(tmp_path / "crops"), "output_dir": str(tmp_path / "run")}, tmp_path)
    run = fl.runs.load_run(tmp_path / "run")
    results = json.loads((tmp_path / "run" / "results.json").read_text())
    assert results["map_size"] == 4 and run.threshold == results["metrics"]["threshold"]
    assert set(results["splits"]["test"]["pai"]) == {"bona_fide", "print_1", "print_2", "replay_1", "replay_2"}


@pytest.mark.papermill
def test_train_two_stream_runs_on_a_cross_dataset_protocol(tmp_path):
    roots = {"C": make_tree("casia_fasd", tmp_path / "CASIA-FASD"),
             "I": make_tree("replay_attack", tmp_path / "replay")}
    data_root = ",".join(f"{letter}={folder}" for letter, folder in roots.items())
    run_papermill(REPO / "notebooks" / "training" / "train_two_stream.ipynb",
                  {"dataset": "cross_dataset", "protocol": "C->I", "data_root": data_root, "branch": "multi_frame",
                   "frames": 3, "key_frame_k": 2, "image_size": 32, "width": 0.25, "batch_size": 4, "epochs": 1,
                   "cpu_threads": 1, "crop_cache": str(tmp_path / "crops"), "output_dir": str(tmp_path / "run")},
                  tmp_path)
    results = json.loads((tmp_path / "run" / "results.json").read_text())
    # the threshold from CASIA-FASD (the source), the test on the unseen Replay-Attack and its own instruments
    assert set(results["splits"]["test"]["pai"]) == {"bona_fide", "print", "mobile", "highdef"}
    assert set(results["splits"]["dev"]["pai"]) == {"bona_fide", "warped_print", "cut_print", "replay"}  # CASIA dev


def test_a_run_refuses_a_batch_size_below_one_and_a_folder_that_is_not_a_path(tmp_path):
    run = fl.runs.load_run(make_run(tmp_path / "run"))
    faces = np.zeros((2, 32, 32, 3), np.uint8)
    for batch_size in (0, -1, 2.5):
        with pytest.raises(ValueError, match=f"batch_size must be a whole number >= 1, got {batch_size}"):
            run.score(faces, batch_size=batch_size)
    with pytest.raises(ValueError, match="expected a run folder or one of"):
        fl.runs.load_run(None)
    with pytest.raises(ValueError, match="expected a torch nn.Module to load the weights into, got NoneType"):
        fl.checkpoints.load_weights(None, tmp_path / "run" / "model.safetensors")


def test_run_score_refuses_float_faces_that_it_would_read_as_0_to_255(tmp_path):
    run = fl.runs.load_run(make_run(tmp_path / "run"))
    faces = np.zeros((2, 32, 32, 3), np.uint8)
    assert run.score(faces).shape == (2,)
    with pytest.raises(ValueError, match="expected uint8 RGB face crops"):
        run.score(faces.astype(np.float32) / 127.5 - 1)


@pytest.mark.papermill
def test_a_training_run_with_an_invalid_parameter_ends_in_one_line(tmp_path, capsys):
    config = sweep_config(tmp_path, f"notebook: {REPO / 'notebooks/training/train_cdcn.ipynb'}\n"
                                    f"output_root: {tmp_path / 'runs'}\nrun_name: bad-clutter\n"
                                    "grid:\n  - clutter: -1\n    epochs: 1\n")
    with pytest.raises(SystemExit) as exit_info:
        main(["train", str(config)])
    message = str(exit_info.value.code)  # SystemExit with a message: exit status 1, the message on stderr
    assert message.startswith("[1/1] ") and "clutter" in message and "ValueError" in message
    assert len(message.splitlines()) == 1 and "executed notebook is" in message


@pytest.mark.papermill
def test_an_oanet_run_scores_faces_through_its_cue_and_exports(tmp_path, capsys):
    """train_oanet.ipynb with tiny settings, then the run as the command line uses it: the model rebuilt from
    results.json, the cue computed per face by the run's DFG, a 6-channel ONNX file."""
    from faslearn.models.dfg import benchmark_cues

    run_papermill(REPO / "notebooks" / "training" / "train_oanet.ipynb",
                  {"variant": "oanet", "identities_per_domain": 5, "epochs": 1, "width": 32, "depth": 1, "heads": 2,
                   "cue_dim": 16, "ddim_steps": 2, "cpu_threads": 1, "output_dir": str(tmp_path / "run")}, tmp_path)
    run = fl.runs.load_run(tmp_path / "run")
    results = json.loads((tmp_path / "run" / "results.json").read_text())
    assert isinstance(run.model, fl.models.OANet) and run.inputs == "image+cue"
    assert run.threshold == results["metrics"]["threshold"]
    # the weights and settings round trip: with the training cache's cues, the stored test scores come back
    bench = fl.data.make_benchmark(identities_per_domain=5, progress=False)
    rows = bench.protocol("leave_one_out", "night")["test"]
    cue = benchmark_cues(fl.pretrained.load_dfg(), bench, strength=0.5, steps=2, progress=False)
    images = fl.models.dfg.to_model_range(bench.frames[rows, 0])
    with torch.no_grad():
        again = run.model(torch.cat([images, torch.from_numpy(cue[rows].astype(np.float32))], 1))
    np.testing.assert_allclose(again.numpy(), results["splits"]["test"]["scores"], atol=1e-5)
    # from uint8 faces, the cue made on the fly: finite scores, one per face
    scores = run.score(bench.frames[rows[:6], 0])
    assert scores.shape == (6,) and np.isfinite(scores).all()
    assert main(["export", str(tmp_path / "run"), str(tmp_path / "oanet.onnx"), "--check"]) == 0
    assert "image and its anomalous cue (computed by the run's DFG) stacked (N, 6, 64, 64)" in capsys.readouterr().out
    results["parameters"]["variant"] = "triple_branch"
    (tmp_path / "run" / "results.json").write_text(json.dumps(results))
    with pytest.raises(ValueError, match="is not a valid faslearn run: parameters.variant is 'triple_branch'"):
        fl.runs.load_run(tmp_path / "run")


@pytest.mark.papermill
def test_a_domain_generalised_run_with_limited_sources_and_pool_faces_joins_the_benchmark(tmp_path, capsys):
    """train_oanet.ipynb with SSDG, two source domains and the bona fide pool's faces added; the run is rebuilt
    from results.json (discriminator and all), scores its test faces as stored, and `faslearn benchmark` tables it."""
    run_papermill(REPO / "notebooks" / "training" / "train_oanet.ipynb",
                  {"variant": "only_image", "objective": "ssdg", "sources": "studio+office", "pool_faces": True,
                   "pool_identities": 4, "identities_per_domain": 5, "epochs": 1, "width": 32, "depth": 1,
                   "heads": 2, "cpu_threads": 1, "output_dir": str(tmp_path / "run")}, tmp_path)
    results = json.loads((tmp_path / "run" / "results.json").read_text())
    assert results["model_settings"]["num_domains"] == 5  # four domains and the pool
    run = fl.runs.load_run(tmp_path / "run")
    assert isinstance(run.model, fl.models.DomainGeneralised) and run.threshold == results["metrics"]["threshold"]
    bench = fl.data.make_benchmark(identities_per_domain=5, progress=False)
    rows = bench.protocol("leave_one_out", "night", sources=["studio", "office"])
    assert len(results["splits"]["dev"]["labels"]) == len(rows["dev"])  # the dev faces of the two sources only
    np.testing.assert_allclose(run.score(bench.frames[rows["test"], 0]), results["splits"]["test"]["scores"],
                               atol=1e-5)
    capsys.readouterr()
    assert main(["benchmark", str(tmp_path / "run"), "--bootstrap", "10", "--csv", str(tmp_path / "t.csv")]) == 0
    out = capsys.readouterr().out
    assert "ViT + SSDG" in out and "night" in out
    assert (tmp_path / "t.csv").read_text().startswith("method,runs,seeds,hter,")


@pytest.mark.papermill
def test_train_oanet_fine_tunes_a_local_clip_vit_with_ssdg_on_a_cross_dataset_protocol(tmp_path):
    """FLIP-style in miniature: a CLIP visual tower read from a local file (written here), fine-tuned with SSDG on
    CASIA-FASD, tested on Replay-Attack; the run rebuilds with its CLIP layers and scores as stored."""
    from safetensors.torch import save_file
    from test_oanet import clip_visual_state

    save_file(clip_visual_state(width=32, layers=1, patch=16, image=32), tmp_path / "clip.safetensors")
    roots = {"C": make_tree("casia_fasd", tmp_path / "CASIA-FASD"),
             "I": make_tree("replay_attack", tmp_path / "replay")}
    run_papermill(REPO / "notebooks" / "training" / "train_oanet.ipynb",
                  {"variant": "only_image", "objective": "ssdg", "dataset": "cross_dataset", "protocol": "C->I",
                   "data_root": ",".join(f"{k}={v}" for k, v in roots.items()), "image_size": 32, "patch_size": 16,
                   "width": 32, "depth": 1, "heads": 2, "mlp_ratio": 4.0, "stem": "patch", "vit_style": "clip",
                   "pretrained_vit": str(tmp_path / "clip.safetensors"), "batch_size": 4, "epochs": 1,
                   "cpu_threads": 1, "crop_cache": str(tmp_path / "crops"), "output_dir": str(tmp_path / "run")},
                  tmp_path)
    results = json.loads((tmp_path / "run" / "results.json").read_text())
    assert set(results["splits"]["test"]["pai"]) == {"bona_fide", "print", "mobile", "highdef"}  # Replay-Attack
    assert results["model_settings"]["num_domains"] == 2 and results["model_settings"]["style"] == "clip"
    run = fl.runs.load_run(tmp_path / "run")
    assert isinstance(run.model.backbone.pre_norm, torch.nn.LayerNorm)  # CLIP's ln_pre came back
    assert np.isfinite(run.score(np.zeros((2, 32, 32, 3), np.uint8))).all()


def test_benchmark_tables_shipped_sweeps_and_refuses_what_it_cannot_read(tmp_path, capsys):
    assert main(["benchmark", "oanet_sweep", "--target", "night", "--bootstrap", "0",
                 "--json", str(tmp_path / "t.json")]) == 0
    out = capsys.readouterr().out
    assert "OA-Net (energy cue)" in out and "night" in out and "legacy" in out
    table = json.loads((tmp_path / "t.json").read_text())
    assert {row["method"] for row in table} >= {"ViT", "OA-Net (energy cue)"}
    assert all(set(row["targets"]) == {"night"} for row in table)
    assert main(["benchmark", str(tmp_path / "nothing")]) == 1
    assert "expected a run folder, a collected sweep's .json file" in capsys.readouterr().err
    assert main(["benchmark", "oanet_sweep", "--target", "moon"]) == 1
    assert "no runs to compare on target(s) moon" in capsys.readouterr().err
    assert main(["benchmark", "oanet_sweep", "--json", str(tmp_path / "t.json")]) == 1  # exists: not replaced
    assert "exists already; pass --overwrite" in capsys.readouterr().err
