"""Metrics: card 001's threshold options and agreement, chosen on validation only."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from analysis.evaluation import metrics


def test_threshold_options_meet_their_targets_on_validation():
    rng = np.random.default_rng(0)
    labels = np.repeat([0, 1], 200)
    scores = np.concatenate([rng.normal(0, 1, 200), rng.normal(1.5, 1, 200)])
    options = metrics.threshold_options(labels, scores, max_fpr=0.05, min_recall=0.95)
    flagged = {k: scores >= t for k, t in options.items()}
    fpr = {k: f[labels == 0].mean() for k, f in flagged.items()}
    recall = {k: f[labels == 1].mean() for k, f in flagged.items()}
    assert fpr["conservative"] <= 0.05 < fpr["balanced"] < fpr["sensitive"]
    assert recall["sensitive"] >= 0.95 > recall["balanced"] > recall["conservative"]
    # each is the extreme threshold that meets its target: moving it past the next real
    # (conservative) or the next fake (sensitive) breaks it
    reals, fakes = scores[labels == 0], scores[labels == 1]
    assert (reals >= reals[reals < options["conservative"]].max()).mean() > 0.05
    assert (fakes >= fakes[fakes > options["sensitive"]].min()).mean() < 0.95


@pytest.mark.parametrize("offset", [1.0, -3.0, 100.0])
def test_youden_threshold_is_not_clamped_for_unbounded_scores(offset):
    """Regression: Deep SVDD distances above 1 had their threshold clamped to 1.0, which
    flagged every video. A threshold is a score between the classes wherever they lie."""
    labels = np.array([0, 0, 0, 1, 1, 1])
    scores = np.array([0.05, 0.10, 0.20, 0.30, 0.40, 0.50]) + offset
    threshold = metrics.youden_threshold(labels, scores)
    assert threshold == pytest.approx(0.30 + offset)
    flagged = scores >= threshold
    assert (flagged == labels.astype(bool)).all()
    options = metrics.threshold_options(labels, scores)
    assert all(scores.min() <= t <= np.nextafter(scores.max(), np.inf) for t in options.values())


def test_youden_threshold_of_a_useless_scorer_flags_nothing():
    labels = np.array([0, 1, 0, 1])
    scores = np.array([5.0, 2.0, 4.0, 1.0])  # every fake below every real: J <= 0 everywhere
    assert metrics.youden_threshold(labels, scores) > scores.max()


def test_youden_j_is_one_for_separated_classes_and_small_without_skill():
    labels = np.repeat([0, 1], 2000)
    assert metrics.youden_j(labels, labels + 0.5) == 1.0
    noise = np.random.default_rng(0).normal(size=labels.size)
    assert 0 <= metrics.youden_j(labels, noise) < 0.1


def test_conservative_threshold_can_flag_nothing():
    labels = np.array([0, 0, 1, 1])
    scores = np.array([0.9, 0.1, 0.2, 0.3])  # the highest score is a real video
    options = metrics.threshold_options(labels, scores, max_fpr=0.0)
    assert options["conservative"] > scores.max()


def test_agreement_rate_counts_rows_where_all_verdicts_match():
    verdicts = pd.DataFrame({"a": [True, True, False, False], "b": [True, False, False, True],
                             "c": [True, False, False, True]})
    assert metrics.agreement_rate(verdicts) == 0.5
    assert metrics.agreement_rate(verdicts[["b", "c"]]) == 1.0


def test_threshold_table_uses_validation_thresholds_on_both_test_sets():
    rows = []
    for domain, split, shift in (("source", "val", 0.0), ("source", "test", 0.0), ("target", "test", 5.0)):
        for i, label in enumerate([0, 0, 1, 1]):
            rows.append({"dataset": "d", "domain": domain, "split": split, "method": "m", "video_id": f"{i}",
                         "label": label, "model": "x", "frame_index": -1, "score": label + shift + 0.1 * i})
    table = metrics.threshold_table(pd.DataFrame(rows))
    assert set(table["threshold option"]) == {"balanced", "conservative", "sensitive"}
    cross = table[(table["set"] == "cross-domain test") & (table["threshold option"] == "balanced")].iloc[0]
    # shifted target scores are all above the validation threshold: every real is a false alarm
    assert cross["false positive rate"] == 1.0 and cross["recall"] == 1.0
    same = table[(table["set"] == "in-domain test") & (table["threshold option"] == "balanced")].iloc[0]
    assert same["accuracy"] == 1.0


def test_equal_error_rate_on_known_cases():
    labels = np.array([0, 0, 0, 0, 1, 1, 1, 1])
    assert metrics.equal_error_rate(labels, np.arange(8.0)) == 0.0  # perfect separation
    # one real above one fake: at the crossing, one of four reals and one of four fakes err
    assert metrics.equal_error_rate(labels, np.array([0, 1, 2, 5, 4, 6, 7, 8.0])) == 0.25
    rng = np.random.default_rng(0)
    labels = np.repeat([0, 1], 5000)
    scores = rng.normal(labels * 2.0, 1.0)  # equal-variance normals: EER = Phi(-d / 2)
    assert metrics.equal_error_rate(labels, scores) == pytest.approx(0.1587, abs=0.01)


def test_binary_metrics_report_every_measure_at_the_given_threshold():
    labels = np.array([0, 0, 1, 1])
    result = metrics.binary_metrics(labels, np.array([0.1, 0.6, 0.4, 0.9]), threshold=0.5)
    assert result["accuracy"] == 0.5 and result["precision"] == 0.5 and result["recall"] == 0.5
    assert result["auc"] == 0.75 and result["average precision"] == pytest.approx((1 + 2 / 3) / 2)
