"""The study's tables on scores tables with a known structure (no training)."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from analysis import paths
from analysis.errors import UserInputError
from analysis.benchmark.sizing import PLANNING
from analysis.evaluation import ensembles, group_counts, metrics, study
from analysis.evaluation.study import answer_box, seed_runs
from analysis.profiles import Analysis
from tests.scores_factory import combine, run_folder, write_runs

N = 300  # resamples: enough for the tables' logic, not for publication


@pytest.fixture(scope="module")
def learned(tmp_path_factory):
    return study.load_study("cpu", n_resamples=N, run_dir=write_runs(tmp_path_factory.mktemp("learned"), 1.5))


@pytest.fixture(scope="module")
def at_chance(tmp_path_factory):
    return study.load_study("cpu", n_resamples=N, run_dir=write_runs(tmp_path_factory.mktemp("chance"), 0.0))


def verdict_tables_of(result, power_row=None) -> dict[str, pd.DataFrame]:
    """The tables the results stage builds the verdict of one study from."""
    if power_row is None:
        card = study.card_assumptions()
        power_row = study.power_table(result, card["claimed effect"], card["auc in"], card["auc cross"], N)
    mix = study.like_for_like_tables(result, [result.primary], N)["like_for_like_primary"]
    return study.verdict_tables(result, study.primary_endpoint(result), power_row, mix)


def verdict_of(result, power_row=None) -> str:
    """The verdict the results stage writes for one study, from the tables it reads."""
    return study.trust_verdict(verdict_tables_of(result, power_row), result.training_seed)


def learned_models(gaps: pd.DataFrame) -> list[str]:
    """The single detectors whose in-domain interval lies above 0.5, read from a gap table."""
    singles = gaps[gaps["kind"] == "single"]
    return singles.loc[singles["in-domain AUC low"] > study.CHANCE, "name"].tolist()


def card_share(power: pd.Series) -> str:
    """The card's claimed change as a share of its members' gap, as the verdict states it
    when it scales the claim to this benchmark (a power table row)."""
    return f"{power['claimed effect'] / (power['card AUC in-domain'] - power['card AUC cross-domain']):.0%}"


def assert_nothing_learned(gaps: pd.DataFrame, verdict: str) -> None:
    """No detector learned (gap table), so the verdict names no detector: it reads no AUC of one."""
    assert learned_models(gaps) == []
    assert [name for name in gaps.loc[gaps["kind"] == "single", "name"] if name in verdict] == []


def test_gap_table_gates_reading_on_the_in_domain_interval(learned, at_chance):
    for result in (learned, at_chance):
        gaps = study.gap_table(result)
        assert set(gaps["name"]) == set(result.members)
        for column in ("in-domain AUC", "cross-domain AUC", "gap"):
            assert (gaps[f"{column} low"] <= gaps[column] + 1e-12).all()
            assert (gaps[column] <= gaps[f"{column} high"] + 1e-12).all()
        readable = gaps["in-domain AUC low"] > 0.5
        assert (gaps["gap read"] == np.where(readable, "interpretable", "not interpretable")).all()
    assert (study.gap_table(learned, learned.models)["gap read"] == "interpretable").all()
    ensembles_only = study.gap_table(at_chance, [at_chance.primary]).iloc[0]
    assert ensembles_only["clear best member"] == study.NO_CLEAR_BEST  # members at chance: a coin flip
    assert (study.gap_table(at_chance, at_chance.models)["gap read"] == "not interpretable").all()


def test_primary_endpoint_is_the_five_soft_vote_against_its_mean_member(learned, at_chance):
    row = study.primary_endpoint(learned).iloc[0]
    assert row["ensemble"] == "soft_vote(efficientnet_b4+r3d18+r3d18_flow+resnet18+vit_b16)"
    gaps = study.gap_table(learned, learned.models).set_index("name")
    mean_gap = gaps.loc[list(learned.five), "gap"].mean()
    ensemble_gap = study.gap_table(learned, [row["ensemble"]])["gap"].item()
    assert row["gap change"] == pytest.approx(ensemble_gap - mean_gap)
    assert row["ensemble gap"] == pytest.approx(ensemble_gap) and row["reference gap"] == pytest.approx(mean_gap)
    assert row["reference gap low"] < row["reference gap"] < row["reference gap high"]
    assert row["read"] == "interpretable" and row["verdict"] != "not interpretable"
    assert study.primary_endpoint(at_chance).iloc[0]["verdict"] == "not interpretable"


def test_a_member_that_did_not_fit_leaves_the_primary_and_all_five_is_the_sensitivity_row(tmp_path):
    """The fit gate, judged on the training record and validation only: a classifier whose
    loss stayed at ln 2, and one whose validation interval reaches 0.5, stay out of the
    primary ensemble and its mean member; the all-five version is the row beside it."""
    runs = write_runs(tmp_path, 1.5, losses={"r3d18_flow": 0.69}, skills={"vit_b16": 0.0})
    result = study.load_study("cpu", n_resamples=N, run_dir=runs)
    gate = result.gate.set_index("model")
    assert not gate.loc["r3d18_flow", "passes"] and "training loss" in gate.loc["r3d18_flow", "why not"]
    assert gate.loc["r3d18_flow", "fitted training data"] == "no"
    assert not gate.loc["vit_b16", "passes"] and "validation AUC interval" in gate.loc["vit_b16", "why not"]
    assert gate.loc["resnet18", "passes"] and gate.loc["deep_svdd", "fitted training data"] == "n/a (one-class)"
    assert result.fitted_five == ["resnet18", "efficientnet_b4", "r3d18"]
    table = study.primary_endpoint(result)
    assert list(table["analysis"]) == [study.PRIMARY_ANALYSIS, study.ALL_FIVE_ANALYSIS]
    assert sorted(table["members"].iloc[0].split("+")) == ["efficientnet_b4", "r3d18", "resnet18"]
    assert sorted(table["members"].iloc[1].split("+")) == sorted(result.five)
    gaps = study.gap_table(result, result.models).set_index("name")
    assert table["reference gap"].iloc[0] == pytest.approx(gaps.loc[["resnet18", "efficientnet_b4", "r3d18"], "gap"].mean())


def test_gate_sensitivity_shows_the_endpoint_at_other_loss_margins(tmp_path):
    runs = write_runs(tmp_path, 1.5, losses={"r3d18_flow": 0.69, "r3d18": 0.66})
    result = study.load_study("cpu", n_resamples=N, run_dir=runs)
    table = study.gate_sensitivity(result, margins=(0.0, 0.02, 0.05)).set_index("loss margin")
    assert list(table["n members"]) == [5, 4, 3]  # 0.69 < ln 2; 0.66 < ln 2 - 0.02 but not ln 2 - 0.05
    primary = study.primary_endpoint(result).iloc[0]
    assert table.loc[0.02, "gap change"] == pytest.approx(primary["gap change"])
    assert (table["gap change low"] <= table["gap change"]).all()


def test_fewer_than_two_fitted_members_leave_no_primary_to_read(tmp_path):
    losses = {m: 0.69 for m in ("resnet18", "efficientnet_b4", "vit_b16", "r3d18")}
    result = study.load_study("cpu", n_resamples=N, run_dir=write_runs(tmp_path, 1.5, losses=losses))
    assert result.fitted_five == ["r3d18_flow"]
    row = study.primary_endpoint(result).iloc[0]
    assert row["read"] == study.NOT_INTERPRETABLE and row["ensemble"] == result.primary_all_five


def test_families_count_simultaneous_intervals_among_readable_rows(learned):
    names = [n for n, k in learned.kinds.items() if k != "single" and set(learned.members[n]) <= set(learned.five)]
    table = study.family_table(learned, names)
    assert len(table) == 2 * len(names) and (table["critical"] > 1.96).all()
    counts = study.family_counts(table).set_index("family")
    for family, part in table.groupby("family"):
        readable = part[part["read"] == "interpretable"]
        assert counts.loc[family, "below zero"] == (readable["high"] < 0).sum()
        assert counts.loc[family, "interpretable"] == len(readable)


def test_power_and_verdict_follow_the_numbers(learned, at_chance):
    claimed = 0.0272
    for result in (learned, at_chance):
        primary = study.primary_endpoint(result)
        power = study.power_table(result, claimed, card_auc_in=0.9995, card_auc_cross=0.85, n_resamples=N).iloc[0]
        assert power["MDE measured"] == pytest.approx(2.8016 * primary["bootstrap SE of gap change"].item(), rel=1e-3)
        assert power["groups needed (in-domain)"] > power["groups (in-domain)"]  # 0.027 needs far more groups
        verdict = verdict_of(result, pd.DataFrame([power]))
        assert f"{power['MDE measured']:.3f}" in verdict
        # 12 and 15 groups, fewer than MIN_GROUPS: a caveat that states the threshold; none with enough groups
        assert max(power["groups (in-domain)"], power["groups (cross-domain)"]) < study.MIN_GROUPS
        enough = verdict_of(result, pd.DataFrame([power]).assign(**{
            "groups (in-domain)": study.MIN_GROUPS, "groups (cross-domain)": study.MIN_GROUPS}))
        assert verdict.count(str(study.MIN_GROUPS)) > enough.count(str(study.MIN_GROUPS))
    assert_nothing_learned(study.gap_table(at_chance), verdict_of(at_chance, pd.DataFrame([power])))


def test_calibration_diversity_and_method_tables(learned):
    calibration = study.calibration_table(learned)
    assert set(calibration["model"]) == set(learned.five)
    assert (calibration["ECE after"] >= 0).all()
    pairs, agreement = study.diversity_tables(learned, learned.five, n_permutations=100)
    assert len(pairs) == 10 and {"Cohen's kappa null", "double fault low"} <= set(pairs.columns)
    assert 0 <= agreement["all agree if independent"] <= 1
    methods = study.method_auc_table(learned, learned.five, n_resamples=100)
    assert set(methods["domain"]) == {"source", "target"} and methods["AUC"].between(0, 1).all()
    assert (methods["AUC low"] <= methods["AUC"] + 1e-12).all()


def test_several_training_seeds_give_a_spread(tmp_path):
    runs = write_runs(tmp_path, 1.5, seeds=(0, 1))
    studies = study.load_seeds("cpu", n_resamples=100, run_dir=runs)
    assert list(studies) == [0, 1]
    names = [studies[0].primary, "resnet18"]
    spread = study.seed_spread(studies, names).set_index("quantity")
    assert (spread["seeds"] == 2).all() and (spread["sd"] > 0).all()
    values = [study.primary_endpoint(s).iloc[0]["gap change"] for s in studies.values()]
    assert spread.loc["primary: gap change vs mean member", "mean"] == pytest.approx(np.mean(values))
    assert list(study.load_seeds("cpu", n_resamples=50, run_dir=runs, seeds=[1])) == [1]
    with pytest.raises(ValueError, match=r"training seeds \[7\] are not in the scores tables"):
        study.load_seeds("cpu", n_resamples=50, run_dir=runs, seeds=[7])
    pooled = study.pooled_endpoint(seed_runs.seed_values(studies, names)).set_index("analysis")
    assert pooled.loc["primary", "gap change"] == pytest.approx(np.mean(values))
    assert pooled.loc["primary", "seeds"] == 2
    # another ensemble in the primary's place (a stored run's primary): its own endpoint, under the primary's name
    other = ensembles.ensemble_name("soft_vote", ["resnet18", "vit_b16"])
    theirs = seed_runs.seed_values(studies, [other, "resnet18"], primary=other).set_index(["seed", "quantity"])
    for seed, s in studies.items():
        row = study.endpoint_row(s, other)
        assert theirs.loc[(seed, seed_runs.PRIMARY_GAP), "value"] == pytest.approx(row["gap change"])
        assert theirs.loc[(seed, seed_runs.MEMBERS_GAP), "value"] == pytest.approx(row["reference gap"])
        assert row["gap change"] != pytest.approx(study.primary_endpoint(s).iloc[0]["gap change"])


def _seed_values(estimates, ses, lows, highs, name=seed_runs.PRIMARY_GAP):
    rows = []
    for seed, (e, se, lo, hi) in enumerate(zip(estimates, ses, lows, highs)):
        rows += [(seed, name, e), (seed, name + seed_runs.SE, se), (seed, name + " low", lo),
                 (seed, name + " high", hi), (seed, "in-domain AUC: resnet18", 0.8 + e)]
    return pd.DataFrame(rows, columns=["seed", "quantity", "value"])


def test_pooled_endpoint_adds_the_between_seed_variance_to_the_test_sets():
    from scipy import stats

    estimates, ses = np.array([0.04, 0.05, 0.07]), np.array([0.010, 0.008, 0.012])
    values = _seed_values(estimates, ses, estimates - 0.02, estimates + 0.02)
    row = study.pooled_endpoint(values).iloc[0]
    within, between = np.mean(ses ** 2), np.var(estimates, ddof=1) / 3
    assert row["pooled SE"] == pytest.approx(np.sqrt(within + between))
    df = (within + between) ** 2 / (between ** 2 / 2)
    assert row["degrees of freedom"] == pytest.approx(df)
    half = stats.t.ppf(0.975, df) * np.sqrt(within + between)
    assert (row["gap change low"], row["gap change high"]) == pytest.approx((estimates.mean() - half,
                                                                             estimates.mean() + half))
    assert row["seeds agree"] and row["each seed's interval"] == "above"
    assert row["pooled SE"] > np.sqrt(within)  # wider than any one seed's test-set uncertainty
    spread = seed_runs.spread(values)
    assert spread["quantity"].tolist() == [seed_runs.PRIMARY_GAP, "in-domain AUC: resnet18"]
    text = study.retrain_text(spread, "this build", study.pooled_endpoint(values))
    interval = f"{row['gap change']:.3f} [{row['gap change low']:.3f}, {row['gap change high']:.3f}]"
    assert interval in text and interval in answer_box.pooled_seed_text(study.pooled_endpoint(values))
    for sentence in (text, answer_box.pooled_seed_text(study.pooled_endpoint(values))):  # a t interval, said so
        assert seed_runs.POOLED_INTERVAL in sentence and "each one's own 95 % interval lies above zero" in sentence
    assert answer_box.pooled_seed_text(study.pooled_endpoint(values.iloc[:0])) == ""


def test_seeds_whose_intervals_fall_on_different_sides_of_zero_disagree():
    estimates = np.array([-0.03, 0.0, 0.04])
    row = study.pooled_endpoint(_seed_values(estimates, [0.01] * 3, estimates - 0.02, estimates + 0.02)).iloc[0]
    assert not row["seeds agree"] and row["each seed's interval"] == "differ"
    assert row["gap change low"] < 0 < row["gap change high"]


def test_a_stored_run_without_standard_errors_has_no_pooled_endpoint():
    old = _seed_values([0.04, 0.05], [0.01, 0.01], [0.02, 0.03], [0.06, 0.07])
    old = old[~old["quantity"].str.endswith(seed_runs.SE)]
    assert study.pooled_endpoint(old).empty
    one = _seed_values([0.04], [0.01], [0.02], [0.06])
    assert study.pooled_endpoint(one).empty  # one seed: nothing to pool


def test_threshold_transfer_says_what_each_threshold_keeps():
    rows = pd.DataFrame({"threshold option": ["conservative", "sensitive"] * 2,
                         "set": ["in-domain test"] * 2 + ["cross-domain test"] * 2,
                         "recall": [0.2, 0.97, 0.0, 0.80], "false positive rate": [0.04, 0.6, 0.0, 0.7]})
    text = study.threshold_transfer(rows, max_fpr=0.05, min_recall=0.95)
    # the targets, then each threshold's kept rate in-domain and cross-domain, in that order
    stated = ["5%", "0.040", "0.000", "95%", "0.970", "0.800"]
    positions = [text.find(value) for value in stated]
    assert min(positions) >= 0 and positions == sorted(positions)
    some_recall = rows.assign(recall=[0.2, 0.97, 0.1, 0.80])
    assert len(text) > len(study.threshold_transfer(some_recall, 0.05, 0.95))  # recall 0 across domains: said
    rows.loc[0, "false positive rate"] = 0.06  # missed in-domain already: not a shift across domains
    rows.loc[2, ["recall", "false positive rate"]] = [0.5, 0.2]
    missed = study.threshold_transfer(rows, 0.05, 0.95)
    assert "0.060" in missed and "0.200" in missed and missed != text


def test_threshold_order_is_explained_only_where_balanced_lies_above_conservative():
    rng = np.random.default_rng(0)
    labels = np.repeat([0, 1], 200)
    rows = []
    for model, signal in (("skilled", 2.0), ("inverted", -3.0)):
        for domain, split in (("source", "val"), ("source", "test"), ("target", "test")):
            values = rng.normal(signal * labels, 1.0)
            rows += [{"dataset": "d", "domain": domain, "split": split, "method": "m", "video_id": f"{i}",
                      "label": y, "model": model, "frame_index": -1, "score": v}
                     for i, (y, v) in enumerate(zip(labels, values))]
    scores = pd.DataFrame(rows)
    thresholds = pd.concat([metrics.threshold_table(own).assign(scorer=name) for name, own in scores.groupby("model")])
    chosen = thresholds.groupby(["scorer", "threshold option"])["threshold"].first()
    assert chosen["inverted", "balanced"] > chosen["inverted", "conservative"]
    assert chosen["skilled", "balanced"] < chosen["skilled", "conservative"]
    order = study.threshold_order(thresholds, scores)
    assert order["scorer"].tolist() == ["inverted"]  # a table row, the sentence only words it
    assert order["validation AUC"].item() < 0.5 and order["balanced"].item() > order["conservative"].item()
    text = study.threshold_order_text(order)
    assert "skilled" not in text and [f"{order[c].item():.3f}" in text for c in (
        "balanced", "conservative", "validation J", "validation AUC")] == [True] * 4
    assert "inverted" in text
    assert study.threshold_order_text(study.threshold_order(thresholds[thresholds["scorer"] == "skilled"],
                                                            scores)) == ""


def test_one_class_tables_are_built_from_the_fitted_study(learned):
    """The one-class chapter's tables: the pair against each member (paired differences),
    and against the supervised detectors' mean, gated like every gap."""
    pair = study.pair_name(learned)
    assert pair == ensembles.ensemble_name("mean_z", learned.one_class)
    members = study.members_table(learned, pair)
    assert members["member"].tolist() == list(learned.members[pair])
    for _, row in members.iterrows():
        direct = learned.boot.in_domain.interval({pair: 1.0, row["member"]: -1.0})
        assert (row["difference"], row["difference low"], row["difference high"]) == (
            direct.estimate, direct.low, direct.high)
    versus = study.versus_supervised(learned, pair).iloc[0]
    assert versus["supervised"] == len(learned.models) - len(learned.one_class)
    assert versus["gap difference low"] <= versus["gap difference"] <= versus["gap difference high"]
    gaps = study.gap_table(learned, [*learned.models, pair])
    text = study.ensemble_vs_members_text(members, gaps, pair)
    assert pair in text and study.ci_text(gaps.set_index("name").loc[pair], "in-domain AUC") in text
    assert [study.ci_text(row, "difference") in text for _, row in members.iterrows()] == [True] * len(members)
    readable = versus.copy()
    readable[["read", "gap difference low", "gap difference high", "pair cross-domain AUC low"]] = [
        study.INTERPRETABLE, -0.2, -0.1, 0.6]
    assert study.one_class_verdict(readable) == study.ONE_CLASS_SMALLER
    larger = readable.copy()
    larger[["gap difference low", "gap difference high"]] = [0.1, 0.2]
    assert study.one_class_verdict(larger) == study.ONE_CLASS_LARGER
    larger["gap difference low"] = -0.1
    assert study.one_class_verdict(larger) == study.ONE_CLASS_UNCLEAR
    readable["pair cross-domain AUC low"] = 0.5  # no skill left across domains: a small gap is no virtue
    assert study.one_class_verdict(readable) == study.ONE_CLASS_SMALLER + study.NO_SKILL_LEFT
    readable["read"] = study.NOT_INTERPRETABLE
    assert study.one_class_verdict(readable) == study.ONE_CLASS_UNREAD


def test_diversity_gain_reading_follows_the_signs_of_the_intervals():
    table = pd.DataFrame({"gain": ["in-domain gain over mean member", "cross-domain gain over mean member"],
                          "rho": [-0.1, -0.3], "rho low": [-0.25, -0.5], "rho high": [0.08, -0.1]})
    negative = study.diversity_gain_reading(table)
    assert f"{study.NO_SIGN} in-domain" in negative and f"{study.NEGATIVE} cross-domain" in negative
    assert "ranks subsets of every size together" in negative
    table[["rho", "rho low", "rho high"]] *= -1
    positive = study.diversity_gain_reading(table)
    assert f"{study.POSITIVE} cross-domain" in positive
    assert study.NEGATIVE not in positive
    # a cross-domain interval that holds 0: its sign words are longer than "negative", yet the reading is
    # shorter, because the sentence that reads a negative correlation goes with the negative sign
    unclear = study.diversity_gain_reading(table.assign(**{"rho low": [-0.25, -0.5], "rho high": [0.08, 0.1]}))
    assert f"{study.NO_SIGN} cross-domain" in unclear and len(study.NO_SIGN) > len(study.NEGATIVE)
    assert len(negative) > len(unclear)


def test_summary_is_written_once_and_recomputed_when_a_scores_table_changes(tmp_path):
    runs = write_runs(tmp_path / "models", 1.5)
    folder = tmp_path / "results"
    first = study.summary("cpu", Analysis(n_resamples=50), run_dir=runs, folder=folder)
    assert set(first) == set(study.RESULT_FILES)
    assert all((folder / study.SUMMARY_DIR / f"{n}.csv").is_file() for n in study.RESULT_FILES)
    # the chapters' tables too, each once: no name of the results page's is written twice
    everything = study.read_results("cpu", folder)
    assert {"one_class_methods", "one_class_thresholds", "one_class_gap"} <= set(everything)
    assert sorted(p.stem for p in folder.rglob("*.csv")) == sorted(everything)
    stamp = (folder / study.SUMMARY_DIR / "verdict.csv").stat().st_mtime_ns
    again = study.summary("cpu", Analysis(n_resamples=50), run_dir=runs, folder=folder)
    assert (folder / study.SUMMARY_DIR / "verdict.csv").stat().st_mtime_ns == stamp  # read, not recomputed
    assert again["verdict"]["verdict"].item() == first["verdict"]["verdict"].item()
    write_runs(tmp_path / "models", 0.0, seed=1)  # new scores: the summary follows them
    changed = study.summary("cpu", Analysis(n_resamples=50), run_dir=runs, folder=folder)
    assert learned_models(first["gap"]) and changed["verdict"]["verdict"].item() != first["verdict"]["verdict"].item()
    assert_nothing_learned(changed["gap"], changed["verdict"]["verdict"].item())


def test_the_results_stage_reads_the_one_table_the_scores_stage_writes(tmp_path):
    """The study's scores are the ``scores`` stage's table (runs/P/scores.csv), not the runs'
    own files; the stage's fingerprint covers that table; a table that does not hold the
    runs whose records are read is refused."""
    root, other = write_runs(tmp_path / "runs", 1.5), write_runs(tmp_path / "other", 0.0, seed=1)
    folder = tmp_path / "results"
    study.summary("cpu", Analysis(n_resamples=50), run_dir=root, folder=folder)
    (root / paths.SCORES_FILE).write_bytes((other / paths.SCORES_FILE).read_bytes())  # the runs' files stay
    swapped = study.summary("cpu", Analysis(n_resamples=50), run_dir=root, folder=folder)
    expected = study.summary("cpu", Analysis(n_resamples=50), run_dir=other, folder=tmp_path / "expected")
    pd.testing.assert_frame_equal(swapped["gap"], expected["gap"])
    table = pd.read_csv(root / paths.SCORES_FILE)
    table[table["model"] != "r3d18"].to_csv(root / paths.SCORES_FILE, index=False)
    with pytest.raises(UserInputError, match=r"runs without scores \[\('r3d18', 0\)\].*--only scores"):
        study.load_study("cpu", n_resamples=N, run_dir=root)


def test_a_member_that_beats_the_others_on_validation_is_a_clear_best(tmp_path):
    runs = write_runs(tmp_path, 1.5)
    for model in ("efficientnet_b4", "vit_b16", "r3d18", "r3d18_flow"):  # all but resnet18 become noise
        path = run_folder(runs, model, 0) / "scores.csv"
        table = pd.read_csv(path)
        table["score"] = np.random.default_rng(len(model)).random(len(table))
        table.to_csv(path, index=False)
    combine(runs)
    result = study.load_study("cpu", n_resamples=N, run_dir=runs)
    assert study.clear_best_member(result, result.primary) == "resnet18"
    row = study.gap_table(result, [result.primary]).iloc[0]
    assert row["clear best member"] == "resnet18" and "gap change vs clear best member" in row


def test_shift_table_reads_each_target_subset_on_its_own(learned):
    from sklearn.metrics import roc_auc_score

    cross = learned.wide("target", "test").index.to_frame(index=False)
    groups = sorted(cross["group"].unique())
    kind = np.where(cross["group"].isin(groups[::2]), "unseen_capture", "unseen_method")  # whole pairs, as generated
    manifest = cross[["dataset", "method", "video_id"]].assign(subset=kind)
    names = [learned.primary, "resnet18"]
    table = study.shift_table(learned, manifest, names, n_resamples=N)
    assert set(table["subset"]) == {"unseen_capture", "unseen_method"} and len(table) == 2 * len(names)
    assert table.drop_duplicates("subset")["videos"].sum() == len(cross)
    in_domain = study.gap_table(learned, ["resnet18"]).iloc[0]["in-domain AUC"]
    scores = learned.wide("target", "test")["resnet18"].to_numpy()
    for subset, row in table[table["name"] == "resnet18"].set_index("subset").iterrows():
        part = kind == subset
        assert row["cross-domain AUC"] == pytest.approx(roc_auc_score(cross["label"][part], scores[part]))
        assert row["gap"] == pytest.approx(in_domain - row["cross-domain AUC"])
        assert row["cross-domain AUC low"] <= row["cross-domain AUC"] <= row["cross-domain AUC high"]


def test_target_method_auc_compares_with_the_reals_of_its_own_subset(learned):
    from sklearn.metrics import roc_auc_score

    wide = learned.wide("target", "test")
    cross = wide.index.to_frame(index=False)
    groups = sorted(cross["group"].unique())
    kind = np.where(cross["group"].isin(groups[::2]), "unseen_capture", "unseen_method")
    manifest = cross[["dataset", "method", "video_id"]].assign(subset=kind)

    def tables(raise_capture: float) -> tuple[pd.DataFrame, pd.DataFrame]:
        scores = wide["resnet18"].to_numpy() + raise_capture * (kind == "unseen_capture")
        learned._wide["target", "test"] = wide.assign(resnet18=scores)
        try:
            return (study.method_auc_table(learned, ["resnet18"], n_resamples=N, manifest=manifest),
                    study.method_auc_table(learned, ["resnet18"], n_resamples=N))
        finally:
            learned._wide["target", "test"] = wide

    (per_subset, pooled), (raised, raised_pooled) = tables(0.0), tables(10.0)
    target = per_subset[per_subset["domain"] == "target"]
    assert set(target["subset"]) == {"unseen_capture", "unseen_method"}
    scores = wide["resnet18"].to_numpy()
    for _, row in target.iterrows():
        part = (kind == row["subset"]) & ((cross["label"] == 0) | (cross["method"] == row["method"])).to_numpy()
        assert row["AUC"] == pytest.approx(roc_auc_score(cross["label"][part], scores[part]))
    # a capture that raises every score of its subset, reals too, changes no per-subset AUC
    assert raised["AUC"].to_numpy() == pytest.approx(per_subset["AUC"].to_numpy())
    # but pooled with the other subset's reals, it moves the target AUCs
    moved = raised_pooled["AUC"] - pooled["AUC"]
    assert set(pooled["subset"]) == {"source", "target"} and moved[pooled["domain"] == "target"].abs().min() > 0.02


def test_trust_verdict_is_computed_from_the_numbers(learned, at_chance):
    verdict = verdict_of
    # the factory's fakes shift half as far in the target domain: every detector learned,
    # and the target domain is harder for them
    text, tables = verdict(learned), verdict_tables_of(learned)
    assert learned_models(tables["gap"]) == learned.models
    assert f"{len(learned.models)} of {len(learned.models)}" in text
    primary, power = tables["primary_endpoint"].iloc[0], tables["power"].iloc[0]
    assert primary["read"] == study.INTERPRETABLE and primary["reference gap low"] > 0  # the target is harder
    for column in ("gap change", "cross-domain AUC change", "reference gap"):  # the endpoint's numbers, read
        assert study.ci_text(primary, column) in text
    # the card's change, and scaled to this benchmark's members' gap, each with its power
    assert f"-{power['claimed effect']:.4f}" in text and f"-{power['scaled effect']:.4f}" in text
    assert f"{power['power at scaled effect']:.2f}" in text and card_share(power) in text
    joint = study.simultaneous_gate(learned)
    assert ", ".join(joint.loc[joint["passes"], "model"]) in text  # named, not counted
    # card 000's ensemble under every combiner, each with the AUC the bootstrap gives it
    for kind in ensembles.KINDS:
        name = ensembles.ensemble_name(kind, learned.five)
        auc = learned.boot.auc(name, "in")
        assert f"{kind} {study.interval_text(auc.estimate, auc.low, auc.high)}" in text
    assert_nothing_learned(study.gap_table(at_chance), verdict(at_chance))


def test_verdict_says_the_card_cannot_be_tested_when_the_target_is_not_harder(tmp_path):
    same = study.load_study("cpu", n_resamples=N, run_dir=write_runs(tmp_path, 1.5, target_share=1.0))
    text, tables = verdict_of(same), verdict_tables_of(same)
    primary, power = tables["primary_endpoint"].iloc[0], tables["power"].iloc[0]
    assert primary["read"] == study.INTERPRETABLE and primary["reference gap low"] <= 0  # no harder target
    assert study.ci_text(primary, "reference gap") in text
    # the planned drop is stated, and no test of the card's change scaled to a gap that is not there
    assert f"{PLANNING.auc_in - PLANNING.auc_cross:.2f}" in text and card_share(power) not in text


def test_verdict_names_a_detector_that_ranks_fakes_below_reals(tmp_path):
    runs = write_runs(tmp_path, 1.5)
    scores = run_folder(runs, "autoencoder", 0) / "scores.csv"
    table = pd.read_csv(scores)
    table.assign(score=-table["score"]).to_csv(scores, index=False)  # anomaly scores turned upside down
    combine(runs)
    inverted = study.load_study("cpu", n_resamples=N, run_dir=runs)
    text, gaps = verdict_of(inverted), study.gap_table(inverted).set_index("name")
    assert gaps.loc["autoencoder", "in-domain AUC high"] < study.CHANCE  # below chance, not only unlearned
    assert learned_models(gaps.reset_index()) == [m for m in inverted.models if m != "autoencoder"]
    assert f"autoencoder ({study.BELOW_CHANCE})" in text
    assert f"{len(inverted.models) - 1} of {len(inverted.models)}" in text


def test_shift_summary_names_the_subsets_where_the_target_is_harder_or_easier():
    rows = [("unseen_method", "det_a", 0.05, 0.02, 0.08, "interpretable"),
            ("unseen_method", "det_b", -0.05, -0.08, -0.02, "interpretable"),
            ("unseen_method", "det_c", 0.09, 0.05, 0.12, "not interpretable"),  # did not learn: not named
            ("unseen_method", "vote", 0.01, -0.02, 0.04, "interpretable")]
    table = pd.DataFrame(rows, columns=["subset", "name", "gap", "gap low", "gap high", "gap read"])
    table["cross-domain AUC low"] = [0.48, 0.7, 0.6, 0.7]  # det_a has no skill left on the subset
    table["cross-domain AUC high"] = [0.55, 0.8, 0.7, 0.8]
    text = study.shift_summary(table.assign(label=table["name"]), "vote")
    # harder for det_a, easier for det_b (in that order), det_a again as at chance there; det_c never
    assert text.index("det_a") < text.index("det_b") and text.count("det_a") == 2 and text.count("det_b") == 1
    assert "det_c" not in text and study.ci_text(table.iloc[3], "gap") in text  # the soft vote's gap
    skilled = study.shift_summary(table.assign(label=table["name"], **{"cross-domain AUC low": 0.7}), "vote")
    assert skilled.count("det_a") == 1
    below = study.shift_summary(table.assign(label=table["name"], **{"cross-domain AUC high": [0.49, 0.8, 0.7, 0.8]}),
                                "vote")
    assert "Below chance there (a cross-domain interval under 0.5): det_a." in below and "At chance" not in below


def test_view_summary_checks_the_multi_view_prediction():
    methods = pd.DataFrame({"domain": "source", "method": ["jitter", "jitter", "blend", "blend"],
                            "name": ["cnn", "r3d", "cnn", "r3d"], "AUC": [0.6, 0.5, 0.9, 0.55],
                            "AUC low": [0.55, 0.45, 0.85, 0.5], "AUC high": [0.65, 0.55, 0.95, 0.6]})
    text = study.view_summary(methods, {"jitter": "temporal", "blend": "spatial"},
                              {"cnn": "spatial", "r3d": "temporal"})
    best = methods.iloc[[2, 0]]  # blend, then jitter (the method order): cnn leads both
    stated = [study.ci_text(row, "AUC") for _, row in best.iterrows()]
    positions = [text.find(value) for value in stated]
    assert min(positions) >= 0 and positions == sorted(positions) and "r3d" not in text  # r3d is behind on both
    assert "1 of 2" in text  # the best detector reads the declared view for blend only
    close = methods.assign(AUC=[0.6, 0.58, 0.9, 0.55])  # r3d's estimate inside cnn's interval
    assert "r3d" in study.view_summary(close, {"jitter": "temporal", "blend": "spatial"},
                                       {"cnn": "spatial", "r3d": "temporal"})


def test_row_spearman_matches_scipy_row_by_row():
    from scipy.stats import spearmanr

    rng = np.random.default_rng(3)
    x, y = rng.normal(size=(20, 9)), rng.normal(size=(20, 9))
    y[0] = x[0] ** 3  # a monotone row: exactly 1
    rho = study.ensemble_diversity.row_spearman(x, y)
    assert rho[0] == pytest.approx(1.0)
    assert rho == pytest.approx([spearmanr(a, b).statistic for a, b in zip(x, y)])


def test_gain_diversity_correlation_has_an_interval_around_its_estimate(learned):
    pairs, _ = study.diversity_tables(learned, learned.five, n_permutations=50)
    gains = study.gain_vs_diversity(learned, pairs)
    table = study.gain_diversity_correlation(learned, gains).set_index("gain")
    assert list(table.index) == ["in-domain gain over mean member", "cross-domain gain over mean member"]
    for column, row in table.iterrows():
        assert row["rho"] == pytest.approx(study.rank_correlation(gains["mean disagreement"], gains[column]))
        assert -1 <= row["rho low"] < row["rho"] < row["rho high"] <= 1
        assert row["subsets"] == len(gains) == 26


def test_simultaneous_gate_is_stricter_than_the_individual_one(learned, tmp_path):
    gate = study.simultaneous_gate(learned)
    assert gate["level"].tolist() == pytest.approx([1 - 0.05 / len(learned.models)] * len(gate))
    assert gate.loc[gate["passes"], "model"].tolist() == learned.models  # skill 1.5: far above chance even at 99.4 %
    weak = study.load_study("cpu", n_resamples=N, run_dir=write_runs(tmp_path, 0.6))
    individually = [m for m in weak.models if weak.learned(m)]
    joint = study.simultaneous_gate(weak)
    assert set(joint.loc[joint["passes"], "model"]) < set(individually)  # a weak signal: some drop out
    for _, row in joint.iterrows():  # each the lower end of its BCa interval at the joint level
        assert row["in-domain AUC low"] == weak.boot.in_domain.interval({row["model"]: 1.0}, row["level"]).low


def test_best_member_helpers_read_the_bootstrap_and_the_gap_table(learned, tmp_path):
    from analysis.evaluation import power

    best = study.clear_best_member(learned, learned.primary)
    mde = study.best_member_mde(learned, learned.primary)
    if best is None:
        assert mde is None
    else:
        _, samples, _ = learned.boot.contrast(*study.GapBootstrap.gap_change_weights(learned.primary, best))
        assert mde == pytest.approx(power.z_sum() * np.std(samples, ddof=1))
    assert study.five_against_best_member(learned).empty == (best is None)
    # one member far ahead of the others: validation names it, and every combiner of the
    # five is compared with it, the combiners' intervals simultaneous over the family
    ahead = study.load_study("cpu", n_resamples=N, run_dir=write_runs(tmp_path, 1.0, skills={"resnet18": 3.0}))
    against = study.five_against_best_member(ahead)
    assert (against["clear best member"] == "resnet18").all()
    for family, part in against.groupby("family"):
        assert sorted(part["kind"]) == sorted(ensembles.KINDS)
        for _, row in part.iterrows():
            single = (ahead.boot.cross_difference if family.startswith("cross") else ahead.boot.gap_difference)(
                row["name"], "resnet18")
            assert row["estimate"] == pytest.approx(single.estimate)
            assert row["high"] - row["low"] > single.high - single.low  # wider than one interval on its own


def test_primary_gap_per_shift_is_a_sentence_per_subset_or_says_there_are_none(tmp_path):
    runs = write_runs(tmp_path / "models", 1.5)
    result = study.load_study("cpu", n_resamples=N, run_dir=runs)
    assert "has no named subsets" in study.primary_shift_text(study.primary_per_shift(result, None, N))
    cross = result.wide("target", "test").index.to_frame(index=False)
    manifest = cross.assign(subset=np.where(np.arange(len(cross)) % 2 == 0, "unseen_method", "unseen_capture"))
    manifest.to_csv(tmp_path / "manifest.csv", index=False)
    table = study.primary_per_shift(result, tmp_path / "manifest.csv", N)
    assert table["subset"].tolist() == ["unseen_capture", "unseen_method"]
    for _, row in table.iterrows():
        assert row["gap change"] == pytest.approx(row["gap"] - row["reference gap"])
    text = study.primary_shift_text(table)
    for _, row in table.iterrows():
        assert f"{row['subset']} {study.ci_text(row, 'gap change')}" in text
    assert study.NOT_INTERPRETABLE in study.primary_shift_text(table.assign(**{"gap read": study.NOT_INTERPRETABLE}))


def test_plain_summary_compares_the_soft_vote_with_its_average_and_best_member(tmp_path):
    ahead = study.load_study("cpu", n_resamples=N, run_dir=write_runs(tmp_path, 1.0, skills={"resnet18": 3.0}))
    primary = study.primary_endpoint(ahead).iloc[0]
    gaps = study.gap_table(ahead)
    text = study.plain_summary(primary, gaps)
    assert gaps.set_index("name").loc[primary["ensemble"], "clear best member"] == "resnet18"
    best = gaps.set_index("name").loc["resnet18"]
    stated = [f"{primary[c]:.3f}" for c in ("ensemble in-domain AUC", "reference in-domain AUC",
                                           "ensemble cross-domain AUC", "reference cross-domain AUC")]
    stated.append(f"{abs(primary['gap change']):.3f}")
    against_best = [f"{best['in-domain AUC']:.3f}", f"{best['cross-domain AUC']:.3f}"]
    assert not set(against_best) & set(stated)  # so that each number below is told apart
    assert [value for value in stated + against_best if value not in text] == []
    fitted = len(primary["members"].split("+"))
    assert ("card 000's five (each passed the fit gate)" in text) == (fitted == 5)
    fewer = study.plain_summary(primary.copy().replace({primary["members"]: "resnet18+vit_b16"}), gaps)
    assert "those of card 000's five that passed the fit gate (resnet18, vit_b16)" in fewer
    # without a clear best member: the comparison with the average member only
    unclear = study.plain_summary(primary, gaps.assign(**{"clear best member": study.NO_CLEAR_BEST}))
    assert [value for value in stated if value not in unclear] == []
    assert [value for value in against_best if value in unclear] == []


def _mark_incomplete(root, model: str, seed: int = 0) -> None:
    import json

    path = run_folder(root, model, seed) / "record.json"
    record = json.loads(path.read_text())
    path.write_text(json.dumps({**record, "complete": False, "stop_reason": "hang_guard"}))


def test_a_run_the_hang_guard_stopped_is_listed_and_not_read(tmp_path):
    """DESIGN rule 15: a member cut short by the hang guard makes the primary endpoint
    unreadable, the verdict says why, and the summary lists the run; a complete study
    lists none."""
    root = write_runs(tmp_path / "runs", 1.5)
    complete = study.load_study("cpu", n_resamples=N, run_dir=root)
    assert complete.incomplete == [] and study.incomplete_runs(complete).empty
    assert study.primary_endpoint(complete).iloc[0]["read"] == study.INTERPRETABLE
    _mark_incomplete(root, "r3d18")
    cut = study.load_study("cpu", n_resamples=N, run_dir=root)
    assert cut.incomplete == ["r3d18"]
    assert study.incomplete_runs(cut).to_dict("records") == [{"model": "r3d18", "training seed": 0}]
    primary = study.primary_endpoint(cut)
    assert primary.iloc[0]["read"] == study.NOT_INTERPRETABLE
    text = verdict_of(cut)
    assert "r3d18" in text  # named as stopped, and no reading of the endpoint it belongs to
    assert study.ci_text(primary.iloc[0], "gap change") not in text
    assert study.ci_text(study.primary_endpoint(complete).iloc[0], "gap change") in verdict_of(complete)
    tables = study.summary("cpu", Analysis(n_resamples=N), run_dir=root, folder=tmp_path / "results")
    assert tables["incomplete_runs"]["model"].tolist() == ["r3d18"]


def test_a_stored_seed_run_is_read_by_a_one_seed_build_and_named_in_the_verdict(tmp_path, monkeypatch):
    """DESIGN rule 16: a one-seed build reads the stored spread of a several-seed run and
    its verdict says how much a retrained detector moves."""
    from analysis.evaluation.study import seed_runs

    several = study.load_seeds("cpu", n_resamples=100, run_dir=write_runs(tmp_path / "three", 1.5, seeds=(0, 1, 2)))
    values = seed_runs.seed_values(several, [next(iter(several.values())).primary, "resnet18", "r3d18"])
    meta = seed_runs.store("cpu", values, data_seed=1, commit="abc", folder=tmp_path / "stored")
    read_values, read_meta = seed_runs.read("cpu", tmp_path / "stored")
    pd.testing.assert_frame_equal(read_values, values)
    assert read_meta["training seeds"] == [0, 1, 2] and 'seeds=[0,1,2]' in read_meta["commands"][0]
    spread = seed_runs.spread(read_values).set_index("quantity")
    gaps = [study.primary_endpoint(s).iloc[0]["gap change"] for s in several.values()]
    assert spread.loc[seed_runs.PRIMARY_GAP, "range"] == pytest.approx(max(gaps) - min(gaps))
    text = study.retrain_text(spread.reset_index(), "a stored run")
    assert f"{min(gaps):+.3f}" in text and f"{max(gaps):+.3f}" in text and "a stored run" in text
    assert study.retrain_text(None, "x") == ""
    with pytest.raises(ValueError, match="at least two training seeds"):
        seed_runs.store("cpu", values[values["seed"] == 0], 1, "abc", tmp_path / "one")
    assert meta.is_file()


def test_summary_follows_every_module_it_runs(tmp_path, monkeypatch):
    """The results stage is rebuilt when a statistics module changes, not only the study's own."""
    covered = {path.resolve() for path in study.results_code()}
    loaded = {Path(m.__file__).resolve() for name, m in sys.modules.items()
              if name.startswith(("analysis.evaluation", "analysis.benchmark.s")) and getattr(m, "__file__", None)}
    assert loaded <= covered, sorted(str(p) for p in loaded - covered)
    assert {"bootstrap.py", "power.py", "endpoints.py", "verdict.py", "sizing.py", "registry.py"} <= {
        p.name for p in covered}
    runs = write_runs(tmp_path / "models", 1.5)
    module = tmp_path / "bootstrap.py"
    module.write_text("# one version")
    monkeypatch.setattr(study.results, "results_code", lambda: [module])
    folder = tmp_path / "results"
    verdict = folder / study.SUMMARY_DIR / "verdict.csv"
    study.summary("cpu", Analysis(n_resamples=50), run_dir=runs, folder=folder)
    stamp = verdict.stat().st_mtime_ns
    study.summary("cpu", Analysis(n_resamples=50), run_dir=runs, folder=folder)
    assert verdict.stat().st_mtime_ns == stamp
    module.write_text("# another version")
    study.summary("cpu", Analysis(n_resamples=50), run_dir=runs, folder=folder)
    assert verdict.stat().st_mtime_ns != stamp
    stamp = verdict.stat().st_mtime_ns  # and when a setting of the stage changes
    study.summary("cpu", Analysis(n_resamples=60), run_dir=runs, folder=folder)
    assert verdict.stat().st_mtime_ns != stamp


def test_the_chapters_tables_come_from_the_fitted_study(learned, tmp_path):
    """The diversity and gap chapters' tables, as the results stage writes them: the
    best-member power follows the contrast's own MDE, the combiners carry their
    cross-validated validation AUC, and the per-shift table needs a manifest with subsets."""
    from analysis.evaluation import power

    settings = Analysis(n_resamples=N, n_permutations=50)
    power_row = study.power_table(learned, 0.05, 0.9, 0.8, N)
    best = study.best_member_power(learned, power_row)
    clear = study.clear_best_member(learned, learned.primary)
    if clear is None:
        assert best.empty
    else:
        row = best.iloc[0]
        assert row["clear best member"] == clear
        assert row["MDE vs clear best member"] == pytest.approx(study.best_member_mde(learned, learned.primary))
        se = row["MDE vs clear best member"] / power.z_sum()
        assert row["power at claimed effect"] == pytest.approx(power.power_at(row["claimed effect vs best single"], se))
    tables = study.gap_results(learned, settings, None)
    assert "gap_per_shift" not in tables  # no manifest with target subsets
    assert set(tables["levels"]["model"]) == set(learned.models)
    assert set(tables["levels"]["set"]) == {"in-domain test", "cross-domain test"}  # validation is not shown
    diversity = study.diversity_results(learned, settings)
    combiners = diversity["combiners"]
    assert combiners["name"].tolist() == [ensembles.ensemble_name(k, learned.five) for k in ensembles.KINDS]
    assert combiners["cross-validated validation AUC"].between(0, 1).all()
    assert set(diversity["gain_family"]["name"]) == set(diversity["gain_vs_diversity"]["name"])
    assert dict(zip(diversity["model_views"]["model"], diversity["model_views"]["view"])) == {
        m: learned.records[m]["view"] for m in learned.models}
    rates = diversity["flag_rates"].set_index(["set", "model"])
    video = metrics.at_level(learned.scores, metrics.VIDEO)
    for name, domain in metrics.TEST_SETS:
        verdicts = metrics.verdicts(video, domain, "test")
        for model in learned.models:
            row = rates.loc[(name, model)]
            assert (row["flagged"], row["videos"]) == (verdicts[model].sum(), len(verdicts))
            assert row["flag rate"] == pytest.approx(row["flagged"] / row["videos"])


def test_verdict_warns_of_test_sets_with_few_groups_in_a_label(learned):
    """The factory's test sets hold 12 and 15 identity groups: under 20 in both labels."""
    text = verdict_of(learned)
    counts = group_counts.group_counts(learned.scores)
    assert counts["few groups"].all()
    assert group_counts.few_groups_sentence(counts) in text
    row = counts.set_index("test set").loc["in-domain"]
    assert (row["groups with reals"], row["groups with fakes"]) == (12, 12)
    assert "12" in group_counts.few_groups_sentence(counts.iloc[:1])  # the sentence states the table's counts


def test_design_effect_skips_members_whose_auc_never_varies(tmp_path):
    """A member with one score on every cross-domain video has the same AUC in every
    resample: it has no variance ratio. With every member so, the design effect is undefined."""
    root = write_runs(tmp_path, 1.5)
    five = ("resnet18", "efficientnet_b4", "vit_b16", "r3d18", "r3d18_flow")

    def flatten(models):
        for model in models:
            path = run_folder(root, model, 0) / "scores.csv"
            table = pd.read_csv(path)
            table.loc[table["domain"] == "target", "score"] = 0.5
            table.to_csv(path, index=False)
        combine(root)

    flatten(five[:1])
    some = study.measured_clustering(study.load_study("cpu", n_resamples=N, run_dir=root), "target", N)
    assert np.isfinite(some) and some > 0
    flatten(five[1:])
    none = study.load_study("cpu", n_resamples=N, run_dir=root)
    assert np.isnan(study.measured_clustering(none, "target", N))
    assert np.isfinite(study.measured_clustering(none, "source", N))


def test_a_one_seed_build_reads_only_its_own_seed_beside_a_stored_runs_folders(tmp_path, monkeypatch):
    """Runs of other training seeds in the profile's folder (those a stored several-seed run
    trained) are not this build's: the results stage studies the profile's seeds only."""
    import json

    from analysis import paths
    from analysis.profiles import Analysis, get_profile

    monkeypatch.setenv("ANALYSIS_RUNS_DIR", str(tmp_path / "runs"))
    write_runs(paths.run_dir("cpu"), 1.5, seeds=(0, 1))
    resolved = get_profile("cpu").as_dict()
    paths.profile_file("cpu").write_text(json.dumps({**resolved, "seeds": [0]}))
    monkeypatch.setattr(study.results, "own_manifest", lambda *args: [])  # no benchmark here
    monkeypatch.setattr(seed_runs, "read", lambda *args: None)  # and no stored run
    tables = study.write_results("cpu", Analysis(n_resamples=N), folder=tmp_path / "out")
    assert (tables["seed_spread"]["seeds"] == 1).all() and tables["seed_pooled"].empty
    one = study.load_study("cpu", n_resamples=N, run_dir=paths.run_dir("cpu"), training_seed=0)
    assert tables["primary_endpoint"]["gap change"].iloc[0] == pytest.approx(
        study.primary_endpoint(one)["gap change"].iloc[0])
