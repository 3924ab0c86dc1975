"""The results page's sentences and its figure of paired changes, on small hand-made tables."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import numpy as np
import pandas as pd
import pytest

from analysis.book import plots
from analysis.evaluation import study
from analysis.evaluation.study import answer_box, method_mix, seed_runs, text
from analysis.evaluation.study.endpoints import ALL_FIVE_ANALYSIS, PRIMARY_ANALYSIS
from analysis.evaluation.study.fitting import INTERPRETABLE, NOT_INTERPRETABLE


def _pairs(rows):
    """Diversity rows of one test set: (a, b, double fault, its null, outside the null?)."""
    return pd.DataFrame(rows, columns=["model a", "model b", "double fault", "double fault null",
                                       "double fault outside null (simultaneous)"]).assign(set="in-domain test")


def test_shared_errors_counts_pairs_that_fail_together_more_or_less_than_independent_ones():
    pairs = _pairs([("a", "b", 0.20, 0.10, True), ("a", "c", 0.02, 0.10, True), ("b", "c", 0.11, 0.10, False),
                    ("a", "z", 0.30, 0.10, True)])
    sentence = text.shared_errors_text(pairs, ["a", "b", "c"])
    assert sentence.startswith("1 of the 3 pairs fail together on more videos")
    assert "(1 on fewer; double fault" in sentence and "max-T over all 4 pairs of the 4 detectors; the shuffle moves videos, not identity groups, so a reference, not a test;" in sentence
    assert sentence.endswith("; within the reference range: b with c)")  # the pairs that may complement
    assert "on fewer" not in text.shared_errors_text(pairs, ["a", "b"])
    assert text.shared_errors_text(pairs, ["a", "b", "c"], how=False) == (
        "1 of the 3 pairs fail together on more videos than detectors independent given the label would (1 on fewer; "
        "within the reference range: b with c)")
    assert text.shared_errors_count(pairs, ["a", "b", "c"]) == "1 of the 3 pairs"
    assert text.shared_errors_count(pairs, ["a", "z"]) == "1 of the 1 pairs"
    with pytest.raises(ValueError, match="one test set"):
        text.shared_errors_text(pd.concat([pairs, pairs.assign(set="cross-domain test")]), ["a", "b"])
    with pytest.raises(ValueError, match="No pair"):
        text.shared_errors_text(pairs, ["x", "y"])


def test_kappa_ceiling_is_the_kappa_of_two_verdicts_that_agree_as_much_as_their_flag_rates_allow():
    from sklearn.metrics import cohen_kappa_score

    for flagged_a, flagged_b in ((4, 130), (130, 4), (300, 300), (597, 228), (0, 300)):
        a, b = np.arange(600) < flagged_a, np.arange(600) < flagged_b  # nested: the most agreement possible
        expected = cohen_kappa_score(a, b) if flagged_a else 0.0  # sklearn gives NaN for a constant pair
        assert text.kappa_ceiling(flagged_a / 600, flagged_b / 600) == pytest.approx(expected)


def test_near_constant_text_names_detectors_that_call_nearly_every_video_one_way():
    rates = pd.DataFrame({"model": ["a", "b", "c", "a"], "set": ["in-domain test"] * 3 + ["cross-domain test"],
                          "flagged": [3, 300, 597, 200], "videos": [600, 600, 600, 1000]})
    rates["flag rate"] = rates["flagged"] / rates["videos"]
    pairs = pd.DataFrame({"model a": ["a", "a", "b"], "model b": ["b", "c", "c"], "Cohen's kappa": [0.002, -0.01, 0.01],
                          "double fault outside null (simultaneous)": [False, False, True],
                          "Yule's Q outside null (simultaneous)": [False, False, False], "set": "in-domain test"})
    sentence = text.near_constant_text(rates, pairs)
    assert sentence.startswith("At their validation thresholds, a calls 3 of the 600 in-domain test videos fake "
                               "(200 of the 1000 cross-domain test videos); c calls 597 of the 600 in-domain test "
                               "videos fake.")
    assert "b calls" not in sentence
    ceiling = max(text.kappa_ceiling(0.005, 0.5), text.kappa_ceiling(0.005, 0.995), text.kappa_ceiling(0.5, 0.995))
    assert f"cannot exceed {ceiling:.3f} in any of them, as the other detectors flag 50% to 50% of" in sentence
    assert "it lies between -0.010 and 0.010" in sentence  # every pair with a or c
    assert "(right on one class, wrong on the other)" in sentence and "errors on that class" in sentence
    assert sentence.endswith("of the 3 pairs, those outside them on any measure: b with c.")
    only_a = text.near_constant_text(rates[rates["model"] != "c"], pairs[pairs["model b"] != "c"])
    assert only_a.startswith("At its validation threshold, a calls 3")
    assert "between 0.002 and 0.002" in only_a and only_a.endswith("on any measure: none.")
    assert "(right on the real videos, wrong on the fakes)" in only_a
    assert "counts the other detector's missed fakes" in only_a
    only_c = text.near_constant_text(rates[rates["model"] != "a"], pairs[pairs["model a"] != "a"])
    assert "(right on the fakes, wrong on the real videos)" in only_c and "false alarms on the real videos" in only_c
    assert text.near_constant_text(rates[rates["model"] == "b"], pairs) == ""  # every detector flags enough
    with pytest.raises(ValueError, match="one test set"):
        text.near_constant_text(rates, pd.concat([pairs, pairs.assign(set="cross-domain test")]))


def test_best_bar_counts_reads_only_the_cross_domain_family():
    against = pd.DataFrame({
        "family": ["cross-domain change vs clear best member"] * 3 + ["gap change vs clear best member"],
        "low": [0.01, -0.05, -0.02, 0.03], "high": [0.04, -0.01, 0.02, 0.06]})
    assert answer_box.best_bar_counts(against) == (1, 1, 3)


def _against(lows, highs, best="resnet18"):
    """``five_vs_best_member`` rows: one cross-domain change per combiner."""
    return pd.DataFrame({"family": "cross-domain change vs clear best member", "low": lows, "high": highs,
                         "clear best member": best})


def test_q1_answer_says_yes_only_where_an_ensemble_of_all_five_beats_the_best_member_across_domains():
    worse = answer_box.q1_answer(_against([-0.05, -0.04, -0.01], [-0.01, -0.01, 0.02]), "SHARED")
    assert worse.startswith("Not measurably: none of the 3 ensembles of all five scores measurably above resnet18, the best "
                            "member on validation, across domains; 2 score measurably below it (max-T over the 3).")
    assert "Of card 000's five, SHARED." in worse
    level = answer_box.q1_answer(_against([-0.01, -0.02], [0.01, 0.02]), "S")
    assert "across domains (max-T over the 2)" in level and "measurably below" not in level
    assert answer_box.q1_answer(_against([0.01, -0.02], [0.03, 0.02]), "S").startswith("Yes for 1 combiner: 1 of the 2")
    none = answer_box.q1_answer(_against([], []), "S")
    assert none.startswith("Not shown usefully: validation names no clear best member") and none.endswith(
        "Of card 000's five, S.")
    assert [answer_box.q1_word(_against(lo, hi)) for lo, hi in (([-0.05], [-0.01]), ([0.01], [0.02]), ([], []),
                                                                ([-0.05, -0.01], [-0.01, 0.01]))] == [
        "No", "Yes", "Not shown usefully", "Not measurably"]


def test_the_headline_gives_both_answers_with_their_reasons_in_words():
    line = answer_box.headline(_against([-0.05], [-0.01]), _endpoint(0.048, 0.032, 0.063))
    assert line == ("Question 1 (descriptive): no. No ensemble of all five scores measurably above resnet18, the best "
                    "member on validation, across domains. Question 2 (the primary endpoint): no. The soft vote widens "
                    "the gap (in-domain minus cross-domain AUC) against its members' mean.")
    two = answer_box.headline(_against([0.01, 0.02], [0.03, 0.04]), _endpoint(0.01, -0.01, 0.03))
    assert two.startswith("Question 1 (descriptive): yes. 2 of the ensembles of all five score measurably above")
    assert two.endswith("Question 2 (the primary endpoint): not measurably. The interval of the soft vote's change in "
                        "gap against its members' mean holds 0.")
    none = answer_box.headline(_against([], []), _endpoint(-0.03, -0.05, -0.01))
    assert "not shown usefully. Validation names no best member" in none and "primary endpoint): yes. " in none


def _endpoint(change, low, high, read=INTERPRETABLE, cross=0.05):
    return pd.Series({"gap change": change, "gap change low": low, "gap change high": high, "read": read,
                      "cross-domain AUC change": cross, "cross-domain AUC change low": cross - 0.01,
                      "cross-domain AUC change high": cross + 0.01})


def test_q2_answer_follows_the_interval_and_states_the_mde():
    wider = answer_box.q2_answer(_endpoint(0.048, 0.032, 0.063), 0.0226, "the vote")
    assert wider.startswith("No: the vote widens the gap") and "0.048 [0.032, 0.063]" in wider
    assert "rises by 0.050 [0.040, 0.060]" in wider and "with 80 % power, is 0.023." in wider
    assert "Card 000" not in wider  # no power row: no contrast
    card = pd.Series({"claimed effect": 0.0588, "scaled effect": 0.026, "power at scaled effect": 0.85})
    contrast = answer_box.q2_answer(_endpoint(0.048, 0.032, 0.063), 0.0226, "the vote", card)
    assert contrast.endswith("Card 000 reports a change of -0.059; scaled to this benchmark's smaller gap it would be "
                             "-0.026, found with probability 0.85, and the interval excludes it (a contrast, not a "
                             "test of the card's claim).")
    assert "interval holds it" in answer_box.q2_answer(_endpoint(-0.02, -0.04, 0.01), 0.02, "v", card)
    assert answer_box.q2_answer(_endpoint(-0.03, -0.05, -0.01), 0.02, "v").startswith("Yes: v narrows")
    assert answer_box.q2_answer(_endpoint(0.01, -0.01, 0.03), 0.02, "v").startswith("Not measurably")
    assert answer_box.q2_answer(_endpoint(0.01, 0.0, 0.03, read=NOT_INTERPRETABLE), 0.02, "v").startswith("Not answered")
    words = [answer_box.q2_word(_endpoint(*e)) for e in ((0.048, 0.032, 0.063), (-0.03, -0.05, -0.01),
                                                             (0.01, -0.01, 0.03), (0.01, 0.0, 0.03, NOT_INTERPRETABLE))]
    assert words == ["No", "Yes", "Not measurably", "Not answered"]


def test_endpoint_labels_name_the_post_hoc_primary_and_the_declared_all_five():
    assert text.endpoint_label(PRIMARY_ANALYSIS) == text.PRIMARY_LABEL and "after an earlier build" in text.PRIMARY_LABEL
    assert text.endpoint_label(ALL_FIVE_ANALYSIS) == text.ALL_FIVE_LABEL and "first declared" in text.ALL_FIVE_LABEL
    assert text.endpoint_label("pooled over seeds") == "pooled over seeds"  # a later row keeps its own name


def _spread(quantity, low, high, seeds=3, **moments):
    return pd.DataFrame({"quantity": [quantity], "seeds": [seeds], "min": [low], "max": [high],
                         **{name: [value] for name, value in moments.items()}})


def test_a_retrains_prediction_interval_holds_the_next_retrain_95_times_in_100():
    rng = np.random.default_rng(0)
    draws = rng.normal(0.05, 0.01, size=(20000, 4))  # three stored seeds and one more retrain
    seen = {"seeds": 3, "mean": draws[:, :3].mean(axis=1), "sd": draws[:, :3].std(axis=1, ddof=1)}
    low, high = seed_runs.retrain_interval(seen)
    held = ((low <= draws[:, 3]) & (draws[:, 3] <= high)).mean()
    assert abs(held - 0.95) < 0.01
    in_range = ((draws[:, :3].min(axis=1) <= draws[:, 3]) & (draws[:, 3] <= draws[:, :3].max(axis=1))).mean()
    assert abs(in_range - 0.5) < 0.02  # the range of three holds the next only half the time


def test_the_sd_upper_bound_covers_the_true_sd_95_times_in_100_and_one_build_carries_the_whole_sd():
    rng = np.random.default_rng(1)
    sds = rng.normal(0.0, 0.01, size=(20000, 3)).std(axis=1, ddof=1)
    covered = np.mean([seed_runs.sd_upper_bound(sd, 3) >= 0.01 for sd in sds])
    assert abs(covered - 0.95) < 0.01
    assert seed_runs.sd_upper_bound(1.0, 3) == pytest.approx(4.415, abs=1e-3)
    # one build trained once: test-set and between-seed variances add whole
    assert seed_runs.single_build_se(0.003, 0.004) == pytest.approx(0.005)


def test_seed_caveat_says_whether_this_build_lies_inside_the_stored_range():
    stored = pd.DataFrame({"source": ["stored run"], "date": ["2026-12-02"]})
    endpoint = pd.DataFrame({"gap change": [0.048, 0.056]})  # primary, then all five
    spread = _spread(seed_runs.ALL_FIVE_GAP, 0.046, 0.059)  # made before the gate: all five only
    inside = answer_box.seed_caveat(spread, stored, endpoint)
    assert "all-five gap change at +0.046 to +0.059" in inside and "+0.056 lies inside that range" in inside
    outside = answer_box.seed_caveat(_spread(seed_runs.PRIMARY_GAP, 0.01, 0.02), stored, endpoint)
    assert "primary gap change" in outside and "+0.048 lies outside it (a fresh seed, exchangeable with the stored 3, would fall " \
        "outside their range with probability 0.50: it is as likely" in outside and "prediction interval" not in outside  # no SD
    near = answer_box.seed_caveat(_spread(seed_runs.ALL_FIVE_GAP, 0.0551, 0.0597, mean=0.0569, sd=0.0025),
                                  stored, endpoint.assign(**{"gap change": [0.048, 0.0505]}))
    assert "(seeds taken to vary normally; t with 2 df), +0.044 to +0.069, holds it" in near
    far = answer_box.seed_caveat(_spread(seed_runs.ALL_FIVE_GAP, 0.0551, 0.0597, mean=0.0569, sd=0.0025),
                                 stored, endpoint.assign(**{"gap change": [0.048, 0.02]}))
    assert "does not hold it: the build differs from that run by more than a retrain explains" in far
    assert answer_box.seed_brief(_spread(seed_runs.ALL_FIVE_GAP, 0.0551, 0.0597, mean=0.0569, sd=0.0025), stored,
                                 endpoint.assign(**{"gap change": [0.048, 0.0505]})) == (
        "one training seed: a stored 3-seed run puts the all-five gap change at +0.055 to +0.060, and this build's "
        "+0.051 lies outside that range, inside one more retrain's 95 % prediction interval (+0.044 to +0.069)")
    assert answer_box.seed_brief(spread, stored, endpoint).endswith("+0.056 lies inside that range")
    moved = answer_box.seed_brief(_spread(seed_runs.ALL_FIVE_GAP, 0.0551, 0.0597, mean=0.0569, sd=0.0025), stored,
                                  endpoint, pd.DataFrame({"seed": [0], "quantity": [seed_runs.ALL_FIVE_GAP],
                                                          "value": [0.046]}))
    assert moved.endswith("; in the stored run this build's training seed, 0, gave +0.046, so the same seed built "
                          "again moved by 0.010, against the seeds' SD of 0.0025 (another kind of CPU, or later code, "
                          "trains it to other floats)")
    per_seed = pd.DataFrame({"seed": [0, 1], "quantity": [seed_runs.ALL_FIVE_GAP] * 2, "value": [0.046, 0.059]})
    assert ("Its training seed 0, this build's, gave +0.046 in that run, so the same seed, built again, moved by 0.010: "
            "that run did not record its CPU, a CPU of another kind may train the same seed to other floats from the "
            "first step; three seeds cannot tell such a move from a retrain's") \
        in answer_box.seed_caveat(spread, stored, endpoint, per_seed)
    kinds = stored.assign(**{"stored vector units": "AVX512", "vector units here": "AVX2"})
    assert ("moved by 0.010: that run's CPU had AVX512 vector units and this build's AVX2, and another kind of CPU "
            "trains the same seed to other floats from the first step; three") \
        in answer_box.seed_caveat(spread, kinds, endpoint, per_seed)
    same = per_seed.assign(value=[0.056, 0.059])
    assert "gave" not in answer_box.seed_caveat(spread, stored, endpoint, same)
    assert "unknown" in answer_box.seed_caveat(_spread(seed_runs.ALL_FIVE_GAP, 0.05, 0.05, seeds=1), stored, endpoint)
    here = pd.DataFrame({"source": ["this build"], "date": [""]})
    assert answer_box.seed_caveat(spread, here, endpoint).startswith("3 training seeds in this build")
    # just outside, where 3 decimals would print the value as the range's end
    close = answer_box.seed_caveat(_spread(seed_runs.PRIMARY_GAP, 0.0476, 0.04996), stored,
                                   pd.DataFrame({"gap change": [0.05046, 0.056]}))
    assert "at +0.0476 to +0.0500, and this build's +0.0505 lies outside it" in close


def test_this_builds_values_stand_beside_a_stored_spread_and_the_share_outside_is_read_against_chance():
    per_seed = pd.DataFrame({"seed": [0, 1, 2] * 3,
                             "quantity": ["gap: a"] * 3 + ["gap: b"] * 3 + [seed_runs.ALL_FIVE_GAP + " low"] * 3,
                             "value": [0.10, 0.12, 0.14, 0.20, 0.21, 0.22, 0.0, 0.0, 0.0]})
    spread = seed_runs.spread(per_seed)
    here = pd.DataFrame({"seed": [0, 0, 0], "quantity": ["gap: a", "gap: c", seed_runs.ALL_FIVE_GAP + " low"],
                         "value": [0.13, 0.5, 0.9]})
    beside = seed_runs.beside_build(spread, here).set_index("quantity")
    assert beside.loc["gap: a", seed_runs.BUILD] == 0.13 and beside.loc["gap: a", "inside"]
    assert np.isnan(beside.loc["gap: b", seed_runs.BUILD]) and pd.isna(beside.loc["gap: b", "inside"])
    stored = pd.DataFrame({"source": ["stored run"], "date": ["2026-12-03"], "data seed": [1]})
    among = text.seed_sentence(beside.reset_index(), stored)
    assert "0 of 1 lie outside the stored range" in among and "with probability 0.50" in among
    assert "no more often than one more retrain would" in among and "endpoint itself" not in among
    spread = seed_runs.spread(per_seed.assign(value=[0.10, 0.12, 0.14, 0.20, 0.21, 0.22, 0, 0, 0]))
    apart = text.seed_sentence(seed_runs.beside_build(spread, here.assign(
        quantity=["gap: a", "gap: b", "x"], value=[0.3, 0.3, 0.0])), stored)
    assert "2 of 2 lie outside the stored range" in apart and "more often than one more retrain would: a build" in apart
    assert "last column" not in text.seed_sentence(spread, stored)  # a spread without this build's values


def test_a_build_that_gives_a_stored_seeds_numbers_again_is_not_read_as_one_more_retrain():
    """Where this build's training seed is one of the stored run's and every value comes
    out again, the page says it lies inside the range by construction instead of counting
    how often it lies outside; a build that differs anywhere is still counted."""
    per_seed = pd.DataFrame({"seed": [0, 1, 2] * 2, "quantity": ["gap: a"] * 3 + ["in-domain AUC: a"] * 3,
                             "value": [0.10, 0.12, 0.14, 0.80, 0.85, 0.90]})
    spread = seed_runs.spread(per_seed)
    same = seed_runs.beside_build(spread, per_seed[per_seed["seed"] == 0])
    assert seed_runs.reproduced_seed(same, per_seed, 0) == 0 and seed_runs.reproduced_seed(same, per_seed, 1) is None
    moved = seed_runs.beside_build(spread, per_seed[per_seed["seed"] == 0].assign(value=[0.10, 0.81]))
    assert seed_runs.reproduced_seed(moved, per_seed, 0) is None
    stored = {"source": "stored run", "date": "2026-12-06", "data seed": 1}
    by_construction = text.seed_sentence(same, pd.DataFrame([{**stored, "reproduced seed": 0}]))
    assert "the stored run's seed 0" in by_construction and "by construction" in by_construction
    assert "lie outside the stored range" not in by_construction
    counted = text.seed_sentence(moved, pd.DataFrame([{**stored, "reproduced seed": None}]))
    assert "0 of 2 lie outside the stored range" in counted
    assert "in-domain AUC moves by up to 0.100 (a) and its gap by up to 0.040 (a)" in counted


def test_a_stored_primary_of_other_members_is_named_after_its_ensemble_on_the_page():
    names = [seed_runs.PRIMARY_GAP, seed_runs.PRIMARY_CROSS, seed_runs.MEMBERS_GAP, seed_runs.ALL_FIVE_GAP,
             "gap: soft_vote(a+b)", "gap: resnet18"]
    spread = pd.DataFrame({"quantity": names, "min": 0.0, "max": 1.0})
    differ = {"stored primary": "soft_vote(a+b)", "primary here": "soft_vote(card 000's five)"}
    named = seed_runs.named_primary(spread, differ)["quantity"].tolist()
    stored = seed_runs.STORED_PRIMARY
    assert named == [f"{stored}: gap change vs mean member", f"{stored}: cross-domain AUC change",
                     f"{stored}: members' mean gap", seed_runs.ALL_FIVE_GAP, f"gap: {stored}", "gap: resnet18"]
    same = {"stored primary": "soft_vote(a+b)", "primary here": "soft_vote(a+b)"}
    assert seed_runs.named_primary(spread, same)["quantity"].tolist() == names


def test_this_builds_primary_is_not_set_beside_a_stored_primary_of_other_members():
    names = [seed_runs.PRIMARY_GAP, seed_runs.PRIMARY_CROSS, seed_runs.MEMBERS_GAP, seed_runs.ALL_FIVE_GAP]
    per_seed = pd.DataFrame({"seed": [0, 1, 2] * 4, "quantity": [n for n in names for _ in range(3)],
                             "value": [0.048, 0.049, 0.050] * 4})
    here = pd.DataFrame({"seed": [0] * 4, "quantity": names, "value": [0.0505] * 4})
    same = seed_runs.beside_build(seed_runs.spread(per_seed), here).set_index("quantity")
    assert not same["inside"].any() and same[seed_runs.BUILD].notna().all()
    other = seed_runs.beside_build(seed_runs.spread(per_seed), here, same_primary=False).set_index("quantity")
    assert other.loc[names[:3], seed_runs.BUILD].isna().all() and other.loc[names[:3], "inside"].isna().all()
    assert other.loc[seed_runs.ALL_FIVE_GAP, seed_runs.BUILD] == 0.0505  # the ensemble both builds share
    # the table among the retrains (1 of 4 outside) and its endpoint outside: the sentence says both
    rest = other.reset_index().iloc[[3, 3, 3]].assign(quantity=["gap: a", "gap: b", "gap: c"], inside=True)
    among = pd.concat([other.reset_index(), rest])
    stored = pd.DataFrame({"source": ["stored run"], "date": ["2026-12-03"], "data seed": [1]})
    sentence = text.seed_sentence(among, stored)
    assert "1 of 4 lie outside" in sentence and "no more often than one more retrain would" in sentence
    assert f'of this build\'s endpoint, "{seed_runs.ALL_FIVE_GAP}" lies outside' in sentence
    # this build's value of the stored primary beside it, outside too: not this build's endpoint, so not named
    theirs = same.reset_index()
    differ = {"stored primary": "soft_vote(a+b)", "primary here": "soft_vote(card 000's five)"}
    named = text.build_beside_seeds(theirs, differ)
    assert f'of this build\'s endpoint, "{seed_runs.ALL_FIVE_GAP}" lies outside' in named
    assert seed_runs.PRIMARY_GAP not in named
    both = text.build_beside_seeds(theirs, {**differ, "primary here": "soft_vote(a+b)"})
    assert (f'"{seed_runs.PRIMARY_GAP}", "{seed_runs.PRIMARY_CROSS}", "{seed_runs.MEMBERS_GAP}" and '
            f'"{seed_runs.ALL_FIVE_GAP}" lie outside') in both


def test_seed_caveat_compares_all_five_where_the_fit_gate_chose_other_members():
    spread = pd.concat([_spread(seed_runs.PRIMARY_GAP, 0.048, 0.050), _spread(seed_runs.ALL_FIVE_GAP, 0.055, 0.060)])
    endpoint = pd.DataFrame({"gap change": [0.047, 0.046]})  # primary, then all five
    stored = {"source": "stored run", "date": "2026-12-03", "stored primary": "soft_vote(a+b)"}
    other = pd.DataFrame([{**stored, "primary here": "soft_vote(card 000's five)"}])
    per_seed = pd.DataFrame({"seed": [0, 0], "quantity": [seed_runs.PRIMARY_GAP, seed_runs.ALL_FIVE_GAP],
                             "value": [0.048, 0.056]})
    text = answer_box.seed_caveat(spread, other, endpoint, per_seed)
    assert "all-five gap change at +0.055 to +0.060, and this build's +0.046 lies outside it" in text
    assert "Its training seed 0, this build's, gave +0.056 in that run" in text  # all five's, not the primary's
    assert ("this build's is soft_vote(card 000's five), the stored run's soft_vote(a+b) (its gap change +0.048 to "
            "+0.050 across that run's seeds)") in text
    spread = pd.concat([_spread(seed_runs.PRIMARY_GAP, 0.048, 0.050, mean=0.049, sd=0.001),
                        _spread(seed_runs.ALL_FIVE_GAP, 0.055, 0.060)])
    beside = seed_runs.beside_build(spread, pd.DataFrame({"quantity": [seed_runs.PRIMARY_GAP], "value": [0.043]}))
    # that ensemble's own range (+0.048 to +0.050, mean 0.049, SD 0.001) and retrain interval leave +0.043 out
    assert ("(its gap change +0.048 to +0.050 across that run's seeds; this build's gap change for that ensemble, "
            "+0.043, lies outside that range and outside one more retrain's interval, +0.044 to +0.054: for that "
            "ensemble the two builds differ by more than a retrain would)") in \
        answer_box.seed_caveat(beside, other, endpoint, per_seed)
    assert seed_runs.compared_endpoint(spread, other.iloc[0]) == "all five"
    same = pd.DataFrame([{**stored, "primary here": "soft_vote(a+b)"}])
    assert seed_runs.compared_endpoint(spread, same.iloc[0]) == "primary"
    alike = answer_box.seed_caveat(spread, same, endpoint)
    assert "primary gap change at +0.048 to +0.050" in alike and "different ensembles" not in alike


def test_pooled_and_retrain_texts_read_the_endpoint_they_are_given():
    pooled = pd.DataFrame([{"analysis": a, "seeds": 3, "gap change": g, "gap change low": g - 0.016,
                            "gap change high": g + 0.016, "seeds agree": True, "each seed's interval": "above"}
                           for a, g in (("primary", 0.049), ("all five", 0.057))])
    assert "the primary gap change is 0.049" in answer_box.pooled_seed_text(pooled)
    assert "the all-five gap change is 0.057" in answer_box.pooled_seed_text(pooled, "all five")
    assert answer_box.pooled_seed_text(pooled, stored=True).startswith(
        "pooled over the stored run's 3 training seeds (this build not among them), with")
    assert answer_box.pooled_seed_text(pooled).startswith("pooled over this build's 3 training seeds, with")
    spread = pd.concat([_spread(seed_runs.PRIMARY_GAP, 0.048, 0.050), _spread(seed_runs.ALL_FIVE_GAP, 0.055, 0.060),
                        _spread("in-domain AUC: a", 0.8, 0.9)]).assign(sd=0.01, range=lambda s: s["max"] - s["min"])
    primary = text.retrain_text(spread, "a stored run", pooled)
    assert "the primary endpoint's gap change ranges from +0.048 to +0.050" in primary and "0.049" in primary
    five = text.retrain_text(spread, "a stored run", pooled, "all five")
    assert "the all-five soft vote's gap change ranges from +0.055 to +0.060" in five
    assert "the all-five gap change is 0.057" in five


def test_primary_label_is_the_ensemble_each_seed_wrote_first():
    quantities = ["gap: soft_vote(a+b)", "gap: a", seed_runs.PRIMARY_GAP]
    values = pd.DataFrame({"seed": [0, 0, 0, 1, 1, 1], "value": 0.1, "quantity": quantities * 2})
    assert seed_runs.primary_label(values) == "soft_vote(a+b)"
    before_the_gate = values[values["quantity"] != seed_runs.PRIMARY_GAP]
    assert seed_runs.primary_label(before_the_gate) is None
    mixed = values.assign(quantity=[*quantities, "gap: a", "gap: b", seed_runs.PRIMARY_GAP])
    assert seed_runs.primary_label(mixed) is None


def test_paired_changes_draws_each_rows_own_mde_and_card_marks():
    table = pd.DataFrame({"label": ["primary", "all five", "vs best"], "change": [0.05, 0.06, 0.057],
                          "change low": [0.03, 0.04, 0.04], "change high": [0.06, 0.08, 0.075],
                          "MDE": [0.023, np.nan, 0.026], "card": [-0.059, -0.059, -0.027],
                          "card scaled": [-0.027, -0.027, np.nan]})
    fig = plots.paired_changes(table)
    ax = fig.axes[0]
    bands = [c for c in ax.collections if type(c).__name__ in ("PolyCollection", "FillBetweenPolyCollection")]
    assert len(bands) == 2  # none for the row without an MDE
    widths = sorted(round(float(np.ptp(b.get_paths()[0].vertices[:, 0])), 3) for b in bands)
    assert widths == [0.046, 0.052]
    diamonds = [c for c in ax.collections if type(c).__name__ == "PathCollection" and len(c.get_offsets()) == 1]
    assert sorted(float(d.get_offsets()[0][0]) for d in diamonds) == [-0.027, -0.027]
    with pytest.raises(ValueError, match="MDE"):
        plots.paired_changes(table.drop(columns="MDE"))


def _shift(subset, gap, low, high):
    return {"subset": subset, "reference gap": gap, "reference gap low": low, "reference gap high": high}


def test_the_gap_per_kind_of_shift_says_where_the_target_is_harder_and_where_easier():
    per_shift = pd.DataFrame([_shift("unseen_both", 0.186, 0.162, 0.212), _shift("unseen_capture", 0.043, 0.007, 0.074),
                              _shift("unseen_method", -0.041, -0.064, -0.016), _shift("other", 0.01, -0.02, 0.03)])
    sentence = study.shift_sentence(per_shift)
    assert "0.043 [0.007, 0.074] on unseen_capture" in sentence and "-0.041 [-0.064, -0.016] on unseen_method" in sentence
    assert "harder than the source on unseen_both and unseen_capture" in sentence
    assert "unseen_capture, easier than the source on unseen_method" in sentence
    assert "not measurably different from the source on other" in sentence
    assert study.shift_sentence(per_shift.iloc[:0]) == "" and study.shift_sentence(None) == ""
    mix = pd.DataFrame([{"reading": method_mix.POOLED, "methods": "a, b", "reference gap": 0.07,
                         "reference gap low": 0.05, "reference gap high": 0.09, "gap change": 0.05,
                         "gap change low": 0.03, "gap change high": 0.06},
                        {"reading": method_mix.SOURCE_MIX, "methods": "a", "reference gap": 0.003,
                         "reference gap low": -0.029, "reference gap high": 0.037, "gap change": 0.04,
                         "gap change low": 0.03, "gap change high": 0.06}])
    premise = study.premise_sentence(mix, pooled_harder=True, per_shift=per_shift)
    assert sentence in premise and "not measurably harder in this reading" in premise
    # the like-for-like interval's reach, as a share of the pooled gap (0.037 of 0.070)
    assert "its interval reaches at most 0.037, 53% of the pooled gap of 0.070" in premise
    caveat = answer_box.like_for_like_caveat(mix, per_shift)
    assert "against reals of its own capture" in caveat and "0.043 [0.007, 0.074] on unseen_capture" in caveat
    assert caveat.endswith("the target is harder than the source on unseen_both and unseen_capture, easier than the "
                           "source on unseen_method, not measurably different from the source on other")
    assert "own capture" not in answer_box.like_for_like_caveat(mix)
    assert caveat.startswith("the members' gap is not measurably above zero on the methods both domains share: like for like")
    assert "0.003 [-0.029, 0.037] (its interval reaches 53% of the pooled gap) against" in caveat


def test_the_stand_in_caveat_names_what_the_cpu_detectors_are_and_is_empty_for_the_cards_models():
    from analysis.profiles import get_profile

    names = ["resnet18", "efficientnet_b4", "r3d18", "deep_svdd"]
    cpu = answer_box.stand_in_caveat(get_profile("cpu"), names)
    assert "efficientnet_b4 is efficientnet_b0" in cpu and "r3d18 is r3d_10" in cpu and "from scratch" in cpu
    assert "resnet18 is" not in cpu  # the card's architecture, only smaller crops
    assert answer_box.stand_in_caveat(get_profile("paper"), names) == ""


def test_other_draws_are_the_stored_builds_of_another_benchmark_draw():
    from analysis.book import provenance

    fresh = provenance.other_draws(1)
    assert len(fresh) and (fresh["data seed"] != 1).all() and fresh["gap change low"].notna().all()
    stored = pd.read_csv(provenance.STORED_DIR / "earlier_builds.csv")
    assert len(fresh) == (stored["data seed"] != 1).sum() and len(provenance.other_draws(2)) == (stored["data seed"] != 2).sum()


def test_a_stored_runs_value_at_a_seed_is_found_or_none():
    values = pd.DataFrame({"seed": [0, 1], "quantity": [seed_runs.PRIMARY_GAP] * 2, "value": [0.048, 0.050]})
    assert seed_runs.value_at(values, 1, seed_runs.PRIMARY_GAP) == 0.050
    assert seed_runs.value_at(values, 2, seed_runs.PRIMARY_GAP) is None
    assert seed_runs.value_at(values, 0, seed_runs.ALL_FIVE_GAP) is None


@pytest.mark.parametrize("cross, low, high, says", [
    (0.065, 0.054, 0.074, "still gains across domains"),
    (-0.02, -0.03, -0.01, "worse generalization"),
    (0.01, -0.01, 0.03, "not measurably different from zero"),
])
def test_the_gap_source_says_where_a_wider_gap_comes_from_as_the_cross_domain_interval_decides(cross, low, high, says):
    row = pd.Series({"ensemble in-domain AUC": 0.856, "reference in-domain AUC": 0.741, "gap change": 0.115 - cross,
                     "cross-domain AUC change": cross, "cross-domain AUC change low": low,
                     "cross-domain AUC change high": high})
    sentence = text.gap_source_text(row)
    assert "in-domain AUC changes by +0.115" in sentence and f"cross-domain AUC by {cross:+.3f}" in sentence
    assert says in sentence and "widens" in sentence


def test_the_gap_source_of_a_narrower_gap_gives_both_changes_and_no_reading_of_a_wider_one():
    row = pd.Series({"ensemble in-domain AUC": 0.80, "reference in-domain AUC": 0.75, "gap change": -0.02,
                     "cross-domain AUC change": 0.07, "cross-domain AUC change low": 0.05,
                     "cross-domain AUC change high": 0.09})
    sentence = text.gap_source_text(row)
    assert "narrows" in sentence and "+0.050" in sentence and "gains across" not in sentence


def test_gate_brief_names_the_member_closest_to_the_line_and_whether_the_margin_moves_the_verdict():
    gate = pd.DataFrame({"model": ["a", "b", "svdd"], "lowest training loss": [0.44, 0.67, np.nan]})
    same = pd.DataFrame({"loss margin": [0.0, 0.05], "verdict": ["widens the gap"] * 2})
    line = answer_box.gate_brief(gate, same, ["a", "b", "svdd"], [])
    assert line == ("fit gate added after an earlier build; all five passed it, b closest to its line (lowest "
                    "training loss 0.670 against 0.673); the verdict is the same at every loss margin from 0.00 to 0.05 "
                    "(the gate uses 0.02; the gap page's table)")
    moved = pd.DataFrame({"loss margin": [0.0, 0.02, 0.05, 0.1],
                          "verdict": ["widens the gap"] * 3 + ["does not measurably change the gap"]})
    post_hoc = answer_box.gate_brief(gate, moved, ["a"], ["b"])
    assert post_hoc.startswith("fit gate added after an earlier build; the primary endpoint is post hoc: the gate "
                               "left out b, a closest")
    assert post_hoc.endswith("; the verdict at the gate's loss margin, 0.02, is not the one at 0.10 (margins 0.00 "
                             "to 0.10 tried: the gap page's table)")


def test_the_verdict_says_how_far_outside_the_stored_ranges_this_builds_detectors_lie():
    spread = pd.concat([
        _spread("in-domain AUC: a", 0.70, 0.72, sd=0.01), _spread("cross-domain AUC: b", 0.62, 0.66, sd=0.02),
        _spread("cross-domain AUC: soft_vote(a+b)", 0.73, 0.75, sd=0.01),  # an ensemble: not a detector
    ]).assign(range=lambda s: s["max"] - s["min"])
    beside = spread.assign(**{seed_runs.BUILD: [0.71, 0.56, 0.60]})
    assert text.furthest_outside(beside) == ("this build's own detectors lie up to 0.060 outside those ranges "
                                             "(b's cross-domain AUC, 0.560 against 0.620 to 0.660: 3.0 of the "
                                             "stored SDs)")
    assert text.furthest_outside(beside.assign(**{seed_runs.BUILD: [0.71, 0.64, 0.60]})) == ""  # all inside
    assert text.furthest_outside(spread) == ""  # no build beside the stored run
    with_gap = pd.concat([spread, _spread(seed_runs.PRIMARY_GAP, 0.04, 0.06, sd=0.01).assign(range=0.02)])
    assert "; this build's own detectors lie up to 0.060" in text.retrain_text(
        with_gap.assign(**{seed_runs.BUILD: [0.71, 0.56, 0.60, 0.05]}), "a stored run")
