"""Ensembles: named members, fitted on validation only, each combiner's arithmetic."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from analysis import ensembles


def scores_table(seed: int = 0, n: int = 40) -> pd.DataFrame:
    """A long video-level scores table: two domains, val and test, three models."""
    rng = np.random.default_rng(seed)
    rows = []
    for domain, split in (("source", "val"), ("source", "test"), ("target", "test")):
        for i in range(n):
            label = int(i % 2)
            for model, strength in (("a", 2.0), ("b", 1.0), ("c", 0.0)):
                score = 1 / (1 + np.exp(-(strength * (label - 0.5) + rng.normal())))
                rows.append({"dataset": "d", "domain": domain, "split": split, "method": "m" if label else "real",
                             "video_id": f"{domain}-{split}-{i}", "label": label, "model": model,
                             "frame_index": -1, "score": score})
    return pd.DataFrame(rows)


def test_names_list_members_and_subsets_are_all_non_empty_ones():
    assert ensembles.ensemble_name("soft_vote", ["vit_b16", "r3d18"]) == "soft_vote(r3d18+vit_b16)"
    found = ensembles.subsets(ensembles.SEED_000_FIVE)
    assert len(found) == 2**5 - 1 == len(set(found))
    assert sum(len(s) == 5 for s in found) == 1


def test_soft_vote_is_the_mean_probability():
    scores = scores_table()
    wide = ensembles.to_wide(scores)
    result = ensembles.ensemble_scores(wide, "soft_vote", ["a", "b"])
    expected = wide[["a", "b"]].mean(axis=1).to_numpy()
    np.testing.assert_allclose(result["score"], expected)
    assert set(result["model"]) == {"soft_vote(a+b)"} and (result["frame_index"] == -1).all()


@pytest.mark.parametrize("kind", ["rank_average", "auc_weighted", "stacking", "mean_z"])
def test_fitted_combiners_never_read_test_labels_or_scores_of_other_rows(kind):
    scores = scores_table()
    shuffled = scores.copy()
    test = shuffled["split"] == "test"
    shuffled.loc[test, "label"] = 1 - shuffled.loc[test, "label"]  # flip every test label
    a = ensembles.ensemble_scores(ensembles.to_wide(scores), kind, ["a", "b", "c"])
    b = ensembles.ensemble_scores(ensembles.to_wide(shuffled), kind, ["a", "b", "c"])
    np.testing.assert_allclose(a.sort_values("video_id")["score"], b.sort_values("video_id")["score"])


def test_rank_average_ranks_against_validation_scores():
    scores = scores_table()
    wide = ensembles.to_wide(scores)
    val = ensembles.validation_rows(wide)
    combined = ensembles.combine("rank_average", ["a"], val, wide)
    expected = [(val["a"] <= x).mean() for x in wide["a"]]
    np.testing.assert_allclose(combined, expected)


def test_auc_weighting_favours_the_better_member():
    scores = scores_table()
    wide = ensembles.to_wide(scores)
    val = ensembles.validation_rows(wide)
    combined = ensembles.combine("auc_weighted", ["a", "c"], val, wide)
    # a is the stronger detector, so the ensemble sits closer to a than the plain mean does
    mean = wide[["a", "c"]].mean(axis=1)
    assert (combined - wide["a"]).abs().mean() < (mean - wide["a"]).abs().mean()


def test_mean_z_puts_validation_reals_at_zero_mean_and_unit_scale():
    scores = scores_table()
    wide = ensembles.to_wide(scores)
    wide["b"] = wide["b"] * 1000 + 7  # a scorer on a very different scale
    val = ensembles.validation_rows(wide)
    combined = ensembles.combine("mean_z", ["a", "b"], val, wide)
    reals = ensembles.validation_rows(combined.to_frame()).xs(0, level="label")
    assert abs(reals.mean().item()) < 1e-9
    z = lambda m: (wide[m] - val[m][val.index.get_level_values("label") == 0].mean()) / val[m][  # noqa: E731
        val.index.get_level_values("label") == 0].std(ddof=0)
    np.testing.assert_allclose(combined, (z("a") + z("b")) / 2)


def test_probability_maps_are_monotone_and_leave_classifiers_alone():
    scores = scores_table()
    wide = ensembles.to_wide(scores)
    wide["c"] = wide["a"] * 50  # pretend c is an anomaly score
    maps = ensembles.fit_probability_maps(ensembles.validation_rows(wide), ["c"])
    mapped = ensembles.to_probabilities(wide, maps)
    pd.testing.assert_series_equal(mapped["a"], wide["a"])
    order = np.argsort(wide["c"].to_numpy())
    assert (np.diff(mapped["c"].to_numpy()[order]) >= 0).all()
    assert mapped["c"].between(0, 1).all()
