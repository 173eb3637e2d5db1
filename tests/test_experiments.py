"""The protocol runner's shortcut audit (classifiers that see only a crop's border ring or global colour) and
the metrics of collected sweeps."""
from types import SimpleNamespace

import numpy as np
import pytest

from faslearn.experiments import border_ring_statistics, colour_statistics, feature_classifier, sweep_metrics
from faslearn.metrics import auc, evaluate

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
