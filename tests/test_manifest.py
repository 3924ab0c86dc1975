"""The manifest format: required columns, labels, splits and the video key."""

from __future__ import annotations

import pandas as pd
import pytest

from analysis.errors import UserInputError
from analysis.data.manifest import read_manifest, write_manifest


def rows(**changes):
    base = {
        "dataset": "ffpp", "video_id": "000_003", "path": "videos/a.mp4", "label": 1,
        "method": "Deepfakes", "split": "train", "source_id": "000", "target_id": "003",
    }
    return {**base, **changes}


def test_round_trip_resolves_relative_paths(tmp_path):
    frame = pd.DataFrame([rows(), rows(method="FaceSwap")])
    path = write_manifest(frame, tmp_path / "sub" / "manifest.csv")
    back = read_manifest(path)
    assert list(back["label"]) == [1, 1]
    assert back["path"].iloc[0] == str(tmp_path / "sub" / "videos" / "a.mp4")
    assert back["source_id"].iloc[0] == "000"  # ids keep their leading zeros


@pytest.mark.parametrize(
    "frame, message",
    [
        (pd.DataFrame([rows(), rows()]), "not unique"),
        (pd.DataFrame([rows(label=2)]), "label value"),
        (pd.DataFrame([rows(split="holdout")]), "split value"),
        (pd.DataFrame([rows()]).drop(columns="method"), "lacks the column"),
        (pd.DataFrame(columns=list(rows())), "no rows"),
    ],
)
def test_invalid_manifests_are_refused(tmp_path, frame, message):
    with pytest.raises(UserInputError, match=message):
        write_manifest(frame, tmp_path / "m.csv")


def test_missing_manifest_says_how_to_make_one(tmp_path):
    with pytest.raises(UserInputError, match="python -m analysis index"):
        read_manifest(tmp_path / "absent.csv")

