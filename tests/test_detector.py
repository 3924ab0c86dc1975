"""The detector API and ``python -m analysis predict`` on real files and broken ones."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest
from PIL import Image

from analysis import Detector
from analysis.cli import main
from analysis.errors import UserInputError
from analysis.manifest import read_manifest
from analysis.video import read_frames


@pytest.fixture(scope="module")
def files(prepared, tmp_path_factory):
    """A benchmark video, a still of its face, and files a user might pass by mistake."""
    folder = tmp_path_factory.mktemp("inputs")
    manifest = read_manifest(prepared[0])
    video = manifest[(manifest["domain"] == "source") & (manifest["split"] == "test")].iloc[0]["path"]
    still = folder / "face.png"
    Image.fromarray(read_frames(video, 1)[0]).save(still)
    blank = folder / "blank.jpg"
    Image.fromarray(np.full((120, 120, 3), 128, np.uint8)).save(blank)
    text = folder / "notes.mp4"
    text.write_text("not a video")
    truncated = folder / "truncated.jpg"
    truncated.write_bytes(still.read_bytes()[:200])
    return {"video": video, "image": still, "blank": blank, "text": text, "truncated": truncated,
            "missing": folder / "missing.mov"}


@pytest.fixture(scope="module")
def ensemble(trained_runs):
    return Detector.from_run(trained_runs, device="cpu")


def test_a_folder_of_runs_is_their_ensemble_and_a_video_gets_every_members_score(ensemble, files):
    assert sorted(ensemble.names) == ["autoencoder", "deep_svdd", "r3d18", "resnet18"]
    result = ensemble.predict(files["video"])
    assert set(result.models) == set(ensemble.names) and not result.skipped
    assert 0.0 <= result.score <= 1.0 and result.is_fake == (result.score >= result.threshold)
    assert result.faces_found == result.frames > 1


def test_an_image_is_scored_by_the_frame_models_only(ensemble, files):
    result = ensemble.predict(files["image"])
    assert set(result.models) == {"resnet18", "deep_svdd", "autoencoder"}
    assert set(result.skipped) == {"r3d18"} and result.frames == 1
    # its threshold is the one chosen on validation for the members that took part
    assert result.threshold == ensemble.threshold(list(result.models))


def test_set_threshold_decides_the_verdict(ensemble, files):
    try:
        ensemble.set_threshold(0.0)
        assert ensemble.predict(files["image"]).is_fake
        ensemble.set_threshold(1.01)
        assert not ensemble.predict(files["image"]).is_fake
    finally:
        ensemble._threshold = None


def test_one_run_gives_its_own_score(trained_runs, files):
    single = Detector.from_run(trained_runs / "autoencoder", device="cpu")
    result = single.predict(files["image"])
    assert single.names == ["autoencoder"] and result.score == result.models["autoencoder"]


@pytest.mark.parametrize("name, message", [("blank", "no face"), ("text", "not a readable video"),
                                           ("truncated", "not a readable image"), ("missing", "no such file")])
def test_bad_files_raise_a_clear_error(ensemble, files, name, message):
    with pytest.raises(UserInputError, match=message):
        ensemble.predict(files[name])


def test_run_folders_that_cannot_be_used(trained_runs, tmp_path):
    with pytest.raises(UserInputError, match="does not exist"):
        Detector.from_run(tmp_path / "nowhere")
    with pytest.raises(UserInputError, match="no trained run"):
        Detector.from_run(tmp_path)
    old = tmp_path / "old"
    shutil.copytree(trained_runs / "resnet18", old)
    record = json.loads((old / "record.json").read_text())
    record["run_format"] = 0
    (old / "record.json").write_text(json.dumps(record))
    with pytest.raises(UserInputError, match="another version"):
        Detector.from_run(old)


def test_cli_scores_good_files_reports_bad_ones_and_exits_non_zero(trained_runs, files, capsys):
    status = main(["predict", str(files["video"]), str(files["text"]), str(files["image"]),
                   "--run", str(trained_runs), "--json"])
    captured = capsys.readouterr()
    results = json.loads(captured.out)
    assert status == 1
    assert [("error" in r) for r in results] == [False, True, False]
    assert "notes.mp4" in captured.err
    assert set(results[0]["models"]) == {"resnet18", "r3d18", "deep_svdd", "autoencoder"}
    assert main(["predict", str(files["image"]), "--run", str(trained_runs)]) == 0
    assert "face.png:" in capsys.readouterr().out
    assert main(["predict", str(files["image"]), "--run", str(trained_runs / "nowhere")]) == 2
