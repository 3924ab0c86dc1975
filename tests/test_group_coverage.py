"""The Celeb-DF bootstrap unit: the simulated layout and the coverage of its intervals."""

from __future__ import annotations

import pandas as pd

from analysis.evaluation import group_coverage as gc

SMALL = gc.Layout(celebrities=24, celeb_reals=24, youtube_reals=12, fakes=72)


def test_layout_names_videos_as_the_dataset_and_counts_groups_per_label():
    videos = gc.layout_videos(SMALL)
    assert (videos["label"] == 0).sum() == 36 and (videos["label"] == 1).sum() == 72
    fakes = videos[videos["label"] == 1]
    assert fakes["video_id"].str.fullmatch(r"id\d+_id\d+_\d{4}").all()
    assert (fakes["source_id"] != fakes["target_id"]).all()
    assert videos.loc[videos["source_id"] == "", "video_id"].str.fullmatch(r"\d{5}").all()
    groups = gc.clusterings(videos)
    labels = videos["label"].to_numpy()
    celebrity = groups["celebrity of the real video"]
    assert (len(set(celebrity[labels == 0])), len(set(celebrity[labels == 1]))) == (24 + 12, 24)
    assert len(set(groups["swap-graph component"][labels == 1])) == 1  # random donors connect every celebrity


def test_celebrity_groups_cover_near_nominal_where_single_videos_do_not():
    """Fakes share an effect of the celebrity whose video they were made from: the
    interval over celebrities covers the true AUC about 95 % of the time, the one over
    videos and the one over swap-graph components less often."""
    table = gc.coverage(SMALL, gc.Dependence(artefact=1.0), reps=200, truth_draws=1000, n_resamples=300,
                        seed=0).set_index("clustering")["coverage"]
    assert 0.90 <= table["celebrity of the real video"] <= 0.98
    assert table["video"] < table["celebrity of the real video"]
    assert table["swap-graph component"] < 0.6


def test_stored_result_holds_every_scenario_and_clustering():
    stored = pd.read_csv(gc.STORED_FILE)
    assert len(stored) == len(gc.SCENARIOS) * len(gc.CLUSTERINGS)
    assert set(stored["clustering"]) == set(gc.CLUSTERINGS)
    chosen = stored[stored["clustering"] == gc.CLUSTERINGS[0]]
    assert (chosen["groups (real)"] == 59 + 78).all() and (chosen["groups (fake)"] == 59).all()
