"""The power module against a published value and against simulation."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.stats import norm, rankdata

from analysis.evaluation import power


def row_aucs(real: np.ndarray, fake: np.ndarray) -> np.ndarray:
    """Mann-Whitney AUC of every row (replicate) of (reps, n) real and fake scores."""
    ranks = rankdata(np.concatenate([real, fake], axis=1), axis=1)
    n_real, n_fake = real.shape[1], fake.shape[1]
    return (ranks[:, n_real:].sum(axis=1) - n_fake * (n_fake + 1) / 2) / (n_real * n_fake)


def test_hanley_mcneil_at_chance_is_the_published_mann_whitney_null_variance():
    # Mann & Whitney (1947): under the null, Var(U) = n0 n1 (n0 + n1 + 1) / 12, so the AUC
    # U / (n0 n1) has variance (n0 + n1 + 1) / (12 n0 n1); Hanley and McNeil reduce to it
    for n_real, n_fake in ((12, 48), (30, 30), (7, 3)):
        exact = (n_real + n_fake + 1) / (12 * n_real * n_fake)
        assert power.hanley_mcneil_variance(0.5, n_real, n_fake) == pytest.approx(exact, rel=1e-12)


def test_hanley_mcneil_matches_simulated_exponential_scores():
    # their Q1 and Q2 are exact for exponential scores: fakes ~ Exp(rate m), reals ~ Exp(1)
    # give AUC = 1 / (1 + m)
    rng = np.random.default_rng(0)
    auc, n_real, n_fake, reps = 0.8, 40, 25, 4000
    rate = (1 - auc) / auc
    aucs = row_aucs(rng.exponential(1.0, (reps, n_real)), rng.exponential(1 / rate, (reps, n_fake)))
    assert aucs.mean() == pytest.approx(auc, abs=0.005)
    assert aucs.std() == pytest.approx(np.sqrt(power.hanley_mcneil_variance(auc, n_real, n_fake)), rel=0.05)


def simulate(groups, reals, fakes, shift_a, shift_b, reps, rng, group_sd=0.8, shared=0.6):
    """AUCs of two detectors a and b on ``reps`` draws of a grouped test set: every video
    of a group shares a group effect (both detectors see it), the two detectors share
    part of their per-video noise, fakes are shifted by ``shift_*``."""
    def draw(n):
        own = np.repeat(rng.normal(0, group_sd, (reps, groups)), n, axis=1)
        common = rng.normal(0, 1, (reps, groups * n))
        noise = lambda: np.sqrt(shared) * common + np.sqrt(1 - shared) * rng.normal(0, 1, common.shape)  # noqa: E731
        return own + noise(), own + noise()
    real_a, real_b = draw(reals)
    fake_a, fake_b = draw(fakes)
    return row_aucs(real_a, fake_a + shift_a), row_aucs(real_b, fake_b + shift_b)


def shift_for(auc: float, group_sd: float = 0.8) -> float:
    """Fake shift that gives ``auc`` between videos of different groups (binormal)."""
    return float(norm.ppf(auc) * np.sqrt(2 * (1 + group_sd**2)))


def test_gap_change_mde_has_its_power_in_simulation():
    """Measure the design effect and the AUC correlation of a grouped design once (null
    of no change), then simulate the endpoint with a true change equal to the MDE: the
    two-sided test at 5 % must reject in about 80 % of the replicates."""
    rng = np.random.default_rng(1)
    groups_in, groups_cross, reals, fakes, reps = 30, 40, 2, 4, 3000
    auc_in, auc_cross = 0.85, 0.70
    in_a, in_b = simulate(groups_in, reals, fakes, shift_for(auc_in), shift_for(auc_in), reps, rng)
    cross_a, cross_b = simulate(groups_cross, reals, fakes, shift_for(auc_cross), shift_for(auc_cross), reps, rng)
    correlation = float(np.mean([np.corrcoef(in_a, in_b)[0, 1], np.corrcoef(cross_a, cross_b)[0, 1]]))
    in_set = power.EvalSet.per_group(groups_in, reals, fakes)
    inflation = in_a.var() / power.hanley_mcneil_variance(auc_in, in_set.n_real, in_set.n_fake)
    icc = power.icc_from_design_effect(inflation, in_set.group_size)
    assert inflation > 1.5 and icc > 0  # the simulated groups matter
    in_set = power.EvalSet.per_group(groups_in, reals, fakes, icc=icc)
    cross_set = power.EvalSet.per_group(groups_cross, reals, fakes, icc=icc)
    effect = power.gap_change_mde(in_set, cross_set, auc_in=auc_in, auc_cross=auc_cross, correlation=correlation)
    se = power.gap_change_se(in_set, cross_set, auc_in=auc_in, auc_cross=auc_cross, correlation=correlation)
    null_change = (in_a - cross_a) - (in_b - cross_b)
    assert null_change.std() == pytest.approx(se, rel=0.1)

    in_a, in_b = simulate(groups_in, reals, fakes, shift_for(auc_in), shift_for(auc_in), reps, rng)
    cross_a, cross_b = simulate(groups_cross, reals, fakes, shift_for(auc_cross + effect), shift_for(auc_cross),
                                reps, rng)
    change = (in_a - cross_a) - (in_b - cross_b)  # a's gap is smaller by about the MDE
    rejected = np.abs(change / se) > norm.ppf(0.975)
    assert 0.74 <= rejected.mean() <= 0.88


def test_required_groups_is_the_smallest_design_that_reaches_the_target():
    source = power.EvalSet.per_group(6, 2, 8, icc=0.1)
    target = power.EvalSet.per_group(15, 2, 2, icc=0.1)

    def at(groups):
        return power.gap_change_mde(source.with_groups(groups), target.with_groups(groups),
                                    auc_in=0.95, auc_cross=0.8, correlation=0.5)

    needed = power.required_groups(0.05, at)
    assert at(needed) <= 0.05 < at(needed - 1)
    assert power.required_groups(at(10), at) == 10
    with pytest.raises(ValueError, match="cannot be reached"):
        power.required_groups(1e-6, at, maximum=1000)


def test_mde_shrinks_with_size_and_grows_with_grouping_and_weak_correlation():
    base = power.EvalSet(n_real=50, n_fake=50)
    assert power.auc_mde(base.with_groups(400)) < power.auc_mde(base)
    assert power.auc_mde(power.EvalSet(50, 50, groups=10, icc=0.3)) > power.auc_mde(base)
    tight = power.auc_difference_mde(base, auc=0.8, correlation=0.9)
    loose = power.auc_difference_mde(base, auc=0.8, correlation=0.0)
    assert tight < loose
    assert power.EvalSet(50, 50).design_effect == 1.0
    assert power.EvalSet(50, 50, groups=10, icc=0.25).design_effect == pytest.approx(1 + 9 * 0.25)
    assert power.z_sum() == pytest.approx(1.959964 + 0.841621, abs=1e-5)


@pytest.mark.parametrize("kwargs, message", [
    (dict(n_real=0, n_fake=5), "n_real == 0"),
    (dict(n_real=5, n_fake=5, groups=11), "groups == 11"),
    (dict(n_real=5, n_fake=5, icc=1.5), "icc == 1.5"),
])
def test_bad_designs_say_what_is_wrong(kwargs, message):
    with pytest.raises(ValueError, match=message):
        power.EvalSet(**kwargs)
    with pytest.raises(ValueError, match="auc == 1.2"):
        power.hanley_mcneil_variance(1.2, 5, 5)


def test_power_at_inverts_the_mde():
    se = 0.011
    assert power.power_at(power.mde(se), se) == pytest.approx(0.80, abs=0.001)  # the other tail adds ~1e-7
    assert power.power_at(0.0, se) == pytest.approx(0.05)  # no effect: found at the test's level
    assert power.power_at(-0.03, se) == power.power_at(0.03, se)


def test_power_at_a_resampling_that_never_varies_is_undefined_not_an_error():
    """A tiny test set that every detector orders perfectly gives a bootstrap SE of 0 (the
    paper end-to-end test's four-video target set did); the results stage must still finish."""
    assert np.isnan(power.power_at(0.03, 0.0))
    with pytest.raises(ValueError, match=">= 0"):
        power.power_at(0.03, -0.01)
