"""The group bootstrap: weighted AUCs, stratified group resampling, BCa, coverage with
clustered scores, pairing across detectors, and max-T families."""

from __future__ import annotations


import numpy as np
import pandas as pd
import pytest
from scipy.stats import norm
from sklearn.metrics import roc_auc_score

from analysis.evaluation import bootstrap
from analysis.evaluation.fixed_order import weighted_sum


def test_weighted_auc_is_the_auc_of_the_repeated_videos_with_ties():
    rng = np.random.default_rng(0)
    labels = np.repeat([0, 1], [7, 13])
    scores = rng.integers(0, 5, 20).astype(float)  # many ties
    weights = rng.integers(1, 4, (50, 20))
    fast = bootstrap.weighted_auc(scores, labels, weights)
    slow = [roc_auc_score(np.repeat(labels, w), np.repeat(scores, w)) for w in weights]
    np.testing.assert_allclose(fast, slow)


def test_group_resamples_keep_strata_and_redraw_whole_groups():
    labels = np.array([0, 1, 1, 0, 1, 1, 0, 0, 1])
    groups = np.array(["a", "a", "a", "b", "b", "b", "r", "r2", "f"])  # mixed, mixed, real-only x2, fake-only
    codes, n_groups = bootstrap.group_codes(groups)
    strata = bootstrap.label_strata(labels, codes, n_groups)
    assert sorted(len(s) for s in strata) == [1, 2, 2]
    counts = bootstrap.resample_counts(strata, n_groups, 500, np.random.default_rng(1))
    for stratum in strata:
        assert (counts[:, stratum].sum(axis=1) == len(stratum)).all()
    weights = counts[:, codes]
    assert ((weights * (labels == 0)).sum(axis=1) > 0).all() and ((weights * (labels == 1)).sum(axis=1) > 0).all()
    with pytest.raises(ValueError, match="both real and fake"):
        bootstrap.label_strata(np.ones(3, int), np.arange(3), 3)


def test_group_bootstrap_distribution_matches_exact_enumeration():
    # two groups, each one real and one fake: 4 equally likely resamples of the groups
    labels = np.array([0, 1, 0, 1])
    scores = np.array([0.1, 0.6, 0.4, 0.3])
    groups = np.array([0, 0, 1, 1])
    exact = [roc_auc_score(np.repeat(labels, [a, a, b, b]), np.repeat(scores, [a, a, b, b]))
             for a, b in ((2, 0), (1, 1), (1, 1), (0, 2))]
    codes, n = bootstrap.group_codes(groups)
    counts = bootstrap.resample_counts(bootstrap.label_strata(labels, codes, n), n, 40000, np.random.default_rng(3))
    sampled = bootstrap.weighted_auc(scores, labels, counts[:, codes])
    for value in sorted(set(exact)):
        assert np.mean(sampled == value) == pytest.approx(np.mean(np.array(exact) == value), abs=0.01)


def delong_se(scores: np.ndarray, labels: np.ndarray) -> float:
    """DeLong et al. (1988) standard error of one AUC, from the structural components."""
    fakes, reals = scores[labels == 1], scores[labels == 0]
    psi = (fakes[:, None] > reals[None, :]) + 0.5 * (fakes[:, None] == reals[None, :])
    v10, v01 = psi.mean(axis=1), psi.mean(axis=0)
    return float(np.sqrt(v10.var(ddof=1) / len(fakes) + v01.var(ddof=1) / len(reals)))


def test_independent_videos_give_the_delong_interval():
    rng = np.random.default_rng(2)
    labels = np.repeat([0, 1], [150, 150])
    scores = np.where(labels == 1, rng.normal(1.0, 1, 300), rng.normal(0, 1, 300))
    result = bootstrap.auc_interval(scores, labels, n_resamples=4000, seed=0)
    se = delong_se(scores, labels)
    assert result.estimate == pytest.approx(roc_auc_score(labels, scores))
    assert result.low == pytest.approx(result.estimate - norm.ppf(0.975) * se, abs=0.01)
    assert result.high == pytest.approx(result.estimate + norm.ppf(0.975) * se, abs=0.01)


def clustered(groups, reals, fakes, rng, reps, fake_only):
    """Scores of ``reps`` test sets of ``groups`` identity groups (``reals`` + ``fakes``
    videos each) that share a group effect: on every video (a scene and its camera, as in
    the benchmark's pairs), or only on the fakes (how visible a source makes an artefact)."""
    per_group = reals + fakes
    labels = np.tile(np.repeat([0, 1], [reals, fakes]), groups)
    effect = np.repeat(rng.normal(0, 1.0, (reps, groups)), per_group, axis=1)
    scores = effect * (labels if fake_only else 1) + rng.normal(0, 1, (reps, groups * per_group)) + 0.8 * labels
    return scores, labels, np.repeat(np.arange(groups), per_group)


@pytest.mark.parametrize("fake_only", [False, True])
def test_group_bootstrap_covers_and_the_video_bootstrap_does_not(fake_only):
    """Coverage of the 95 % interval over 300 simulated test sets with a known truth (the
    mean of the AUC over 4000 further draws of the same design)."""
    rng = np.random.default_rng(0)
    scores, labels, groups = clustered(60, 2, 4, rng, 4300, fake_only)
    ones = np.ones((1, labels.size))
    true_auc = np.mean([bootstrap.weighted_auc(s, labels, ones)[0] for s in scores[:4000]])
    covered = {"group": [], "video": []}
    for i, s in enumerate(scores[4000:]):
        for unit, unit_groups in (("group", groups), ("video", np.arange(labels.size))):
            interval = bootstrap.auc_interval(s, labels, unit_groups, n_resamples=400, seed=i)
            covered[unit].append(interval.low <= true_auc <= interval.high)
    assert 0.92 <= np.mean(covered["group"]) <= 0.98
    assert not 0.92 <= np.mean(covered["video"]) <= 0.98


def test_near_auc_one_bca_covers_where_the_percentile_interval_falls_short():
    """Grouped scores with a true AUC near 0.96: the bootstrap distribution piles up
    below 1, the percentile interval sits too high, BCa corrects it."""
    rng = np.random.default_rng(0)
    groups, per_group = 60, 6
    labels = np.tile(np.repeat([0, 1], [2, 4]), groups)
    index = pd.MultiIndex.from_arrays([labels, np.repeat(np.arange(groups), per_group)], names=["label", "group"])
    effect = np.repeat(rng.normal(0, 1.0, (4300, groups)), per_group, axis=1) * labels
    scores = effect + rng.normal(0, 1, effect.shape) + 3.0 * labels
    ones = np.ones((1, labels.size))
    true_auc = np.mean([bootstrap.weighted_auc(s, labels, ones)[0] for s in scores[:4000]])
    assert true_auc > 0.95
    covered = {"bca": [], "percentile": []}
    for i, s in enumerate(scores[4000:]):
        boot = bootstrap.SetBootstrap.fit(pd.DataFrame({"x": s}, index=index), 400, i)
        bca = boot.interval({"x": 1.0})
        percentile = bootstrap.percentile_interval(bca.estimate, boot.samples["x"].to_numpy())
        covered["bca"].append(bca.low <= true_auc <= bca.high)
        covered["percentile"].append(percentile.low <= true_auc <= percentile.high)
    assert 0.92 <= np.mean(covered["bca"]) <= 0.98
    assert np.mean(covered["bca"]) > np.mean(covered["percentile"])


def gap_inputs(seed: int = 0):
    rng = np.random.default_rng(seed)

    def table(n, shift, prefix):
        labels = np.repeat([0, 1], n)
        groups = [f"{prefix}{i // 2}" for i in range(n)] * 2  # each group: two reals and two fakes
        index = pd.MultiIndex.from_arrays([np.arange(2 * n), labels, groups], names=["video_id", "label", "group"])
        strong = labels * shift + rng.normal(0, 1, 2 * n)
        return pd.DataFrame({"strong": strong, "copy": strong, "weak": labels * 0.3 + rng.normal(0, 1, 2 * n)},
                            index=index)

    return table(60, 2.0, "s"), table(60, 0.5, "t")


def test_gap_and_paired_differences():
    in_domain, cross_domain = gap_inputs()
    boot = bootstrap.GapBootstrap.fit(in_domain, cross_domain, n_resamples=500, seed=0)
    gap = boot.gap("strong")
    expected = roc_auc_score(in_domain.index.get_level_values("label"), in_domain["strong"]) - roc_auc_score(
        cross_domain.index.get_level_values("label"), cross_domain["strong"])
    assert gap.estimate == pytest.approx(expected) and gap.low < gap.estimate < gap.high
    assert gap.excludes(0.0)  # a shift of 2.0 against 0.5 is a real gap at this size
    same = boot.gap_difference("copy", "strong")  # paired: identical scores differ by exactly 0
    assert (same.estimate, same.low, same.high) == (0.0, 0.0, 0.0)
    mean = bootstrap.mean_of(["strong", "weak"])
    assert boot.gap(mean).estimate == pytest.approx((boot.gap("strong").estimate + boot.gap("weak").estimate) / 2)
    again = bootstrap.GapBootstrap.fit(in_domain, cross_domain, n_resamples=500, seed=0)
    assert str(again.gap_difference("weak", "strong")) == str(boot.gap_difference("weak", "strong"))
    with pytest.raises(ValueError, match="group"):
        bootstrap.SetBootstrap.fit(in_domain.reset_index("group"))


def test_bca_moves_away_from_the_bound_near_auc_one():
    # an AUC near 1: the bootstrap distribution piles up against 1, and BCa's interval
    # reaches lower than the percentile interval's (its estimate sits at the top)
    rng = np.random.default_rng(4)
    labels = np.repeat([0, 1], [30, 30])
    scores = labels * 3.0 + rng.normal(0, 1, 60)
    boot = bootstrap.SetBootstrap.fit(pd.DataFrame({"x": scores}, index=pd.MultiIndex.from_arrays(
        [labels, np.arange(60)], names=["label", "group"])), 2000, 0)
    bca = boot.interval({"x": 1.0})
    percentile = bootstrap.percentile_interval(bca.estimate, boot.samples["x"].to_numpy())
    assert bca.low < percentile.low and bca.high <= 1.0
    perfect = bootstrap.auc_interval(labels.astype(float), labels, n_resamples=200)
    assert (perfect.estimate, perfect.low, perfect.high) == (1.0, 1.0, 1.0)  # nothing to resample


def test_max_t_intervals_are_wider_than_single_ones_and_cover_jointly():
    in_domain, cross_domain = gap_inputs(5)
    boot = bootstrap.GapBootstrap.fit(in_domain, cross_domain, n_resamples=1000, seed=0)
    family = {name: boot.gap_weights(name) for name in ("strong", "weak")}
    table = boot.simultaneous(family).set_index("name")
    assert table["critical"].iloc[0] > norm.ppf(0.975)
    for name in family:
        single = boot.gap(name)
        assert table.loc[name, "high"] - table.loc[name, "low"] > single.high - single.low - 1e-9
    assert table.loc["strong", "low"] > 0 and table.loc["strong", "p_adjusted"] < 0.05
    assert table.loc["weak", "low"] < 0 < table.loc["weak", "high"] and table.loc["weak", "p_adjusted"] > 0.05


def test_adjusted_p_values_are_never_zero():
    in_domain, cross_domain = gap_inputs(5)
    boot = bootstrap.GapBootstrap.fit(in_domain, cross_domain, n_resamples=200, seed=0)
    table = boot.simultaneous({"strong": boot.gap_weights("strong")})
    # no resample reaches an effect this far from 0, so the p-value is the smallest the
    # 200 resamples can give, 1 / 201, not 0
    assert table["p_adjusted"].iloc[0] == pytest.approx(1 / 201)


def test_logit_gap_is_the_difference_of_logit_aucs_and_vanishes_for_a_reference_to_itself():
    """The scale-free gap: logit(AUC in) - logit(AUC cross), with a BCa interval around it;
    as a change against the same detector it is exactly zero."""
    rng = np.random.default_rng(3)

    def wide(shift):
        labels = np.repeat([0, 1], 60)
        frame = pd.DataFrame({"a": rng.normal(0, 1, 120) + shift * labels, "b": rng.normal(0, 1, 120) + labels})
        frame.index = pd.MultiIndex.from_arrays([labels, [f"g{i // 2}" for i in range(120)]], names=["label", "group"])
        return frame

    boot = bootstrap.GapBootstrap.fit(wide(2.0), wide(1.0), n_resamples=300, seed=0)
    logit = lambda p: np.log(p / (1 - p))  # noqa: E731
    gap = boot.logit_gap_change("a")
    expected = logit(boot.in_domain.estimates["a"]) - logit(boot.cross_domain.estimates["a"])
    assert gap.estimate == pytest.approx(expected) and gap.low < gap.estimate < gap.high
    assert boot.logit_gap_change("a", "a").estimate == pytest.approx(0.0)


def test_bca_does_not_move_when_resamples_that_tie_with_the_estimate_are_rounded():
    """A sum of AUCs computed in another order (another CPU's BLAS) can land a unit in the
    last place off the estimate; resamples tied with the estimate must stay ties."""
    rng = np.random.default_rng(3)
    estimate = 0.1 + 0.2  # not exactly representable: the kind of value a sum produces
    samples = np.where(rng.random(400) < 0.3, estimate, rng.normal(estimate, 0.05, 400))
    influence = [rng.normal(size=12)]
    exact = bootstrap.bca_interval(estimate, samples, influence)
    for direction in (-1.0, 1.0):
        rounded = np.where(samples == estimate, np.nextafter(samples, direction), samples)
        assert bootstrap.bca_interval(estimate, rounded, influence) == exact


def test_combinations_of_columns_are_added_in_the_order_given():
    """Bit for bit the left-to-right sum, whatever BLAS would have done."""
    rng = np.random.default_rng(4)
    columns, weights = rng.random((50, 7)), rng.normal(size=7)
    by_hand = np.zeros(50)
    for j in range(7):
        by_hand = by_hand + weights[j] * columns[:, j]
    assert np.array_equal(weighted_sum(columns, weights), by_hand)
    with pytest.raises(ValueError, match="3 weights for 7 columns"):
        weighted_sum(columns, weights[:3])
