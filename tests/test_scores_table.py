"""The scores table contract: columns, constants, the validating reader, the helpers."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from analysis.errors import UserInputError
from analysis.evaluation import metrics
from analysis.evaluation.metrics import validation_threshold
from analysis.evaluation.scores_table import (
    COLUMNS, SOURCE, TARGET, VIDEO_LEVEL, check_against_manifest, read_scores, subset, wide_table,
)


def table(rows=None) -> pd.DataFrame:
    rng = np.random.default_rng(0)
    rows = rows or [
        {"dataset": "d", "domain": domain, "split": split, "video_id": f"{domain}{split}{i}", "method": "m",
         "label": i % 2, "group": f"g{i}", "model": model, "seed": 0, "frame_index": VIDEO_LEVEL,
         "score": float(rng.random())}
        for domain, split in ((SOURCE, "val"), (SOURCE, "test"), (TARGET, "test")) for i in range(6)
        for model in ("a", "b")
    ]
    return pd.DataFrame(rows, columns=list(COLUMNS))


def test_reader_validates(tmp_path):
    good = table()
    good.to_csv(tmp_path / "good.csv", index=False)
    assert len(read_scores(tmp_path / "good.csv")) == len(good)
    good.assign(domain="elsewhere").to_csv(tmp_path / "domain.csv", index=False)
    with pytest.raises(UserInputError, match="domain value"):
        read_scores(tmp_path / "domain.csv")
    pd.concat([good, good.head(1)]).to_csv(tmp_path / "twice.csv", index=False)
    with pytest.raises(UserInputError, match="twice"):
        read_scores(tmp_path / "twice.csv")
    good.drop(columns="group").to_csv(tmp_path / "nogroup.csv", index=False)
    with pytest.raises(UserInputError, match="group"):
        read_scores(tmp_path / "nogroup.csv")


def test_helpers_select_and_reshape():
    scores = table()
    val = subset(scores, SOURCE, "val")
    assert set(val["split"]) == {"val"} and len(val) == 12
    wide = wide_table(subset(scores, TARGET, "test"))
    assert list(wide.columns) == ["a", "b"] and len(wide) == 6


def test_validation_threshold_is_youden_on_source_validation_only():
    scores = table()
    own = scores[scores["model"] == "a"]
    val = own[(own["domain"] == SOURCE) & (own["split"] == "val")]
    expected = metrics.youden_threshold(val["label"].to_numpy(), val["score"].to_numpy())
    moved_test = own.assign(score=np.where(own["split"] == "test", 99.0, own["score"]))
    assert validation_threshold(own) == validation_threshold(moved_test) == expected


def test_scores_of_another_draw_of_the_videos_are_refused():
    """A benchmark regenerated with another seed names its videos as before, in other
    splits: scores paired with it by name would be read against the wrong videos."""
    scores = table()
    manifest = scores[["dataset", "method", "video_id", "split", "label"]].drop_duplicates().astype(str)
    check_against_manifest(scores, manifest, origin="manifest.csv")
    moved = manifest.assign(split=np.where(manifest["video_id"] == "sourcetest1", "train", manifest["split"]))
    with pytest.raises(UserInputError, match=r"1 of the 18 scored videos are not in manifest.csv .* m/sourcetest1"):
        check_against_manifest(scores, moved, origin="manifest.csv")
    with pytest.raises(UserInputError, match="2 of the 18"):  # relabelled, or not in the manifest at all
        check_against_manifest(scores, manifest[~manifest["video_id"].isin(["targettest0", "targettest5"])],
                               origin="manifest.csv")
