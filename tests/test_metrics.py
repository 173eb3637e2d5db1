"""faslearn.metrics against scikit-learn's ROC code and against hand-worked examples."""
import warnings

import numpy as np
import pytest
from sklearn.metrics import roc_auc_score, roc_curve

from faslearn.metrics import (
    auc,
    bootstrap_ci,
    bpcer_at_apcer,
    eer,
    evaluate,
    evaluate_optimistic_test_threshold,
    pad_metrics,
    tpr_at_fpr,
    video_scores,
)


def random_scores(seed, tied):
    """300 scores, bona fide (label 1) centred 1.2 above attacks; ``tied`` rounds to halves."""
    rng = np.random.default_rng(seed)
    labels = (rng.random(300) < 0.4).astype(int)
    scores = rng.normal(loc=1.2 * labels, scale=1.0)
    if tied:
        scores = np.round(scores * 2) / 2
    return scores, labels


SCORE_CASES = [(seed, tied) for seed in range(4) for tied in (False, True)]


@pytest.mark.parametrize("seed, tied", SCORE_CASES)
def test_eer_matches_roc_curve(seed, tied):
    scores, labels = random_scores(seed, tied)
    n_attack, n_bona_fide = np.sum(labels == 0), np.sum(labels == 1)
    fpr, tpr, thresholds = roc_curve(labels, scores, drop_intermediate=False)
    # sklearn's first point is threshold = inf (accept nothing); the rest are the unique scores.
    # Recover integer counts and apply the documented rule:
    # min |APCER - BPCER|, then min APCER + BPCER, then the lowest threshold.
    candidates = []
    for rate_fa, rate_ta, t in zip(fpr[1:], tpr[1:], thresholds[1:]):
        false_accepts = round(rate_fa * n_attack)
        false_rejects = n_bona_fide - round(rate_ta * n_bona_fide)
        gap = abs(false_accepts * n_bona_fide - false_rejects * n_attack)
        total = false_accepts * n_bona_fide + false_rejects * n_attack
        rate = (false_accepts / n_attack + false_rejects / n_bona_fide) / 2
        candidates.append((gap, total, t, rate))
    _, _, expected_threshold, expected_eer = min(candidates)

    rate, threshold = eer(scores, labels)
    assert threshold == expected_threshold
    assert rate == pytest.approx(expected_eer, abs=1e-12)
    # The EER is the HTER at its own threshold.
    at_threshold = pad_metrics(scores, labels, threshold)
    assert rate == pytest.approx(at_threshold["hter"], abs=1e-12)


def test_eer_of_separable_scores_is_zero_at_the_lowest_bona_fide_score():
    assert eer([0.1, 0.2, 0.7, 0.9], [0, 0, 1, 1]) == (0.0, 0.7)


def test_eer_tie_breaking_by_hand():
    # Bona fide 0.1, 0.9; attacks 0.5, 0.5.
    #   t = 0.1: APCER 2/2, BPCER 0/2 -> |gap| 1,   sum 1
    #   t = 0.5: APCER 2/2, BPCER 1/2 -> |gap| 1/2, sum 3/2
    #   t = 0.9: APCER 0/2, BPCER 1/2 -> |gap| 1/2, sum 1/2   chosen (smaller sum): EER = 1/4
    assert eer([0.1, 0.9, 0.5, 0.5], [1, 1, 0, 0]) == (0.25, 0.9)
    # Bona fide 0.5, 0.9; attacks 0.1, 0.5.
    #   t = 0.5: APCER 1/2, BPCER 0/2 and t = 0.9: APCER 0/2, BPCER 1/2 tie on |gap| and sum,
    #   so the lower threshold wins: EER = 1/4 at 0.5.
    assert eer([0.5, 0.9, 0.1, 0.5], [1, 1, 0, 0]) == (0.25, 0.5)


@pytest.mark.parametrize("seed, tied", SCORE_CASES)
def test_auc_matches_roc_auc_score(seed, tied):
    scores, labels = random_scores(seed, tied)
    assert auc(scores, labels) == pytest.approx(roc_auc_score(labels, scores), abs=1e-12)


def test_auc_counts_ties_half():
    # One bona fide/attack pair tied (1/2), three pairs ordered correctly: AUC = 3.5 / 4.
    assert auc([0.5, 0.2, 0.5, 0.9], [0, 0, 1, 1]) == 0.875


@pytest.mark.parametrize("seed, tied", SCORE_CASES)
@pytest.mark.parametrize("target", [0.0, 0.01, 0.1, 0.5])
def test_tpr_at_fpr_matches_roc_curve(seed, tied, target):
    scores, labels = random_scores(seed, tied)
    fpr, tpr, _ = roc_curve(labels, scores, drop_intermediate=False)
    assert tpr_at_fpr(scores, labels, target) == tpr[fpr <= target].max()


def test_max_and_pooled_apcer_differ_by_hand():
    # Threshold 0.5, accepted when score >= 0.5.
    #   bona fide: 0.9 0.8 0.7 0.3        -> 1 of 4 rejected   BPCER = 1/4
    #   print:     0.1 0.2 0.6 0.2        -> 1 of 4 accepted   APCER_print  = 1/4
    #   replay:    0.55 0.4               -> 1 of 2 accepted   APCER_replay = 1/2
    #   APCER = max(1/4, 1/2) = 1/2;   APCER_pooled = 2/6 = 1/3
    #   ACER = (1/2 + 1/4) / 2 = 3/8;  HTER = (1/3 + 1/4) / 2 = 7/24
    scores = [0.9, 0.8, 0.7, 0.3, 0.1, 0.2, 0.6, 0.2, 0.55, 0.4]
    labels = [1, 1, 1, 1, 0, 0, 0, 0, 0, 0]
    pai = ["bona_fide", None, "", "bona_fide"] + ["print"] * 4 + ["replay"] * 2
    metrics = pad_metrics(scores, labels, 0.5, pai)
    assert metrics["apcer_per_pai"] == {"print": 0.25, "replay": 0.5}
    assert metrics["apcer"] == 0.5
    assert metrics["apcer_pooled"] == pytest.approx(1 / 3)
    assert metrics["bpcer"] == 0.25
    assert metrics["acer"] == 0.375
    assert metrics["hter"] == pytest.approx(7 / 24)
    assert metrics["threshold"] == 0.5
    # Without PAI names every attack is one species, and max = pooled.
    single = pad_metrics(scores, labels, 0.5)
    assert single["apcer_per_pai"] == {"attack": pytest.approx(1 / 3)}
    assert single["apcer"] == single["apcer_pooled"]


def test_deepixbis_oulu_p1_table():
    # Idiap's baselines table, DeePixBiS on OULU-NPU P1 eval: APCER 4.2 %, BPCER 0.0 %,
    # ACER 2.1 %, HTER 0.8 %, with 8 of 480 attacks accepted. The eval split has 120 bona fide
    # videos and four attack species of 120 (print_1, print_2, replay_1, replay_2).
    #   pooled APCER = 8/480 = 1.67 %          HTER = (1.67 + 0) / 2 = 0.83 %
    #   APCER = 4.2 % = 5/120, so 5 of the 8 accepts are in one species (we put them in replay_1
    #   and the other 3 in print_2; the table does not say which)   ACER = (4.17 + 0) / 2 = 2.08 %
    # With two species of 240 the max could not exceed 8/240 = 3.3 %: 4.2 % needs the finer split.
    species = ["print_1", "print_2", "replay_1", "replay_2"]
    false_accepts = {"print_1": 0, "print_2": 3, "replay_1": 5, "replay_2": 0}
    scores, labels, pai = [0.9] * 120, [1] * 120, ["bona_fide"] * 120
    for name in species:
        scores += [0.8] * false_accepts[name] + [0.1] * (120 - false_accepts[name])
        labels += [0] * 120
        pai += [name] * 120
    metrics = pad_metrics(scores, labels, 0.5, pai, known_pais=species)
    assert metrics["apcer"] == pytest.approx(5 / 120)
    assert round(100 * metrics["apcer"], 1) == 4.2
    assert round(100 * metrics["apcer_pooled"], 1) == 1.7
    assert metrics["bpcer"] == 0.0
    assert round(100 * metrics["acer"], 1) == 2.1
    assert round(100 * metrics["hter"], 1) == 0.8
    # Grouped into print / replay (240 each), the same scores give APCER = 5/240 = 2.1 %.
    coarse_pai = [name if name == "bona_fide" else name.split("_")[0] for name in pai]
    coarse = pad_metrics(scores, labels, 0.5, coarse_pai)
    assert coarse["apcer_per_pai"] == {"print": 3 / 240, "replay": 5 / 240}


def test_test_threshold_is_more_optimistic_than_dev_threshold():
    # The test set is shifted down (a new domain). Dev: attacks 0.1-0.3, bona fide 0.7-0.9, so the
    # dev EER threshold is 0.7 (APCER = BPCER = 0; the lowest such candidate).
    # Test at 0.7: no attack accepted, bona fide 0.5 and 0.6 rejected -> HTER = (0 + 2/3) / 2 = 1/3.
    # Test at its own EER threshold 0.5: no errors -> HTER = 0.
    dev_scores, dev_labels = [0.1, 0.2, 0.3, 0.7, 0.8, 0.9], [0, 0, 0, 1, 1, 1]
    test_scores, test_labels = [0.2, 0.3, 0.4, 0.5, 0.6, 0.9], [0, 0, 0, 1, 1, 1]
    fair = evaluate(dev_scores, dev_labels, test_scores, test_labels)
    with pytest.warns(UserWarning, match="optimistic"):
        optimistic = evaluate_optimistic_test_threshold(test_scores, test_labels)
    assert fair["threshold"] == 0.7 and fair["hter"] == pytest.approx(1 / 3)
    assert optimistic["threshold"] == 0.5 and optimistic["hter"] == 0.0
    assert optimistic["hter"] < fair["hter"]
    assert fair["protocol"] == "dev_threshold"
    assert optimistic["protocol"] == "test_threshold_optimistic"


def test_evaluate_reports_test_metrics_at_the_dev_eer_threshold():
    dev_scores, dev_labels = random_scores(10, tied=False)
    test_scores, test_labels = random_scores(11, tied=True)
    attack_pai = np.where(np.arange(300) % 2, "print", "replay")
    test_pai = np.where(test_labels == 1, "bona_fide", attack_pai)
    report = evaluate(dev_scores, dev_labels, test_scores, test_labels, test_pai)
    threshold = eer(dev_scores, dev_labels)[1]
    assert report["threshold"] == threshold
    assert pad_metrics(test_scores, test_labels, threshold, test_pai).items() <= report.items()
    assert report["auc"] == pytest.approx(roc_auc_score(test_labels, test_scores))
    assert report["eer"] == eer(test_scores, test_labels)[0]
    assert report["tpr_at_fpr_1pct"] == tpr_at_fpr(test_scores, test_labels, 0.01)


def test_optimistic_mode_warns_exactly_once_per_call():
    scores, labels = random_scores(0, tied=False)
    for _ in range(2):
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            evaluate_optimistic_test_threshold(scores, labels)
        assert [w.category for w in caught] == [UserWarning]


def test_video_scores_average_frames_in_order_of_first_appearance():
    result = video_scores(
        frame_scores=[0.2, 0.4, 0.9, 0.1, 0.7, 0.3],
        video_ids=["b", "b", "a", "c", "a", "b"],
        labels=[0, 0, 1, 0, 1, 0],
        pai=["print", "print", None, "replay", "bona_fide", "print"],
    )
    assert result.video_ids.tolist() == ["b", "a", "c"]
    np.testing.assert_allclose(result.scores, [(0.2 + 0.4 + 0.3) / 3, (0.9 + 0.7) / 2, 0.1])
    assert result.labels.tolist() == [0, 1, 0]
    assert result.pai.tolist() == ["print", "bona_fide", "replay"]
    ids, scores, labels, pai = video_scores([1.0, 3.0], [7, 7])
    assert ids.tolist() == [7] and scores.tolist() == [2.0] and labels is None and pai is None


GOOD_SCORES, GOOD_LABELS = [0.1, 0.4, 0.6, 0.9], [0, 0, 1, 1]
SCORE_FUNCTIONS = {
    "eer": eer,
    "auc": auc,
    "tpr_at_fpr": tpr_at_fpr,
    "pad_metrics": lambda s, y: pad_metrics(s, y, 0.5),
    "evaluate_dev": lambda s, y: evaluate(s, y, GOOD_SCORES, GOOD_LABELS),
    "evaluate_test": lambda s, y: evaluate(GOOD_SCORES, GOOD_LABELS, s, y),
    "evaluate_optimistic": evaluate_optimistic_test_threshold,
}
BAD_SCORES_AND_LABELS = [
    ([], [], r"non-empty 1-D array, got shape \(0,\)"),
    ([[0.1, 0.9]], [[0, 1]], r"non-empty 1-D array, got shape \(1, 2\)"),
    ([0.1, 0.9, 0.5], [0, 1], r"labels must have one entry per score \(3\)"),
    ([0.1, np.nan], [0, 1], "scores must be finite, got nan at index 1"),
    ([np.inf, 0.9], [0, 1], "scores must be finite, got inf at index 0"),
    ([0.1, 0.9], [0, 2], r"labels must be 1 \(bona fide\) or 0 \(attack\), got 2"),
    ([0.1, 0.9], [1, 1], r"need both bona fide \(1\) and attack \(0\) samples, got only label 1"),
]


@pytest.mark.parametrize("function", SCORE_FUNCTIONS.values(), ids=SCORE_FUNCTIONS.keys())
@pytest.mark.parametrize("scores, labels, message", BAD_SCORES_AND_LABELS)
def test_every_function_rejects_bad_scores_and_labels(function, scores, labels, message):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        with pytest.raises(ValueError, match=message) as error:
            function(scores, labels)
    assert "\n" not in str(error.value)


def metrics_with_pai(pai, **kwargs):
    return pad_metrics(GOOD_SCORES, GOOD_LABELS, 0.5, pai, **kwargs)


@pytest.mark.parametrize("call, message", [
    (lambda: metrics_with_pai(["print", "bona_fide", "bona_fide", "bona_fide"]),
     r"sample 1 is an attack \(label 0\) but its PAI is 'bona_fide'; "
     "expected an attack instrument name"),
    (lambda: metrics_with_pai(["print", "print", "print", "bona_fide"]),
     r"sample 2 is bona fide \(label 1\) but its PAI is 'print'; "
     r"expected one of \['bona_fide', None, ''\]"),
    (lambda: metrics_with_pai(["print", "prnt", None, None], known_pais=["print", "replay"]),
     r"unknown PAI label 'prnt'; expected one of \['print', 'replay'\]"),
    (lambda: metrics_with_pai(["print"]), r"pai must have one entry per score \(4\), got 1"),
    (lambda: metrics_with_pai(5), r"pai must be a sequence of instrument names, one per score, got 5"),
    (lambda: metrics_with_pai([1, 2, 3, 4]), r"pai must name each sample's instrument as a string, got 1"),
    (lambda: tpr_at_fpr(GOOD_SCORES, GOOD_LABELS, fpr="0.1"), r"fpr must be a number in \[0, 1\], got '0.1'"),
    (lambda: pad_metrics(GOOD_SCORES, GOOD_LABELS, float("nan")), "threshold must be a number"),
    (lambda: evaluate(GOOD_SCORES, GOOD_LABELS, GOOD_SCORES, GOOD_LABELS, test_pai=[None] * 4),
     r"sample 0 is an attack \(label 0\) but its PAI is None"),
    (lambda: tpr_at_fpr(GOOD_SCORES, GOOD_LABELS, fpr=1.5), r"fpr must be a number in \[0, 1\], got 1.5"),
    (lambda: video_scores([0.1, 0.2], ["a"]),
     r"video_ids must have one entry per frame score \(2\)"),
    (lambda: video_scores([0.1, 0.2, 0.3], ["a", "b", "a"], labels=[1, 0, 0]),
     "labels must be constant within a video, but video 'a' has both 1 and 0"),
    (lambda: video_scores([0.1, 0.2, 0.3], ["a", "a", "b"], [0, 0, 0], ["print", "replay", "x"]),
     "pai must be constant within a video, but video 'a' has both 'print' and 'replay'"),
])
def test_bad_pai_threshold_and_video_inputs(call, message):
    with pytest.raises(ValueError, match=message) as error:
        call()
    assert "\n" not in str(error.value)


def test_bpcer_at_apcer_max_and_pooled_pick_different_thresholds_by_hand():
    # bona fide: 0.35 0.45 0.75 0.95;  print: 0.1 0.2 0.3 0.4;  replay: 0.15 0.5;  target 25 %.
    # Pooled (6 attacks): t = 0.4 accepts 0.4, 0.5 -> 2/6 > 1/4; t = 0.45 accepts 0.5 -> 1/6 <= 1/4,
    #   BPCER = 1/4 (0.35 rejected); t = 0.5 would reject 0.45 too. -> t = 0.45, BPCER 1/4.
    # Max: replay accepts 0.5 for every t <= 0.5 -> APCER_replay = 1/2 > 1/4; t = 0.75 accepts no
    #   attack, BPCER = 2/4. -> t = 0.75, BPCER 1/2, APCER 0.
    scores = [0.35, 0.45, 0.75, 0.95, 0.1, 0.2, 0.3, 0.4, 0.15, 0.5]
    labels = [1, 1, 1, 1, 0, 0, 0, 0, 0, 0]
    pai = ["bona_fide"] * 4 + ["print"] * 4 + ["replay"] * 2
    pooled = bpcer_at_apcer(scores, labels, pai, apcer=0.25, aggregate="pooled")
    assert pooled == {"threshold": 0.45, "bpcer": 0.25, "apcer": pytest.approx(1 / 6)}
    assert bpcer_at_apcer(scores, labels, apcer=0.25) == pooled  # no PAI: one species = pooled
    per_species = bpcer_at_apcer(scores, labels, pai, apcer=0.25)
    assert per_species == {"threshold": 0.75, "bpcer": 0.5, "apcer": 0.0}
    # The pooled operating point hides a replay weak spot: half the replays get through.
    assert pad_metrics(scores, labels, 0.45, pai)["apcer_per_pai"]["replay"] == 0.5
    # One step looser than 0.75 with fewer rejects (t = 0.45) breaks the per-species target.
    assert pad_metrics(scores, labels, 0.45, pai)["apcer"] > 0.25


def test_bpcer_at_apcer_keeps_tied_scores_together():
    # Attacks 0.6, 0.6, 0.1, 0.1 at target 25 %: no threshold accepts just one of the tied 0.6, so
    # APCER jumps 0 -> 1/2 and the threshold must pass 0.6; the next score is bona fide 0.8.
    scores, labels = [0.5, 0.8, 0.9, 0.95, 0.6, 0.6, 0.1, 0.1], [1, 1, 1, 1, 0, 0, 0, 0]
    assert bpcer_at_apcer(scores, labels, apcer=0.25) == {
        "threshold": 0.8, "bpcer": 0.25, "apcer": 0.0}
    # A bona fide and an attack tied at 0.5 are accepted together: APCER 1/2 allows t = 0.5 ...
    scores, labels = [0.5, 0.9, 0.5, 0.1], [1, 1, 0, 0]
    assert bpcer_at_apcer(scores, labels, apcer=0.5) == {
        "threshold": 0.5, "bpcer": 0.0, "apcer": 0.5}
    # ... anything stricter rejects both, and the next threshold is 0.9.
    assert bpcer_at_apcer(scores, labels, apcer=0.49) == {
        "threshold": 0.9, "bpcer": 0.5, "apcer": 0.0}
    # An attack tied with the top bona fide score: only "accept nothing" (t = +inf) meets 40 %.
    assert bpcer_at_apcer([0.2, 0.9, 0.9, 0.1], [1, 1, 0, 0], apcer=0.4) == {
        "threshold": np.inf, "bpcer": 1.0, "apcer": 0.0}


def test_bpcer_at_apcer_prefers_the_lower_apcer_at_equal_bpcer():
    # Bona fide 0.8, 0.9; attacks 0.1, 0.5, 0.6, 0.7; target 50 %. t = 0.6, 0.7 and 0.8 all keep
    # BPCER = 0 within the target (APCER 2/4, 1/4, 0): the highest, 0.8, dominates the others.
    result = bpcer_at_apcer([0.8, 0.9, 0.1, 0.5, 0.6, 0.7], [1, 1, 0, 0, 0, 0], apcer=0.5)
    assert result == {"threshold": 0.8, "bpcer": 0.0, "apcer": 0.0}


def brute_force_operating_points(scores, labels, pai, aggregate):
    """(thresholds, APCER, BPCER) at every unique score and +inf, straight from the definitions."""
    thresholds = np.append(np.unique(scores), np.inf)
    accepted = scores[None, :] >= thresholds[:, None]
    attack = labels == 0
    groups = [attack] if aggregate == "pooled" else [pai == name for name in set(pai[attack])]
    apcer = np.max([accepted[:, members].mean(axis=1) for members in groups], axis=0)
    bpcer = (~accepted[:, labels == 1]).mean(axis=1)
    return thresholds, apcer, bpcer


@pytest.mark.parametrize("seed, tied", SCORE_CASES)
@pytest.mark.parametrize("target", [0.0, 0.01, 0.05, 0.3])
@pytest.mark.parametrize("aggregate", ["max", "pooled"])
def test_bpcer_at_apcer_is_the_best_feasible_threshold(seed, tied, target, aggregate):
    scores, labels = random_scores(seed, tied)
    # Three attack species of unequal size, the third shifted up (a harder attack).
    species = np.array(["print", "replay", "mask"])[np.arange(300) % 7 % 3]
    scores = scores + 0.5 * ((labels == 0) & (species == "mask"))
    pai = np.where(labels == 1, "bona_fide", species).astype(object)
    result = bpcer_at_apcer(scores, labels, pai, apcer=target, aggregate=aggregate)

    thresholds, apcer, bpcer = brute_force_operating_points(scores, labels, pai, aggregate)
    feasible = apcer <= target
    assert result["apcer"] <= target
    assert result["bpcer"] == bpcer[feasible].min()
    assert result["apcer"] == apcer[feasible & (bpcer == result["bpcer"])].min()
    # The reported numbers are pad_metrics' at the reported threshold.
    at_threshold = pad_metrics(scores, labels, result["threshold"], pai)
    key = "apcer" if aggregate == "max" else "apcer_pooled"
    assert (at_threshold[key], at_threshold["bpcer"]) == (result["apcer"], result["bpcer"])
    # One step looser: the highest threshold that rejects fewer bona fide breaks the target.
    looser = thresholds[bpcer < result["bpcer"]]
    if looser.size:
        assert pad_metrics(scores, labels, looser.max(), pai)[key] > target
    if aggregate == "pooled":  # pooled APCER is the FPR of the ROC curve
        assert result["bpcer"] == pytest.approx(1 - tpr_at_fpr(scores, labels, target), abs=1e-12)


@pytest.mark.parametrize("call, message", [
    (lambda: bpcer_at_apcer(GOOD_SCORES, GOOD_LABELS, apcer=1.5),
     r"apcer must be a number in \[0, 1\], got 1.5"),
    (lambda: bpcer_at_apcer(GOOD_SCORES, GOOD_LABELS, aggregate="mean"),
     "aggregate must be 'max' or 'pooled', got 'mean'"),
    (lambda: bpcer_at_apcer(GOOD_SCORES, GOOD_LABELS, ["print", None, None, None]),
     r"sample 1 is an attack \(label 0\) but its PAI is None"),
    (lambda: bpcer_at_apcer([0.1, 0.9], [1, 1]), "need both bona fide"),
])
def test_bpcer_at_apcer_rejects_bad_input(call, message):
    with pytest.raises(ValueError, match=message) as error:
        call()
    assert "\n" not in str(error.value)


def identity_scores(n_identities, frames, seed=0, spread=1.0, noise=0.3):
    """``frames`` correlated frames per identity: a shared identity offset plus a little noise."""
    rng = np.random.default_rng(seed)
    identity_labels = np.arange(n_identities) % 2
    offsets = 1.5 * identity_labels + spread * rng.normal(size=n_identities)
    identities = np.repeat(np.arange(n_identities), frames)
    scores = offsets[identities] + noise * rng.normal(size=identities.size)
    return identities, scores, identity_labels[identities]


def test_bootstrap_ci_is_deterministic_for_a_seed():
    identities, scores, labels = identity_scores(40, 10)
    first = bootstrap_ci(auc, identities, scores, labels, n_boot=200, seed=3)
    assert bootstrap_ci(auc, identities, scores, labels, n_boot=200, seed=3) == first
    assert bootstrap_ci(auc, identities, scores, labels, n_boot=200, seed=4) != first
    assert isinstance(first[0], float) and first[0] < first[1]


def test_bootstrap_ci_brackets_the_point_estimate_of_the_docstring_example():
    _, dev_scores, dev_labels = identity_scores(40, 10, seed=1)
    test_identities, test_scores, test_labels = identity_scores(50, 10, seed=2)
    _, threshold = eer(dev_scores, dev_labels)
    point = pad_metrics(test_scores, test_labels, threshold)["hter"]
    low, high = bootstrap_ci(lambda s, y: pad_metrics(s, y, threshold)["hter"],
                             test_identities, test_scores, test_labels, n_boot=500)
    assert 0 <= low < point < high <= 1
    # A wider level gives a wider interval from the same replicates.
    low_99, high_99 = bootstrap_ci(lambda s, y: pad_metrics(s, y, threshold)["hter"],
                                   test_identities, test_scores, test_labels, n_boot=500,
                                   level=0.99)
    assert low_99 <= low and high <= high_99


def test_bootstrap_ci_resamples_whole_groups_with_replacement():
    groups = np.array(["a", "a", "a", "b", "c", "c"])
    sizes = {"a": 3, "b": 1, "c": 2}
    most_copies = []

    def check(drawn_groups, sample_index):
        assert (groups[sample_index] == drawn_groups).all()  # the arrays are resampled together
        names, counts = np.unique(drawn_groups, return_counts=True)
        assert all(count % sizes[name] == 0 for name, count in zip(names, counts))  # whole groups
        copies = [count // sizes[name] for name, count in zip(names, counts)]
        assert sum(copies) == 3  # as many groups drawn as there are
        most_copies.append(max(copies))
        return float(len(sample_index))

    bootstrap_ci(check, groups, groups, np.arange(6), n_boot=50)
    assert len(most_copies) == 50 and max(most_copies) >= 2  # some group drawn more than once


def test_bootstrap_ci_widens_when_frames_of_a_few_identities_are_correlated():
    # 10 identities x 50 near-identical frames: 10 independent units, not 500.
    identities, scores, _ = identity_scores(10, 50, spread=1.0, noise=0.1)
    by_identity = bootstrap_ci(np.mean, identities, scores)
    by_frame = bootstrap_ci(np.mean, np.arange(scores.size), scores)
    width_identity = by_identity[1] - by_identity[0]
    width_frame = by_frame[1] - by_frame[0]
    assert width_identity > 3 * width_frame
    assert by_identity[0] < np.mean(scores) < by_identity[1]


def test_bootstrap_ci_skips_failed_replicates_and_raises_when_most_fail():
    groups, values = np.arange(20), np.arange(20.0)
    replicate_means = []
    bootstrap_ci(lambda v: replicate_means.append(np.mean(v)) or 0.0, groups, values, n_boot=10)

    def fail_on(calls_to_fail):
        calls = []

        def metric(resampled):
            calls.append(None)
            if len(calls) in calls_to_fail:
                raise ValueError("only one class\nin this replicate")
            return float(np.mean(resampled))
        return metric

    # Half of 10 replicates failing is tolerated; the interval comes from the other half.
    low, high = bootstrap_ci(fail_on({1, 2, 3, 4, 5}), groups, values, n_boot=10)
    assert (low, high) == tuple(np.percentile(replicate_means[5:], [2.5, 97.5]))
    with pytest.raises(ValueError, match=r"on 6 of 10 bootstrap replicates \(more than half\), "
                                         "first: only one class in this replicate") as error:
        bootstrap_ci(fail_on({1, 2, 3, 4, 5, 6}), groups, values, n_boot=10)
    assert "\n" not in str(error.value)

    # Realistic: 2 bona fide and 2 attack identities; 1 in 8 replicates draws one class only.
    skipped = []

    def counted_auc(scores, labels):
        try:
            return auc(scores, labels)
        except ValueError:
            skipped.append(None)
            raise
    scores, labels = [0.9, 0.8, 0.1, 0.2, 0.7, 0.6, 0.4, 0.3], [1, 1, 0, 0, 1, 1, 0, 0]
    assert bootstrap_ci(counted_auc, [0, 0, 1, 1, 2, 2, 3, 3], scores, labels) == (1.0, 1.0)
    assert 50 < len(skipped) < 250
    with pytest.raises(ValueError, match="1000 of 1000 .* first: need both bona fide"):
        bootstrap_ci(auc, [0, 0, 1], [0.9, 0.8, 0.7], [1, 1, 1])  # a bona fide only subset
    # Other exceptions are bugs in metric_fn and propagate.
    with pytest.raises(TypeError):
        bootstrap_ci(lambda v: 1 / "x", groups, values, n_boot=10)


@pytest.mark.parametrize("call, message", [
    (lambda: bootstrap_ci(np.mean, [[0, 1]], [0.1, 0.2]),
     r"groups must be a non-empty 1-D array, got shape \(1, 2\)"),
    (lambda: bootstrap_ci(np.mean, [0, 1]), "needs at least one array"),
    (lambda: bootstrap_ci(auc, [0, 1], [0.1, 0.2], [0, 1, 1]),
     r"arrays\[1\] must have one entry per group id \(2\), got shape \(3,\)"),
    (lambda: bootstrap_ci(np.mean, [0, 1], [0.1, 0.2], n_boot=0),
     "n_boot must be a positive integer, got 0"),
    (lambda: bootstrap_ci(np.mean, [0, 1], [0.1, 0.2], level=95),
     r"level must be in \(0, 1\), got 95"),
])
def test_bootstrap_ci_rejects_bad_input(call, message):
    with pytest.raises(ValueError, match=message) as error:
        call()
    assert "\n" not in str(error.value)


# --- property: any scores, labels and threshold give either one clear ValueError or metrics in [0, 1]
# that agree with a direct count ------------------------------------------------------------------
from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

ANY_FLOAT = st.floats(allow_nan=True, allow_infinity=True, width=64)
SPECIES = ("print_1", "replay_1")


@st.composite
def scored_samples(draw):
    n = draw(st.integers(1, 40))
    scores = draw(st.lists(st.one_of(ANY_FLOAT, st.floats(-3, 3)), min_size=n, max_size=n))
    labels = draw(st.lists(st.sampled_from([0, 1]), min_size=n, max_size=n))  # one class happens
    pai = [None if label else draw(st.sampled_from(SPECIES)) for label in labels]
    return np.array(scores), np.array(labels), pai, draw(st.one_of(ANY_FLOAT, st.floats(-3, 3)))


def _well_formed(scores, labels, threshold=0.0):
    return np.isfinite(scores).all() and 0 < labels.sum() < len(labels) and not np.isnan(threshold)


@settings(max_examples=300, deadline=None)
@given(scored_samples())
def test_pad_metrics_is_a_clear_error_or_agrees_with_a_direct_count(sample):
    scores, labels, pai, threshold = sample
    try:
        m = pad_metrics(scores, labels, threshold, pai)
    except ValueError as error:
        assert not _well_formed(scores, labels, threshold)
        assert str(error) and "\n" not in str(error)
        return
    assert _well_formed(scores, labels, threshold)
    accepted = scores >= threshold
    assert m["bpcer"] == np.mean(~accepted[labels == 1])
    assert m["apcer_pooled"] == np.mean(accepted[labels == 0])
    per = {name: np.mean(accepted[np.array(pai, dtype=object) == name]) for name in SPECIES if name in pai}
    assert m["apcer_per_pai"] == pytest.approx(per) and m["apcer"] == max(per.values())
    for key in ("apcer", "apcer_pooled", "bpcer", "acer", "hter"):
        assert 0.0 <= m[key] <= 1.0


@settings(max_examples=300, deadline=None)
@given(scored_samples(), scored_samples())
def test_eer_and_evaluate_are_a_clear_error_or_rates_in_the_unit_interval(dev, test):
    dev_scores, dev_labels, _, _ = dev
    test_scores, test_labels, test_pai, _ = test
    try:
        rate, threshold = eer(dev_scores, dev_labels)
    except ValueError as error:
        assert not _well_formed(dev_scores, dev_labels) and "\n" not in str(error)
        return
    assert 0.0 <= rate <= 1.0 and np.isfinite(threshold)
    try:
        report = evaluate(dev_scores, dev_labels, test_scores, test_labels, test_pai)
    except ValueError as error:
        assert not _well_formed(test_scores, test_labels) and "\n" not in str(error)
        return
    direct = pad_metrics(test_scores, test_labels, report["threshold"], test_pai)
    for key in ("hter", "acer", "apcer", "bpcer"):
        assert report[key] == direct[key] and 0.0 <= report[key] <= 1.0
    assert 0.0 <= report["auc"] <= 1.0


def test_string_scores_and_thresholds_are_refused_in_one_line():
    with pytest.raises(ValueError, match="scores must be numbers, got 'high'"):
        pad_metrics([0.1, "high"], [1, 0], 0.5)
    with pytest.raises(ValueError, match="threshold must be a number, got '0.5'"):
        pad_metrics([0.1, 0.9], [1, 0], "0.5")
