"""Presentation attack detection metrics (ISO/IEC 30107-3), from scratch in NumPy.

Conventions: label 1 = bona fide, 0 = attack; a higher score means "more likely bona fide"; a
presentation is accepted as bona fide when ``score >= threshold``. At a threshold t:

    APCER_PAI    = #{attacks of species PAI with score >= t} / #{attacks of species PAI}
    APCER        = max over PAI species of APCER_PAI     (ISO/IEC 30107-3, OULU-NPU, bob, gradgpad)
    APCER_pooled = #{attacks with score >= t} / #{attacks}      (= FAR; what the CDCN code reports)
    BPCER        = #{bona fide with score < t} / #{bona fide}   (= FRR)
    ACER         = (APCER + BPCER) / 2                          (OULU-NPU / IJCB-2017 practice)
    HTER         = (APCER_pooled + BPCER) / 2 = (FAR + FRR) / 2 (Replay-Attack practice)
    EER          = the error rate at the threshold where APCER_pooled = BPCER
    BPCER@APCER  = min BPCER over the t with APCER <= x   (x = 1 %: BPCER100; x = 5 %: BPCER20)

Two pitfalls:

1. Max vs pooled APCER. Pooling lets easy attacks hide a weak spot. Idiap's DeePixBiS run on
   OULU-NPU Protocol 1 accepts 8 of 480 attacks (pooled 1.7 %, HTER 0.8 %), yet reports
   APCER = 4.2 % = 5/120 and ACER = 2.1 %: 5 of the 8 come from one 120-video species.
   Say which one you report.
2. Dev vs test threshold. ``evaluate`` picks the EER threshold on the dev set and applies it to the
   test set. Much domain-generalisation code (SSDG, FLIP, SA-FAS, AG-FAS) instead takes the EER
   point of the test set itself: that threshold needs the test labels, so its "HTER" is about the
   test EER, a number no deployed system reaches. ``evaluate_optimistic_test_threshold`` reproduces
   that mode for comparison only.
"""
import warnings
from typing import Callable, NamedTuple

import numpy as np
from numpy.typing import ArrayLike

BONA_FIDE = "bona_fide"
_BONA_FIDE_NAMES = (BONA_FIDE, None, "")  # accepted PAI entries for a bona fide sample


def _plain(value):
    """NumPy scalar -> Python scalar, so error messages print 'a' rather than np.str_('a')."""
    return value.item() if isinstance(value, np.generic) else value


def _is_number(value) -> bool:
    return isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, bool)


def check_threshold(threshold: float) -> float:
    """A decision threshold as a float; ValueError unless it is a number (inf allowed: accept nothing)."""
    if not _is_number(threshold) or np.isnan(threshold):
        raise ValueError(f"threshold must be a number, got {threshold!r}")
    return float(threshold)


def _validate(scores, labels=None, pai=None, *, both_classes=True, known_pais=None):
    """Check the inputs every metric shares; return ``(scores, labels, pai)`` as arrays.

    With labels, the returned ``pai`` names every bona fide sample "bona_fide" and, when ``pai``
    is None, every attack "attack".
    """
    try:
        scores = np.asarray(scores, dtype=float)
    except (TypeError, ValueError):
        example = next((v for v in np.ravel(np.asarray(scores, dtype=object)) if not _is_number(v)), scores)
        raise ValueError(f"scores must be numbers, got {example!r}") from None
    if scores.ndim != 1 or scores.size == 0:
        raise ValueError(f"scores must be a non-empty 1-D array, got shape {scores.shape}")
    if not np.isfinite(scores).all():
        index = int(np.flatnonzero(~np.isfinite(scores))[0])
        raise ValueError(f"scores must be finite, got {scores[index]} at index {index}")
    if pai is not None:
        if isinstance(pai, (str, bytes)) or not hasattr(pai, "__len__"):
            raise ValueError(f"pai must be a sequence of instrument names, one per score, got {pai!r}")
        if len(pai) != scores.size:
            raise ValueError(f"pai must have one entry per score ({scores.size}), got {len(pai)}")
        pai = np.array([_plain(name) for name in pai], dtype=object)
        wrong = [name for name in pai if not (name is None or isinstance(name, str))]  # None: bona fide
        if wrong:
            raise ValueError(f"pai must name each sample's instrument as a string, got {wrong[0]!r}")
    if labels is None:
        return scores, None, pai

    labels = np.asarray(labels)
    if labels.shape != scores.shape:
        raise ValueError(f"labels must have one entry per score ({scores.size}), "
                         f"got shape {labels.shape}")
    valid = np.isin(labels, (0, 1))
    if not valid.all():
        bad = _plain(labels[~valid][0])
        raise ValueError(f"labels must be 1 (bona fide) or 0 (attack), got {bad!r}")
    labels = labels.astype(int)
    if both_classes and labels.min() == labels.max():
        raise ValueError("need both bona fide (1) and attack (0) samples, "
                         f"got only label {labels[0]}")

    if pai is None:
        return scores, labels, np.where(labels == 1, BONA_FIDE, "attack").astype(object)
    named_bona_fide = np.array([name in _BONA_FIDE_NAMES for name in pai])
    wrong = np.flatnonzero(named_bona_fide != (labels == 1))
    if wrong.size:
        i = wrong[0]
        if labels[i] == 0:
            raise ValueError(f"sample {i} is an attack (label 0) but its PAI is {pai[i]!r}; "
                             "expected an attack instrument name")
        raise ValueError(f"sample {i} is bona fide (label 1) but its PAI is {pai[i]!r}; "
                         f"expected one of {list(_BONA_FIDE_NAMES)}")
    pai[named_bona_fide] = BONA_FIDE
    if known_pais is not None:
        unknown = [name for name in pai[labels == 0] if name not in known_pais]
        if unknown:
            expected = [_plain(name) for name in known_pais]
            raise ValueError(f"unknown PAI label {unknown[0]!r}; expected one of {expected}")
    return scores, labels, pai


def _error_counts(scores, labels, thresholds):
    """Per threshold t: false accepts (attack score >= t), false rejects (bona fide score < t)."""
    attack = np.sort(scores[labels == 0])
    bona_fide = np.sort(scores[labels == 1])
    false_accepts = attack.size - np.searchsorted(attack, thresholds, side="left")
    false_rejects = np.searchsorted(bona_fide, thresholds, side="left")
    return false_accepts, false_rejects


def eer(scores: ArrayLike, labels: ArrayLike) -> tuple[float, float]:
    """Equal error rate and its threshold: ``(eer, threshold)``.

    The candidate thresholds are the unique scores. The one chosen minimises
    |APCER_pooled - BPCER|; ties go to the smaller APCER_pooled + BPCER, then to the lower
    threshold. The rates are compared as exact integer counts, so ties are exact, and
    EER = (APCER_pooled + BPCER) / 2 at that threshold.
    """
    scores, labels, _ = _validate(scores, labels)
    n_attack, n_bona_fide = np.sum(labels == 0), np.sum(labels == 1)
    thresholds = np.unique(scores)  # ascending
    false_accepts, false_rejects = _error_counts(scores, labels, thresholds)
    # APCER -/+ BPCER = (FA * n_bona_fide -/+ FR * n_attack) / (n_attack * n_bona_fide)
    gap = np.abs(false_accepts * n_bona_fide - false_rejects * n_attack)
    total = false_accepts * n_bona_fide + false_rejects * n_attack
    best = np.lexsort((total, gap))[0]  # lexsort is stable: remaining ties keep the lowest t
    rate = (false_accepts[best] / n_attack + false_rejects[best] / n_bona_fide) / 2
    return float(rate), float(thresholds[best])


def pad_metrics(scores: ArrayLike, labels: ArrayLike, threshold: float, pai: ArrayLike | None = None, *,
                known_pais: list[str] | None = None) -> dict:
    """APCER (max over species), pooled APCER, APCER per species, BPCER, ACER, HTER at a threshold.

    ``pai`` holds one name per sample: the attack instrument species for attacks and "bona_fide"
    (or None or "") for bona fide samples; without it every attack is one species, "attack".
    ``known_pais``, when given, lists the allowed species names (catches typos in protocol files).
    ``apcer_per_pai`` lists the species in order of first appearance.
    """
    scores, labels, pai = _validate(scores, labels, pai, known_pais=known_pais)
    threshold = check_threshold(threshold)
    accepted = scores >= threshold
    attack = labels == 0
    species = dict.fromkeys(pai[attack])  # in order of first appearance
    apcer_per_pai = {name: float(accepted[pai == name].mean()) for name in species}
    apcer = max(apcer_per_pai.values())
    apcer_pooled = float(accepted[attack].mean())
    bpcer = float((~accepted[~attack]).mean())
    return {
        "apcer": apcer,
        "apcer_pooled": apcer_pooled,
        "apcer_per_pai": apcer_per_pai,
        "bpcer": bpcer,
        "acer": (apcer + bpcer) / 2,
        "hter": (apcer_pooled + bpcer) / 2,
        "threshold": float(threshold),
    }


def auc(scores: ArrayLike, labels: ArrayLike) -> float:
    """Area under the ROC curve = P(bona fide score > attack score), ties counted half.

    Mann-Whitney form with average ranks r_i (1-based):
    AUC = (sum of r_i over bona fide - n_bf (n_bf + 1) / 2) / (n_bf * n_attack).
    """
    scores, labels, _ = _validate(scores, labels)
    _, inverse, counts = np.unique(scores, return_inverse=True, return_counts=True)
    average_rank = np.cumsum(counts) - (counts - 1) / 2  # mean of the ranks a tied group spans
    ranks = average_rank[inverse]
    n_bona_fide, n_attack = np.sum(labels == 1), np.sum(labels == 0)
    u_statistic = ranks[labels == 1].sum() - n_bona_fide * (n_bona_fide + 1) / 2
    return float(u_statistic / (n_bona_fide * n_attack))


def tpr_at_fpr(scores: ArrayLike, labels: ArrayLike, fpr: float = 0.01) -> float:
    """Highest TPR among the thresholds whose FPR <= ``fpr``.

    TPR = share of bona fide samples accepted (1 - BPCER); FPR = share of attacks accepted
    (APCER_pooled). The candidate thresholds are the unique scores and +inf (accept nothing),
    so FPR = 0 is always reachable.
    """
    scores, labels, _ = _validate(scores, labels)
    if not _is_number(fpr) or not 0.0 <= fpr <= 1.0:
        raise ValueError(f"fpr must be a number in [0, 1], got {fpr!r}")
    thresholds = np.append(np.unique(scores), np.inf)
    false_accepts, false_rejects = _error_counts(scores, labels, thresholds)
    n_attack, n_bona_fide = np.sum(labels == 0), np.sum(labels == 1)
    tpr = (n_bona_fide - false_rejects) / n_bona_fide
    return float(tpr[false_accepts / n_attack <= fpr].max())


def bpcer_at_apcer(scores: ArrayLike, labels: ArrayLike, pai: ArrayLike | None = None, apcer: float = 0.01, *,
                   aggregate: str = "max") -> dict:
    """BPCER at a fixed APCER: the lowest BPCER among the thresholds whose APCER <= ``apcer``.

    The deployment operating point, usually reported as "BPCER at APCER = 1 %" and "... = 5 %";
    ISO/IEC 30107-3 calls them BPCER100 (APCER 1 %) and BPCER20 (APCER 5 %). APCER is the max over
    the PAI species in ``pai`` (``aggregate="max"``, the ISO figure) or over all attacks pooled
    (``aggregate="pooled"``); without ``pai`` the two agree. The candidate thresholds are the unique
    scores and +inf (accept nothing, so APCER = 0 is always reachable): tied scores are accepted or
    rejected together. Among the thresholds reaching the lowest BPCER, the highest is returned, so
    the achieved APCER is as low as it can be at that BPCER. Returns ``threshold``, ``bpcer`` and
    the achieved ``apcer``; ``pad_metrics`` at that threshold gives the same numbers.
    """
    scores, labels, pai = _validate(scores, labels, pai)
    if not _is_number(apcer) or not 0.0 <= apcer <= 1.0:
        raise ValueError(f"apcer must be a number in [0, 1], got {apcer!r}")
    if aggregate not in ("max", "pooled"):
        raise ValueError(f"aggregate must be 'max' or 'pooled', got {aggregate!r}")
    thresholds = np.append(np.unique(scores), np.inf)
    attack = labels == 0
    if aggregate == "pooled":
        species = [attack]
    else:
        species = [pai == name for name in dict.fromkeys(pai[attack])]
    # APCER of each species (or of the pooled attacks) per threshold, then the worst of them
    achieved = np.max([_error_counts(scores[members], labels[members], thresholds)[0] / members.sum()
                       for members in species], axis=0)
    _, false_rejects = _error_counts(scores, labels, thresholds)  # non-decreasing in t
    # APCER never rises with t, so the feasible thresholds are a top range; the highest one with
    # its lowest false-reject count is feasible too and has the lowest APCER at that BPCER.
    fewest = false_rejects[achieved <= apcer].min()
    best = np.flatnonzero(false_rejects == fewest)[-1]
    return {
        "threshold": float(thresholds[best]),
        "bpcer": float(false_rejects[best] / np.sum(~attack)),
        "apcer": float(achieved[best]),
    }


class VideoScores(NamedTuple):
    """One entry per video, in order of first appearance; ``labels``, ``pai`` None if not given."""

    video_ids: np.ndarray
    scores: np.ndarray
    labels: np.ndarray | None
    pai: np.ndarray | None


def video_scores(frame_scores: ArrayLike, video_ids: ArrayLike, labels: ArrayLike | None = None,
                 pai: ArrayLike | None = None) -> VideoScores:
    """Average frame scores into one score per video (the CDCN, SSDG and bob practice).

    ``labels`` and ``pai`` are per frame and must be constant within each video.
    """
    frame_scores, labels, pai = _validate(frame_scores, labels, pai, both_classes=False)
    video_ids = np.asarray(video_ids)
    if video_ids.shape != frame_scores.shape:
        raise ValueError(f"video_ids must have one entry per frame score ({frame_scores.size}), "
                         f"got shape {video_ids.shape}")
    unique_ids, first_frame, inverse = np.unique(video_ids, return_index=True, return_inverse=True)
    order = np.argsort(first_frame)  # sorted ids -> order of first appearance
    video_of_frame = np.argsort(order)[inverse]
    first_frame = first_frame[order]
    mean_scores = np.bincount(video_of_frame, weights=frame_scores) / np.bincount(video_of_frame)
    for name, values in (("labels", labels), ("pai", pai)):
        if values is None:
            continue
        expected = values[first_frame][video_of_frame]
        mismatch = np.flatnonzero(values != expected)
        if mismatch.size:
            i = mismatch[0]
            raise ValueError(f"{name} must be constant within a video, but video "
                             f"{_plain(video_ids[i])!r} has both {_plain(expected[i])!r} "
                             f"and {_plain(values[i])!r}")
    return VideoScores(
        video_ids=unique_ids[order],
        scores=mean_scores,
        labels=None if labels is None else labels[first_frame],
        pai=None if pai is None else pai[first_frame],
    )


def _test_report(scores, labels, pai, threshold, protocol) -> dict:
    report = pad_metrics(scores, labels, threshold, pai)
    report.update(
        auc=auc(scores, labels),
        eer=eer(scores, labels)[0],
        tpr_at_fpr_1pct=tpr_at_fpr(scores, labels, 0.01),
        protocol=protocol,
    )
    return report


def evaluate(dev_scores: ArrayLike, dev_labels: ArrayLike, test_scores: ArrayLike, test_labels: ArrayLike,
             test_pai: ArrayLike | None = None) -> dict:
    """The fair protocol: the EER threshold of the dev set, applied to the test set.

    Returns ``pad_metrics`` on test plus the test ``auc``, ``eer`` (for reference),
    ``tpr_at_fpr_1pct`` and ``protocol="dev_threshold"``.
    """
    _, threshold = eer(dev_scores, dev_labels)
    return _test_report(test_scores, test_labels, test_pai, threshold, "dev_threshold")


def evaluate_optimistic_test_threshold(test_scores: ArrayLike, test_labels: ArrayLike,
                                       test_pai: ArrayLike | None = None) -> dict:
    """Legacy SSDG/FLIP/SA-FAS/AG-FAS protocol: the threshold is the test set's own EER point.

    Optimistic: the threshold is tuned on the test labels, so HTER comes out close to the test
    EER, a score no system reaches when its threshold must be fixed before it sees the test data.
    Use it only to compare with published numbers; report ``evaluate`` otherwise.
    """
    _, threshold = eer(test_scores, test_labels)
    warnings.warn("evaluate_optimistic_test_threshold tunes the threshold on the test labels, so "
                  "its HTER is optimistic; use evaluate() with a dev set for a fair number",
                  UserWarning, stacklevel=2)
    return _test_report(test_scores, test_labels, test_pai, threshold, "test_threshold_optimistic")


def bootstrap_ci(metric_fn: Callable[..., float], groups: ArrayLike, *arrays: ArrayLike, n_boot: int = 1000,
                 level: float = 0.95, seed: int = 0) -> tuple[float, float]:
    """Percentile bootstrap confidence interval ``(low, high)`` that resamples groups, not samples.

    Frames (or videos) of one identity are correlated, so resampling them one by one makes the
    interval far too narrow. Each replicate draws as many groups as ``groups`` holds, with
    replacement, and concatenates all their samples from every array in ``arrays`` (a group drawn
    twice contributes twice); ``metric_fn(*resampled_arrays)`` returns a float. The interval is
    the (1 - level) / 2 and (1 + level) / 2 percentiles of the replicate values. The draws come
    from ``np.random.default_rng(seed)``, so a seed gives the same interval every time. A replicate
    on which ``metric_fn`` raises ValueError (say, no bona fide sample was drawn) is skipped; more
    than half skipped raises ValueError. Example, the test HTER at the dev EER threshold with one
    group per identity::

        _, threshold = eer(dev_scores, dev_labels)
        low, high = bootstrap_ci(lambda s, y: pad_metrics(s, y, threshold)["hter"],
                                 test_identities, test_scores, test_labels)
    """
    groups = np.asarray(groups)
    if groups.ndim != 1 or groups.size == 0:
        raise ValueError(f"groups must be a non-empty 1-D array, got shape {groups.shape}")
    if not arrays:
        raise ValueError("bootstrap_ci needs at least one array to resample after groups")
    arrays = [np.asarray(values) for values in arrays]
    for position, values in enumerate(arrays):
        if values.ndim == 0 or len(values) != groups.size:
            raise ValueError(f"arrays[{position}] must have one entry per group id "
                             f"({groups.size}), got shape {values.shape}")
    if isinstance(n_boot, bool) or not isinstance(n_boot, (int, np.integer)) or n_boot < 1:
        raise ValueError(f"n_boot must be a positive integer, got {n_boot!r}")
    if not 0.0 < level < 1.0:
        raise ValueError(f"level must be in (0, 1), got {level}")

    _, group_of_sample, sizes = np.unique(groups, return_inverse=True, return_counts=True)
    by_group = np.argsort(group_of_sample, kind="stable")  # sample indices, group after group
    starts = np.cumsum(sizes) - sizes  # where each group begins in by_group
    draws = np.random.default_rng(seed).integers(0, sizes.size, size=(n_boot, sizes.size))
    values, skipped, first_error = [], 0, None
    for drawn in draws:
        lengths = sizes[drawn]
        offsets = np.cumsum(lengths) - lengths  # where each drawn group begins in the replicate
        positions = np.repeat(starts[drawn] - offsets, lengths) + np.arange(lengths.sum())
        picked = by_group[positions]
        try:
            values.append(float(metric_fn(*(array[picked] for array in arrays))))
        except ValueError as error:
            skipped += 1
            first_error = first_error if first_error is not None else error
    if 2 * skipped > n_boot:
        reason = " ".join(str(first_error).split())  # one line
        raise ValueError(f"metric_fn raised ValueError on {skipped} of {n_boot} bootstrap "
                         f"replicates (more than half), first: {reason}")
    low, high = np.percentile(values, [50 * (1 - level), 50 * (1 + level)])
    return float(low), float(high)
