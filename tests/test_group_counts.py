"""Groups per label of every test set, and the warning when a label has few."""

from __future__ import annotations

import pandas as pd

from analysis.evaluation import group_counts as gc


def scores(domain: str, dataset: str, real_groups: int, fake_groups: int, models=("a", "b")) -> pd.DataFrame:
    rows = []
    for model in models:
        for g in range(real_groups):
            rows.append({"dataset": dataset, "domain": domain, "split": "test", "method": "real",
                         "video_id": f"r{g}", "label": 0, "group": f"{dataset}/{g}", "model": model,
                         "frame_index": -1, "score": 0.1})
        for g in range(fake_groups):
            for k in range(2):  # two fakes per group: videos are not groups
                rows.append({"dataset": dataset, "domain": domain, "split": "test", "method": "fake",
                             "video_id": f"f{g}_{k}", "label": 1, "group": f"{dataset}/{g}", "model": model,
                             "frame_index": -1, "score": 0.9})
            rows.append({**rows[-1], "frame_index": 0})  # a frame-level row counts no video
        rows.append({**rows[-1], "split": "val", "video_id": "v", "frame_index": -1})  # nor does validation
    return pd.DataFrame(rows)


def test_counts_groups_per_label_and_flags_few():
    table = pd.concat([scores("source", "ffpp", 40, 40), scores("target", "celebdf", 137, 12)])
    counts = gc.group_counts(table).set_index("test set")
    assert counts.loc["in-domain", ["real videos", "fake videos", "groups with reals", "groups with fakes"]].tolist() \
        == [40, 80, 40, 40]
    assert counts.loc["in-domain", "groups"] == 40  # a group holding both labels is one group
    assert not counts.loc["in-domain", "few groups"]
    assert counts.loc["cross-domain", "few groups"] and counts.loc["cross-domain", "dataset"] == "celebdf"
    sentence = gc.few_groups_sentence(gc.group_counts(table))
    few = counts.loc["cross-domain"]  # the flagged row: its name and both counts are stated, in that order
    stated = ["cross-domain", str(few["groups with reals"]), str(few["groups with fakes"])]
    positions = [sentence.find(value) for value in stated]
    assert min(positions) >= 0 and positions == sorted(positions) and str(gc.MIN_GROUPS_PER_LABEL) in sentence
    assert "in-domain" not in sentence  # a test set with enough groups is not named
    assert sentence.strip() in gc.few_groups_warning(gc.group_counts(table))
    enough = gc.group_counts(scores("source", "ffpp", 40, 40))
    assert gc.few_groups_sentence(enough) == "" and gc.few_groups_warning(enough) == ""


def test_no_warning_at_the_threshold():
    table = scores("source", "ffpp", gc.MIN_GROUPS_PER_LABEL, gc.MIN_GROUPS_PER_LABEL)
    assert gc.few_groups_sentence(gc.group_counts(table)) == ""
    assert gc.few_groups_warning(gc.group_counts(table)) == ""
    one_short = scores("source", "ffpp", gc.MIN_GROUPS_PER_LABEL, gc.MIN_GROUPS_PER_LABEL - 1)
    assert gc.few_groups_sentence(gc.group_counts(one_short)) != ""


def test_a_manifest_with_its_groups_counts_as_its_scores_do():
    table = scores("target", "celebdf", 30, 25, models=("a",))
    manifest = table[table["frame_index"] == -1].drop(columns=["frame_index", "score", "model"])
    pd.testing.assert_frame_equal(gc.group_counts(manifest), gc.group_counts(table))


def test_a_benchmark_manifest_counts_each_cross_domain_subset_too():
    table = pd.concat([scores("source", "synthetic", 25, 25, models=("a",)),
                       scores("target", "synthetic", 30, 30, models=("a",))])
    manifest = table[table["frame_index"] == -1].drop(columns=["frame_index", "score", "model"])
    manifest["subset"] = ["unseen capture" if g.endswith(("/1", "/3")) else "unseen method" for g in manifest["group"]]
    manifest.loc[manifest["domain"] == "source", "subset"] = "source"
    counts = gc.group_counts(manifest).set_index("test set")
    assert list(counts.index) == ["in-domain", "cross-domain", "cross-domain: unseen capture",
                                  "cross-domain: unseen method"]
    assert counts.loc["cross-domain: unseen capture", "groups with fakes"] == 2
    assert counts.loc["cross-domain: unseen method", "groups with reals"] == 28
    assert counts.loc["cross-domain: unseen capture", "few groups"] and not counts.loc["cross-domain", "few groups"]
