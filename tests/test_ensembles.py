"""The fitted ensemble: named members, fitted on validation only, calibrated members,
each combiner's arithmetic, cross-validated validation AUC, and the not-fitted error."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy.special import expit, logit
from sklearn.metrics import roc_auc_score

from analysis.errors import NotFittedError
from analysis.evaluation.study import CARD_000_FIVE
from analysis.evaluation import ensembles


def scores_table(seed: int = 0, n: int = 40) -> pd.DataFrame:
    """A long video-level scores table: two domains, val and test, three models, and
    identity groups of one real and one fake."""
    rng = np.random.default_rng(seed)
    rows = []
    for domain, split in (("source", "val"), ("source", "test"), ("target", "test")):
        for i in range(n):
            label = int(i % 2)
            for model, strength in (("a", 2.0), ("b", 1.0), ("c", 0.0)):
                score = 1 / (1 + np.exp(-(strength * (label - 0.5) + rng.normal())))
                rows.append({"dataset": "d", "domain": domain, "split": split, "method": "m" if label else "real",
                             "video_id": f"{domain}-{split}-{i}", "label": label, "group": f"{domain}-{split}-{i // 2}",
                             "model": model, "frame_index": -1, "score": score})
    return pd.DataFrame(rows)


def fitted(kind, members, wide=None, **options):
    wide = ensembles.to_wide(scores_table()) if wide is None else wide
    return ensembles.Ensemble(kind, members, **options).fit(ensembles.validation_rows(wide)), wide


def test_names_list_members_and_subsets_are_all_non_empty_ones():
    assert ensembles.ensemble_name("soft_vote", ["vit_b16", "r3d18"]) == "soft_vote(r3d18+vit_b16)"
    assert ensembles.split_name("soft_vote(r3d18+vit_b16)") == ("soft_vote", ("r3d18", "vit_b16"))
    for not_one in ("resnet18", "stacking()", "soft_vote(a+b"):
        with pytest.raises(ValueError, match="not an ensemble name"):
            ensembles.split_name(not_one)
    found = ensembles.subsets(CARD_000_FIVE)
    assert len(found) == 2**5 - 1 == len(set(found))
    assert sum(len(s) == 5 for s in found) == 1


def test_soft_vote_is_the_mean_calibrated_probability():
    ensemble, wide = fitted("soft_vote", ["a", "b"])
    expected = np.mean([ensemble.calibrators_[m].transform(wide[m].to_numpy()) for m in ("a", "b")], axis=0)
    np.testing.assert_allclose(ensemble.score(wide), expected)
    table = ensembles.ensemble_scores(wide, ensemble)
    assert set(table["model"]) == {"soft_vote(a+b)"} == {ensemble.name_} and (table["frame_index"] == -1).all()


def test_calibration_stops_a_member_with_a_wide_scale_from_driving_the_vote():
    # c is useless but spread over the whole [0, 1] range; a is good but timid
    wide = ensembles.to_wide(scores_table())
    wide["c"] = expit(8 * logit(wide["c"]))
    wide["a"] = expit(0.2 * logit(wide["a"]))
    ensemble, _ = fitted("soft_vote", ["a", "c"], wide)
    test = wide.xs("test", level="split")
    labels = test.index.get_level_values("label")
    raw_vote = test[["a", "c"]].mean(axis=1)
    assert roc_auc_score(labels, ensemble.score(test)) > roc_auc_score(labels, raw_vote)
    assert ensemble.calibrated(test)["c"].std() < test["c"].std()


@pytest.mark.parametrize("kind", ensembles.ALL_KINDS)
def test_fitted_ensembles_never_read_test_labels(kind):
    scores = scores_table()
    flipped = scores.copy()
    test = flipped["split"] == "test"
    flipped.loc[test, "label"] = 1 - flipped.loc[test, "label"]  # flip every test label
    a, wide_a = fitted(kind, ["a", "b", "c"], ensembles.to_wide(scores))
    b, wide_b = fitted(kind, ["a", "b", "c"], ensembles.to_wide(flipped))
    by_video = lambda e, w: e.score(w).reset_index("label", drop=True).sort_index()  # noqa: E731
    pd.testing.assert_series_equal(by_video(a, wide_a), by_video(b, wide_b))
    assert a.threshold_ == b.threshold_


def test_rank_average_ranks_against_validation_scores():
    ensemble, wide = fitted("rank_average", ["a"])
    val = ensembles.validation_rows(wide)
    expected = [(val["a"] <= x).mean() for x in wide["a"]]
    np.testing.assert_allclose(ensemble.score(wide), expected)


def test_auc_weighting_gives_a_member_at_chance_no_say():
    wide = ensembles.to_wide(scores_table())
    wide["c"] = wide["c"].where(wide.index.get_level_values("split") != "val", 0.5)  # c: no skill on validation
    ensemble, _ = fitted("auc_weighted", ["a", "c"], wide)
    assert ensemble.weights_["c"] == 0 and ensemble.weights_["a"] == 1


def test_mean_z_puts_validation_reals_at_zero_mean_and_unit_scale():
    wide = ensembles.to_wide(scores_table())
    wide["b"] = wide["b"] * 1000 + 7  # a scorer on a very different scale
    ensemble, _ = fitted("mean_z", ["a", "b"], wide, raw_scores=["b"])
    val = ensembles.validation_rows(wide)
    reals = val[ensembles.labels_of(val) == 0]
    assert abs(ensemble.score(reals).mean()) < 1e-9
    z = lambda m: (wide[m] - reals[m].mean()) / reals[m].std(ddof=0)  # noqa: E731
    np.testing.assert_allclose(ensemble.score(wide), (z("a") + z("b")) / 2)


def test_stacking_reports_a_cross_validated_validation_auc():
    # noise members: in-sample stacking fits noise, held-out groups do not
    rng = np.random.default_rng(3)
    wide = ensembles.to_wide(scores_table(n=60))
    for m in ("a", "b", "c"):
        wide[m] = rng.random(len(wide))
    ensemble, _ = fitted("stacking", ["a", "b", "c"], wide)
    cross_validated = ensemble.cross_validated_auc(ensembles.validation_rows(wide))
    assert cross_validated < ensemble.validation_auc_


def test_threshold_and_verdicts_come_from_validation():
    ensemble, wide = fitted("soft_vote", ["a", "b"])
    verdicts = ensemble.predict(wide)
    assert (verdicts == (ensemble.score(wide) >= ensemble.threshold_)).all()
    val = ensembles.validation_rows(wide)
    assert ensemble.validation_auc_ == pytest.approx(roc_auc_score(ensembles.labels_of(val), ensemble.score(val)))


def test_unfitted_and_misused_ensembles_say_what_to_do():
    with pytest.raises(NotFittedError, match="Call 'fit'"):
        ensembles.Ensemble("soft_vote", ["a"]).score(pd.DataFrame({"a": [0.5]}))
    with pytest.raises(ValueError, match="unknown ensemble kind"):
        ensembles.Ensemble("median")
    ensemble, wide = fitted("soft_vote", ["a", "b"])
    with pytest.raises(ValueError, match=r"needs columns \['b'\]"):
        ensemble.score(wide[["a"]])
    with pytest.raises(ValueError, match="no column for"):
        ensembles.Ensemble("soft_vote", ["a", "z"]).fit(ensembles.validation_rows(wide))


def test_a_wide_table_refuses_two_scores_for_one_video_and_model():
    scores = scores_table()
    twice = pd.concat([scores, scores.assign(score=0.5)])  # two training seeds, not told apart
    with pytest.raises(ValueError, match="select one training seed"):
        ensembles.to_wide(twice)
