"""Pairwise diversity measures on hand-counted cases, their null baselines under
independence given the label, and their intervals."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from analysis.evaluation import diversity


def test_pair_measures_on_counted_cases():
    labels = np.array([1, 1, 1, 1, 0, 0, 0, 0, 1, 0])
    a = np.array([1, 1, 1, 0, 0, 0, 1, 0, 0, 1]).astype(bool)  # right on 0,1,2,4,5,7
    b = np.array([1, 1, 0, 1, 0, 1, 1, 0, 0, 0]).astype(bool)  # right on 0,1,3,4,7,9
    m = {k: v[0] for k, v in diversity.pair_measures(a, b, labels, a.astype(float), b.astype(float)).items()}
    # both right: 0,1,4,7 (4); both wrong: 6,8 (2); only a: 2,5 (2); only b: 3,9 (2)
    assert m["disagreement"] == pytest.approx(0.4)
    assert m["double fault"] == pytest.approx(0.2)
    assert m["Yule's Q"] == pytest.approx((4 * 2 - 2 * 2) / (4 * 2 + 2 * 2))
    # verdicts agree on 6 of 10; chance agreement p_e = 0.5*0.5 + 0.5*0.5
    assert m["Cohen's kappa"] == pytest.approx((0.6 - 0.5) / 0.5)
    weights = np.array([[2, 1, 1, 1, 1, 1, 1, 1, 1, 1]])  # video 0 (both right) twice
    twice = diversity.pair_measures(a, b, labels, a.astype(float), b.astype(float), weights)
    assert twice["double fault"][0] == pytest.approx(2 / 11)


def test_identical_detectors_never_disagree():
    labels = np.array([0, 1, 0, 1, 1])
    verdicts = np.array([0, 1, 1, 1, 0]).astype(bool)
    m = diversity.pair_measures(verdicts, verdicts, labels, np.arange(5.0), np.arange(5.0))
    assert m["disagreement"][0] == 0 and m["Cohen's kappa"][0] == 1.0
    assert m["score correlation"][0] == pytest.approx(1.0)


def test_permutations_keep_each_detectors_flag_rate_per_class():
    rng = np.random.default_rng(0)
    labels = np.repeat([0, 1], [20, 30])
    verdicts = rng.random((3, 50)) < 0.4
    permuted = diversity.permute_within_class(verdicts, labels, 200, rng)
    for cls in (0, 1):
        np.testing.assert_array_equal(permuted[:, :, labels == cls].sum(axis=2),
                                      np.broadcast_to(verdicts[:, labels == cls].sum(axis=1), (200, 3)))


def test_agreement_of_independent_detectors_matches_its_null():
    # three detectors that flag independently given the label: all-agree equals the
    # product formula and sits inside the permutation range
    rng = np.random.default_rng(1)
    labels = np.repeat([0, 1], [300, 700])
    rates = np.where(labels == 1, 0.7, 0.3)
    verdicts = pd.DataFrame({m: rng.random(1000) < rates for m in "abc"})
    result = diversity.agreement(verdicts, labels, n_resamples=300, n_permutations=300)
    expected = 0.3 * (0.3**3 + 0.7**3) + 0.7 * (0.7**3 + 0.3**3)
    assert result["all agree if independent"] == pytest.approx(expected, abs=0.02)
    assert result["all agree null low"] <= result["all agree"] <= result["all agree null high"]
    assert result["all agree low"] <= result["all agree"] <= result["all agree high"]
    # blind to the label, each flags 58 % of videos: agreement by chance alone is lower
    flagged = 0.3 * 0.3 + 0.7 * 0.7
    plain = result[diversity.PLAIN_INDEPENDENCE]
    assert plain == pytest.approx(flagged**3 + (1 - flagged) ** 3, abs=0.02) and plain < expected - 0.05


def test_detectors_that_err_together_stand_out_from_the_null():
    rng = np.random.default_rng(2)
    labels = np.repeat([0, 1], [100, 100])
    hard = rng.random(200) < 0.3  # videos both get wrong
    a = np.where(hard, 1 - labels, labels).astype(bool)
    b = a.copy()
    b[rng.choice(200, 20, replace=False)] ^= True
    verdicts, scores = pd.DataFrame({"a": a, "b": b}), pd.DataFrame({"a": a * 1.0, "b": b * 1.0})
    row = diversity.pairwise(verdicts, scores, labels, groups=np.arange(200) // 2, n_resamples=300,
                             n_permutations=300).iloc[0]
    assert row["double fault"] > row["double fault null high"]
    assert row["Cohen's kappa"] > row["Cohen's kappa null high"]
    assert row["Cohen's kappa low"] <= row["Cohen's kappa"] <= row["Cohen's kappa high"]


def test_matrix_is_symmetric_with_an_empty_diagonal():
    pairs = pd.DataFrame({"model a": ["x", "x", "y"], "model b": ["y", "z", "z"], "disagreement": [0.1, 0.2, 0.3]})
    matrix = diversity.as_matrix(pairs, "disagreement")
    assert matrix.loc["z", "y"] == matrix.loc["y", "z"] == 0.3 and np.isnan(np.diag(matrix)).all()
    assert diversity.mean_pairwise(pairs, ["x", "y", "z"]) == pytest.approx(0.2)


def test_simultaneous_count_controls_the_family_and_still_finds_a_strong_pair():
    rng = np.random.default_rng(5)
    nulls = rng.normal(0, 1, (2000, 40))  # 40 pairs of independent detectors
    independent = rng.normal(0, 1, (300, 40))  # repeated families under the null
    flagged = np.array([diversity.outside_simultaneous(e, nulls).any() for e in independent])
    assert flagged.mean() == pytest.approx(0.05, abs=0.035)  # family-wise, not one in twenty pairs
    per_pair = (np.abs(independent) > 1.96).any(axis=1).mean()
    assert per_pair > 0.7  # the per-pair ranges flag some pair in most null families
    strong = np.zeros(40)
    strong[3] = 8.0
    assert diversity.outside_simultaneous(strong, nulls).tolist() == [i == 3 for i in range(40)]


def test_no_pair_stands_outside_a_null_that_never_varies():
    """Tiny test sets can give every permutation the same statistic: no pair is flagged,
    and no all-NaN warning reaches the build's log."""
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        flagged = diversity.outside_simultaneous(np.array([0.1, 0.5]), np.full((50, 2), 0.5))
    assert flagged.tolist() == [False, False]  # as before the guard, when the quantile of nothing was NaN
