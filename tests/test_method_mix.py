"""The gap like for like: the target's fakes reweighted to the source's mix of methods."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import roc_auc_score

from analysis.evaluation import study
from analysis.evaluation.bootstrap import SetBootstrap
from analysis.evaluation.study import answer_box, method_mix
from analysis import paths
from tests.scores_factory import combine, write_runs

N = 200
FIVE = ("resnet18", "efficientnet_b4", "vit_b16", "r3d18", "r3d18_flow")


def _with_new_target_method(root, method: str = "lip_desync", new: str = "refined_swap", rename_only=False):
    """Every run's target fakes of ``method`` become ``new``, scored like the target's reals
    (no signal): a method the source never shows, on which every detector is at chance."""
    rng = np.random.default_rng(0)
    for path in (root / paths.MODELS).glob(f"*/{paths.RUN_FOLDER.format(seed=0)}/{paths.RUN_SCORES_FILE}"):
        table = pd.read_csv(path)
        moved = (table["domain"] == "target") & (table["method"] == method)
        table.loc[moved, "method"] = new
        if not rename_only:
            reals = table.loc[(table["domain"] == "target") & (table["label"] == 0), "score"].to_numpy()
            table.loc[moved, "score"] = rng.choice(reals, int(moved.sum()))
        table.to_csv(path, index=False)
    combine(root)
    return study.load_study("cpu", n_resamples=N, run_dir=root)


@pytest.fixture(scope="module")
def mixed(tmp_path_factory):
    return _with_new_target_method(write_runs(tmp_path_factory.mktemp("mixed"), 1.5))


def test_row_weights_of_one_change_nothing_and_zero_drops_a_video(mixed):
    wide = mixed.wide("target", "test")[["resnet18"]]
    plain, ones = SetBootstrap.fit(wide, N, 3), SetBootstrap.fit(wide, N, 3, np.ones(len(wide)))
    pd.testing.assert_frame_equal(plain.samples, ones.samples)
    keep = wide.index.get_level_values("method") != "refined_swap"
    dropped = SetBootstrap.fit(wide, N, 3, keep.astype(float))
    assert dropped.estimates["resnet18"] == pytest.approx(SetBootstrap.fit(wide[keep], N, 3).estimates["resnet18"])
    with pytest.raises(ValueError, match="non-negative"):
        SetBootstrap.fit(wide, N, 3, -np.ones(len(wide)))


def test_source_mix_auc_is_the_mix_weighted_mean_of_per_method_aucs(mixed):
    tables = method_mix.like_for_like_tables(mixed, list(FIVE), N)
    like = tables["like_for_like"].set_index(["reading", "name"])
    target = mixed.wide("target", "test").reset_index()
    source_fakes = mixed.wide("source", "test").reset_index().query("label == 1")["method"].value_counts(normalize=True)
    shared = sorted(set(source_fakes.index) & set(target["method"]))
    assert "refined_swap" not in shared and len(shared) == 3  # lip_desync left the target
    shares = source_fakes[shared] / source_fakes[shared].sum()
    for name in FIVE:
        per_method = {m: roc_auc_score(*_pair(target, m, name)) for m in shared}
        expected = sum(shares[m] * per_method[m] for m in shared)
        assert like.loc[(method_mix.SOURCE_MIX, name), "cross-domain AUC"] == pytest.approx(expected)
        for m in shared:
            assert like.loc[(f"method: {m}", name), "cross-domain AUC"] == pytest.approx(per_method[m])
    assert like.loc[(method_mix.SOURCE_MIX, "resnet18"), "methods"] == ", ".join(shared)


def _pair(table: pd.DataFrame, method: str, name: str):
    part = table[(table["label"] == 0) | (table["method"] == method)]
    return part["label"], part[name]


def test_a_method_the_source_lacks_makes_a_pooled_gap_that_like_for_like_removes(mixed):
    primary = method_mix.like_for_like_tables(mixed, [mixed.primary], N)["like_for_like_primary"].set_index("reading")
    pooled, like = primary.loc[method_mix.POOLED], primary.loc[method_mix.SOURCE_MIX]
    # a quarter of the pooled target's fakes are at chance: its gap is wider by about a
    # quarter of the distance from the shared methods' cross-domain AUC down to 0.5
    assert pooled["reference gap"] > like["reference gap"] + 0.02
    sentence = study.premise_sentence(primary.reset_index(), pooled_harder=True)
    assert like["methods"] in sentence and f"{like['reference gap']:.3f}" in sentence
    caveat = answer_box.like_for_like_caveat(primary.reset_index())
    assert f"{like['reference gap']:.3f}" in caveat and f"{pooled['reference gap']:.3f}" in caveat
    brief = answer_box.like_for_like_brief(primary.reset_index())
    assert f"(on the whole target test set {study.ci_text(pooled, 'reference gap')})" in brief
    assert brief.startswith(f"like for like (the target's fakes in the source's mix of methods) the members' mean gap "
                            f"is {study.ci_text(like, 'reference gap')}")
    assert brief.endswith(f"the soft vote's change of it is {study.ci_text(like, 'gap change')}")
    assert ("not measurably above zero" in brief) == (like["reference gap low"] <= 0 < pooled["reference gap low"])


def test_no_shared_method_leaves_only_the_pooled_reading(tmp_path):
    root = write_runs(tmp_path, 1.5)
    for method in ("blend_swap", "relight", "jitter_swap", "lip_desync"):
        result = _with_new_target_method(root, method, f"other_{method}", rename_only=True)
    tables = method_mix.like_for_like_tables(result, [result.primary], N)
    assert tables["like_for_like_primary"]["reading"].tolist() == [method_mix.POOLED]
    assert set(tables["like_for_like"]["reading"]) == {method_mix.POOLED}
    assert "share no manipulation method" in study.premise_sentence(tables["like_for_like_primary"], True)
    assert "share no manipulation method" in answer_box.like_for_like_caveat(tables["like_for_like_primary"])
    assert "share no manipulation method" in answer_box.like_for_like_brief(tables["like_for_like_primary"])
