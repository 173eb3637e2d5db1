"""The protocol runner's shortcut audit (classifiers that see only a crop's border ring or global colour) and
the metrics of collected sweeps."""
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

from faslearn.experiments import border_ring_statistics, colour_statistics, feature_classifier, sweep_metrics
from faslearn.metrics import auc, evaluate

REPO = Path(__file__).resolve().parents[1]

N, SIZE = 600, 32
ROWS = {"train": np.arange(0, 400), "dev": np.arange(400, 500), "test": np.arange(500, 600)}


@pytest.fixture
def noise_world():
    """Frames of pure noise, half labelled bona fide (1), half attack (0): nothing tells them apart."""
    rng = np.random.default_rng(0)
    frames = rng.integers(0, 256, (N, SIZE, SIZE, 3)).astype(np.uint8)
    return frames, SimpleNamespace(label=rng.integers(0, 2, N))


def audit_auc(features, bench):
    _, test_scores = feature_classifier(features)(bench, ROWS)
    return auc(test_scores, bench.label[ROWS["test"]])


def test_feature_shapes():
    frames = np.zeros((5, SIZE, SIZE, 3), dtype=np.uint8)
    assert border_ring_statistics(frames).shape == (5, 28)
    assert colour_statistics(frames).shape == (5, 27)


def test_audit_finds_a_planted_border_strip_and_nothing_in_noise(noise_world):
    frames, bench = noise_world
    strip = frames.copy()
    strip[bench.label == 0, -3:] //= 2  # attacks: a darker strip along the bottom edge, 3 of 32 rows
    assert audit_auc(border_ring_statistics(strip), bench) > 0.95
    assert 0.35 < audit_auc(border_ring_statistics(frames), bench) < 0.65


def test_the_inner_ring_misses_an_edge_strip_and_sees_what_lies_inside_it(noise_world):
    frames, bench = noise_world
    width = SIZE // 8
    inner = frames[:, width:-width, width:-width]
    assert np.array_equal(border_ring_statistics(frames, inset=1),
                          border_ring_statistics(inner, fraction=width / (SIZE - 2 * width)))
    strip = frames.copy()
    strip[bench.label == 0, -3:] //= 2  # the planted border strip of the test above
    assert 0.35 < audit_auc(border_ring_statistics(strip, inset=1), bench) < 0.65
    inside = frames.copy()
    inside[bench.label == 0, -2 * width:-width] //= 2  # a strip one ring width in from the bottom edge
    assert audit_auc(border_ring_statistics(inside, inset=1), bench) > 0.95
    with pytest.raises(ValueError, match="does not fit"):
        border_ring_statistics(frames, inset=4)


def test_border_ring_ignores_the_centre_and_colour_statistics_see_a_cast(noise_world):
    frames, bench = noise_world
    cast = frames.copy()
    centre = cast[:, SIZE // 4:-SIZE // 4, SIZE // 4:-SIZE // 4]  # a view: writing to it writes to cast
    centre[bench.label == 0, ..., 2] //= 2  # attacks: less blue, in the centre only
    assert 0.35 < audit_auc(border_ring_statistics(cast), bench) < 0.65
    assert audit_auc(colour_statistics(cast), bench) > 0.95


def test_sweep_metrics_evaluates_each_run_and_fused_scores_alike():
    labels, pai = [1, 1, 0, 0], ["bona_fide", "bona_fide", "print_1", "replay_1"]
    split = {"labels": labels, "pai": pai, "video": ["a", "b", "c", "d"]}
    sweep = {"splits": {"intra-night": {"dev": split, "test": split}},
             "runs": {"good": {"parameters": {"branch": "multi_frame", "protocol": "intra", "seed": 0},
                               "frames": "intra-night", "scores": {"dev": [3, 2, -1, -2], "test": [2, 1, 0.5, -3]}}}}
    (row,) = sweep_metrics(sweep)
    expected = evaluate([3, 2, -1, -2], labels, [2, 1, 0.5, -3], labels, pai)
    assert row["hter"] == expected["hter"] and row["acer"] == expected["acer"]
    assert row["protocol"] == "intra" and row["name"] == "good" and row["branch"] == "multi_frame"
    fused = {"fused": {"dev": [1, 1, 0, 0], "test": [1, 0, 1, 0], "frames": "intra-night"}}
    (other,) = sweep_metrics(sweep, fused)
    assert other["name"] == "fused" and other["hter"] == evaluate([1, 1, 0, 0], labels, [1, 0, 1, 0], labels)["hter"]
    assert sweep_metrics(sweep, {}) == []  # no score sets, no rows (None: every run)


def test_paired_gap_over_identities_of_several_targets():
    from faslearn.experiments import paired_gap

    rng = np.random.default_rng(0)
    splits, rows = {}, {"good": [], "poor": []}
    for key in ("leave_one_out-night", "leave_one_out-studio"):
        people = np.repeat(np.arange(30), 4)
        labels = np.tile([1, 1, 0, 0], 30)
        splits[key] = {"test": {"labels": labels.tolist(), "pai": np.where(labels, "bona_fide", "print_1").tolist(),
                                "video": [f"{key[-5:]}/{p}/x_{i}" for i, p in enumerate(people)]}}
        for seed in range(2):
            for name, noise in (("good", 0.3), ("poor", 3.0)):
                scores = labels + noise * rng.standard_normal(len(labels))
                rows[name].append({"frames": key, "threshold": 0.5, "test_scores": scores})
    sweep = {"splits": splits}
    better = paired_gap(sweep, rows["good"], rows["poor"], n_boot=200)
    assert better["gap"] > 20 and better["low"] > 0 and better["n_a"] == 4
    same = paired_gap(sweep, rows["good"], rows["good"], n_boot=50)
    assert same == {"gap": 0.0, "low": 0.0, "high": 0.0, "n_a": 4, "n_b": 4}


def toy_sweep(seed=0):
    """Two methods (a good and a poor ViT objective) on two targets and two seeds, with test and dev scores."""
    rng = np.random.default_rng(seed)
    splits, runs = {}, {}
    for target in ("night", "studio"):
        key = f"leave_one_out-{target}"
        labels = np.tile([1, 1, 0, 0], 20)
        split = {"labels": labels.tolist(), "pai": np.where(labels, "bona_fide", "print_1").tolist(),
                 "video": [f"{target}/{i // 4}/x_{i}" for i in range(len(labels))]}
        splits[key] = {"dev": split, "test": split}
        for s in range(2):
            for objective, noise in (("ssdg", 0.2), ("erm", 2.0)):
                parameters = {"variant": "only_image", "objective": objective, "protocol": "leave_one_out",
                              "target": target, "seed": s}
                scores = {split_name: (labels + noise * rng.standard_normal(len(labels))).tolist()
                          for split_name in ("dev", "test")}
                best = 0.1 if objective == "ssdg" else 0.3
                history = [{"epoch": 1, "test_eer": 0.4}, {"epoch": 2, "test_eer": best}]
                runs[f"{objective}-{target}-{s}"] = {"parameters": parameters, "frames": key, "scores": scores,
                                                     "history": history}
    return {"splits": splits, "runs": runs}


def test_the_benchmark_groups_runs_by_method_and_reports_targets_seeds_intervals_and_the_legacy_column():
    from faslearn.experiments import benchmark, benchmark_text

    sweep = toy_sweep()
    table = {row["method"]: row for row in benchmark(sweep, n_boot=50)}
    assert set(table) == {"ViT + SSDG", "ViT"}
    good, poor = table["ViT + SSDG"], table["ViT"]
    assert good["runs"] == 4 and good["seeds"] == 2 and set(good["targets"]) == {"night", "studio"}
    rows = [r for r in sweep_metrics(sweep) if r["objective"] == "ssdg"]
    assert good["hter"] == pytest.approx(np.mean([r["hter"] for r in rows]))
    per_seed = [np.mean([r["hter"] for r in rows if r["seed"] == s]) for s in (0, 1)]
    assert good["hter_sd"] == pytest.approx(np.std(per_seed, ddof=1))
    assert good["low"] <= good["hter"] <= good["high"] and good["hter"] < poor["hter"]
    assert good["legacy_best"] == pytest.approx(0.1) and poor["legacy_best"] == pytest.approx(0.3)
    from faslearn.metrics import eer, pad_metrics

    labels = {r["name"]: sweep["splits"][r["frames"]]["test"]["labels"] for r in rows}
    legacy = [pad_metrics(r["test_scores"], labels[r["name"]], eer(r["test_scores"], labels[r["name"]])[1])["hter"]
              for r in rows]
    assert good["legacy_hter"] == pytest.approx(np.mean(legacy))  # each run at its target's own EER threshold
    text = benchmark_text(list(table.values()))
    assert "ViT + SSDG" in text and "night" in text and "legacy" in text


def test_the_two_stream_model_fuses_each_multi_frame_run_with_its_rgb_difference_twin():
    import torch

    from faslearn.experiments import benchmark, fuse_two_stream
    from faslearn.models import fuse_scores

    labels = [1, 1, 0, 0]
    split = {"labels": labels, "pai": ["bona_fide", "bona_fide", "print_1", "replay_1"], "video": list("abcd")}
    runs = {}
    for seed in (0, 1):
        for branch, fpm, logits in (("multi_frame", "top_down", [2, 1, -1, 0.5]),
                                    ("rgb_difference", "bottom_up", [1, 0.5, 0.2, -2]),
                                    ("rgb_difference", "top_down", [9, 9, 9, 9])):  # not the paper's pyramid
            parameters = {"branch": branch, "fpm": fpm, "ppm": True, "protocol": "leave_one_out", "target": "night",
                          "seed": seed, "output_dir": f"runs/{branch}-{fpm}-{seed}"}
            runs[f"{branch}-{fpm}-{seed}"] = {"parameters": parameters, "frames": "loo-night",
                                              "scores": {"dev": logits, "test": logits}}
    runs["multi_frame-top_down-lonely"] = {**runs["multi_frame-top_down-0"],
                                           "parameters": {**runs["multi_frame-top_down-0"]["parameters"], "seed": 5}}
    sweep = {"splits": {"loo-night": {"dev": split, "test": split}}, "runs": runs}
    fused = fuse_two_stream(sweep)
    assert sorted(fused["runs"]) == [f"multi_frame-top_down-{s} + rgb_difference-bottom_up-{s}" for s in (0, 1)]
    run = fused["runs"]["multi_frame-top_down-0 + rgb_difference-bottom_up-0"]
    expected = fuse_scores(torch.tensor([2, 1, -1, 0.5]), torch.tensor([1, 0.5, 0.2, -2])).tolist()
    assert run["scores"]["test"] == pytest.approx(expected) and run["parameters"]["branch"] == "two_stream"
    (row,) = benchmark(fused, n_boot=0)
    assert row["method"] == "two-stream" and row["seeds"] == 2 and row["targets"] == {"night": 0.0}
    assert run["members"] == ["multi_frame-top_down-0", "rgb_difference-bottom_up-0"]
    # fpm="paper" (train_two_stream.ipynb's default) is the paper's pyramid; where a run ran does not matter
    runs["multi_frame-top_down-1"]["parameters"] |= {"fpm": "paper", "device": "cuda", "cpu_threads": 4}
    assert len(fuse_two_stream(sweep)["runs"]) == 2
    runs["rgb_difference-bottom_up-1"]["parameters"] |= {"lr": 0.01}  # another setting: no pair
    assert len(fuse_two_stream(sweep)["runs"]) == 1
    del runs["rgb_difference-bottom_up-1"]["parameters"]["lr"]
    runs["rgb_difference-bottom_up-1"] = {**runs["rgb_difference-bottom_up-1"], "frames": "loo-studio"}
    with pytest.raises(ValueError, match="scored different clips"):
        fuse_two_stream(sweep)
    runs["rgb_difference-bottom_up-1"]["frames"] = "loo-night"
    runs["copy"] = {**runs["rgb_difference-bottom_up-0"]}
    with pytest.raises(ValueError, match="are the same rgb_difference run"):
        fuse_two_stream(sweep)


def test_the_default_dfg_strength_is_train_oanets():
    from faslearn.experiments import DFG_STRENGTH
    from faslearn.sweeps import notebook_parameters

    assert notebook_parameters(REPO / "notebooks/training/train_oanet.ipynb")["strength"] == DFG_STRENGTH


def test_sweeps_merge_when_they_share_frames_and_refuse_when_they_do_not():
    from faslearn.experiments import merge_sweeps, method_name

    a, b = toy_sweep(0), toy_sweep(1)
    b["runs"] = {f"other-{k}": v for k, v in b["runs"].items()}
    merged = merge_sweeps([a, b])
    assert len(merged["runs"]) == 16 and set(merged["splits"]) == set(a["splits"])
    with pytest.raises(ValueError, match="appears in two sweeps"):
        merge_sweeps([a, a])
    c = toy_sweep(2)
    c["runs"] = {f"c-{k}": v for k, v in c["runs"].items()}
    c["splits"]["leave_one_out-night"]["test"] = {**c["splits"]["leave_one_out-night"]["test"], "labels": [0] * 80}
    with pytest.raises(ValueError, match="scored different leave_one_out-night frames"):
        merge_sweeps([a, c])
    d = toy_sweep(3)
    d["runs"] = {f"d-{k}": {**v, "parameters": {**v["parameters"], "moire": 0.0}} for k, v in d["runs"].items()}
    with pytest.raises(ValueError, match="on another world"):
        merge_sweeps([a, d])
    assert method_name({"variant": "oanet", "objective": "ssdg", "cue_form": "energy"}) == "OA-Net (energy cue) + SSDG"
    assert method_name({"variant": "only_image", "pretrained_vit": "x.safetensors"}) == "ViT (pre-trained)"
    # a DFG cue made at another strength than train_oanet.ipynb's default is another row (Table VI's)
    assert method_name({"variant": "oanet", "cue_form": "energy", "strength": 0.5}) == "OA-Net (energy cue)"
    assert method_name({"variant": "oanet", "cue_form": "energy", "strength": 0.25}) == \
        "OA-Net (energy cue, strength 0.25)"
    assert method_name({"variant": "oanet", "strength": 0.75}) == "OA-Net (strength 0.75)"
    assert method_name({"variant": "oanet", "cue_source": "autoencoder", "strength": 0.75}) == \
        "OA-Net (autoencoder cue)"  # no diffusion, no strength
    assert method_name({"variant": "only_image", "objective": "ssdg", "pool_faces": True}) == "ViT + SSDG + pool faces"
    # loss weights other than the objective's defaults (SSDG's official 2 / 0.1) are part of the row
    assert method_name({"variant": "only_image", "objective": "ssdg", "lambda_triplet": 2.0,
                        "lambda_adversarial": 0.1}) == "ViT + SSDG"
    assert method_name({"variant": "only_image", "objective": "ssdg", "lambda_adversarial": 0.5}) == \
        "ViT + SSDG (λ adversarial 0.5)"
    assert method_name({"variant": "oanet", "objective": "ssdg", "cue_form": "energy", "lambda_triplet": 1.0,
                        "lambda_adversarial": 0.5}) == "OA-Net (energy cue) + SSDG (λ triplet 1, adversarial 0.5)"
    assert method_name({"variant": "only_image", "objective": "erm", "lambda_adversarial": 0.5}) == "ViT"
    assert method_name({"variant": "only_image", "sources": "studio+office"}) == "ViT, studio+office in"
    clip = {"variant": "only_image", "vit_style": "clip", "pretrained_vit": "clip.safetensors"}
    assert method_name(clip) == "CLIP ViT"
    assert method_name({"model": "cdcn", "theta": 0.7}) == "CDCN (depth)"
    assert method_name({"model": "cdcn", "theta": 0.4}) == "CDCN (depth), θ 0.4"
    assert method_name({"branch": "multi_frame"}) == "two-stream multi_frame"
    assert method_name({"branch": "multi_frame", "fpm": "top_down", "ppm": True}) == "two-stream multi_frame"
    assert method_name({"branch": "rgb_difference", "fpm": "none", "ppm": False, "optimizer": "sgd",
                        "augment": True}) == "two-stream rgb_difference (no FPM, no PPM, SGD, augmented)"
    assert method_name({"branch": "multi_frame", "fpm": "bottom_up"}) == "two-stream multi_frame (bottom-up FPM)"
    assert method_name({"branch": "two_stream", "fpm": None, "optimizer": "sgd"}) == "two-stream (SGD)"
    assert method_name({"branch": "two_stream", "max_train_samples": 540}) == "two-stream (540 clips)"
    assert method_name({"model": "cdcn", "max_train_samples": 540}) == "CDCN (depth), 540 presentations"
    assert method_name({"model": "cdcn", "max_train_samples": 0}) == "CDCN (depth)"


def test_a_run_folder_or_a_sweep_file_is_read_and_anything_else_refused_in_one_line(tmp_path):
    from faslearn.experiments import read_sweep

    with pytest.raises(FileNotFoundError, match="expected a run folder, a collected sweep's .json file"):
        read_sweep(tmp_path / "nothing")
    (tmp_path / "bad.json").write_text("[1, 2]")
    with pytest.raises(ValueError, match="is not a collected sweep: expected a JSON object with 'splits' and 'runs'"):
        read_sweep(tmp_path / "bad.json")
    (tmp_path / "run").mkdir()
    with pytest.raises(FileNotFoundError, match="no results.json in"):
        read_sweep(tmp_path / "run")
    import json

    (tmp_path / "good.json").write_text(json.dumps(toy_sweep()))
    assert len(read_sweep(tmp_path / "good.json")["runs"]) == 8
