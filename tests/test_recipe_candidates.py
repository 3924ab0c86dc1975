"""benchmarks/recipe_candidates.py's bookkeeping: candidates read from the command line, no
test video in what a candidate trains and validates on, and times read against the first
candidate's."""

from __future__ import annotations

import importlib.util

import pandas as pd
import pytest

from analysis.paths import PROJECT_ROOT


@pytest.fixture(scope="module")
def candidates():
    spec = importlib.util.spec_from_file_location("recipe_candidates",
                                                  PROJECT_ROOT / "benchmarks" / "recipe_candidates.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_a_candidate_is_a_name_and_its_overrides(candidates):
    assert candidates.parse_candidate("today=") == ("today", [])
    assert candidates.parse_candidate("half=per_model.r3d18.epochs=4;per_model.r3d18.batch_size=8") == (
        "half", ["per_model.r3d18.epochs=4", "per_model.r3d18.batch_size=8"])
    with pytest.raises(SystemExit, match="name="):
        candidates.parse_candidate("per_model.r3d18.epochs")


def test_candidates_read_no_test_video(candidates):
    manifest = pd.DataFrame({"domain": ["source"] * 3 + ["target"] * 2,
                             "split": ["train", "val", "test", "test", "val"], "video_id": list("abcde")})
    assert candidates.train_val_rows(manifest)["video_id"].tolist() == ["a", "b"]


def test_the_time_share_is_read_against_the_first_candidate(candidates):
    table = pd.DataFrame({"model": ["m"] * 4, "candidate": ["today", "today", "half", "half"], "seed": [0, 1, 0, 1],
                          "best val AUC": [0.8, 0.9, 0.7, 0.8], "probe units": [10.0, 12.0, 5.0, 6.0]})
    row = candidates.summary(table).set_index("candidate")
    assert row.loc["half", "time_share"] == pytest.approx(0.5)
    assert row.loc["half", "val_mean"] == pytest.approx(0.75) and row.loc["today", "val_min"] == 0.8
