"""Bootstrap intervals: vectorised AUC, stratification, DeLong and an exact small case."""

from __future__ import annotations

from itertools import product

import numpy as np
import pandas as pd
import pytest
from scipy.stats import norm
from sklearn.metrics import roc_auc_score

from analysis import bootstrap


def delong_se(scores: np.ndarray, labels: np.ndarray) -> float:
    """DeLong et al. (1988) standard error of one AUC, from the structural components."""
    fakes, reals = scores[labels == 1], scores[labels == 0]
    psi = (fakes[:, None] > reals[None, :]) + 0.5 * (fakes[:, None] == reals[None, :])
    v10, v01 = psi.mean(axis=1), psi.mean(axis=0)
    return float(np.sqrt(v10.var(ddof=1) / len(fakes) + v01.var(ddof=1) / len(reals)))


def test_resampled_auc_matches_scikit_learn_with_ties():
    rng = np.random.default_rng(0)
    labels = np.repeat([0, 1], [7, 13])
    scores = rng.integers(0, 5, 20).astype(float)  # many ties
    indices = bootstrap.stratified_indices(labels, 50, rng)
    fast = bootstrap.resampled_auc(scores, labels, indices)
    slow = [roc_auc_score(labels[i], scores[i]) for i in indices]
    np.testing.assert_allclose(fast, slow)


def test_resamples_keep_the_number_of_reals_and_fakes():
    labels = np.array([0, 1, 1, 0, 1, 1, 1])
    indices = bootstrap.stratified_indices(labels, 200, np.random.default_rng(1))
    assert indices.shape == (200, 7)
    assert (labels[indices].sum(axis=1) == 5).all()
    with pytest.raises(ValueError, match="both real and fake"):
        bootstrap.stratified_indices(np.ones(4, int), 10, np.random.default_rng(0))


def test_interval_agrees_with_delong():
    rng = np.random.default_rng(2)
    labels = np.repeat([0, 1], [150, 150])
    scores = np.where(labels == 1, rng.normal(1.0, 1, 300), rng.normal(0, 1, 300))
    result = bootstrap.auc_interval(scores, labels, n_resamples=4000, seed=0)
    se = delong_se(scores, labels)
    z = norm.ppf(0.975)
    assert result.estimate == pytest.approx(roc_auc_score(labels, scores))
    assert result.low == pytest.approx(result.estimate - z * se, abs=0.01)
    assert result.high == pytest.approx(result.estimate + z * se, abs=0.01)


def test_bootstrap_distribution_matches_exact_enumeration_on_two_by_two():
    labels = np.array([0, 0, 1, 1])
    scores = np.array([0.1, 0.6, 0.4, 0.9])
    exact = []  # every ordered draw of two reals and two fakes is equally likely
    for reals, fakes in product(product([0, 1], repeat=2), product([2, 3], repeat=2)):
        exact.append(roc_auc_score(labels[[*reals, *fakes]], scores[[*reals, *fakes]]))
    indices = bootstrap.stratified_indices(labels, 40000, np.random.default_rng(3))
    sampled = bootstrap.resampled_auc(scores, labels, indices)
    for value in sorted(set(exact)):
        assert np.mean(sampled == value) == pytest.approx(np.mean(np.array(exact) == value), abs=0.01)


def gap_inputs(seed: int = 0):
    rng = np.random.default_rng(seed)

    def table(n, shift):
        labels = np.repeat([0, 1], n)
        index = pd.MultiIndex.from_arrays([np.arange(2 * n), labels], names=["video_id", "label"])
        strong = labels * shift + rng.normal(0, 1, 2 * n)
        return pd.DataFrame({"strong": strong, "copy": strong, "weak": labels * 0.3 + rng.normal(0, 1, 2 * n)},
                            index=index)

    return table(60, 2.0), table(60, 0.5)


def test_gap_and_difference_of_gaps():
    in_domain, cross_domain = gap_inputs()
    boot = bootstrap.GapBootstrap.fit(in_domain, cross_domain, n_resamples=500, seed=0)
    gap = boot.gap("strong")
    expected = roc_auc_score(in_domain.index.get_level_values("label"), in_domain["strong"]) - roc_auc_score(
        cross_domain.index.get_level_values("label"), cross_domain["strong"])
    assert gap.estimate == pytest.approx(expected) and gap.low < gap.estimate < gap.high
    assert gap.low > 0  # a shift of 2.0 against 0.5 is a real gap at this size
    same = boot.gap_difference("copy", "strong")  # paired: identical scores differ by exactly 0
    assert (same.estimate, same.low, same.high) == (0.0, 0.0, 0.0)
    again = bootstrap.GapBootstrap.fit(in_domain, cross_domain, n_resamples=500, seed=0)
    assert str(again.gap_difference("weak", "strong")) == str(boot.gap_difference("weak", "strong"))
