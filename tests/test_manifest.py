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
        # a fake of 071 and 054 in train while 054's own video is in test: an identity leak
        (pd.DataFrame([rows(video_id="071_054", source_id="071", target_id="054"),
                       rows(video_id="054", label=0, method="original", split="test", source_id="054",
                            target_id="")]), "'054' appears in both 'train' and 'test'"),
    ],
)
def test_invalid_manifests_are_refused(tmp_path, frame, message):
    with pytest.raises(UserInputError, match=message):
        write_manifest(frame, tmp_path / "m.csv")


def test_the_same_id_in_two_datasets_is_two_people(tmp_path):
    frame = pd.DataFrame([rows(), rows(dataset="celebdf", split="test")])
    assert len(read_manifest(write_manifest(frame, tmp_path / "m.csv"))) == 2


def test_missing_manifest_says_how_to_make_one(tmp_path):
    with pytest.raises(UserInputError, match="python -m analysis index"):
        read_manifest(tmp_path / "absent.csv")

