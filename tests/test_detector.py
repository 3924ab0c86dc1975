"""The detector API and ``python -m analysis predict`` on real files and broken ones."""

from __future__ import annotations

import json
import os
import shutil

import av
import numpy as np
import pandas as pd
import pytest
from PIL import Image

from analysis import Detector
from analysis.cli import main
from analysis.detector import find_runs, one_seed
from analysis.training.run_record import read_run
from analysis.errors import UserInputError
from analysis.evaluation.ensembles import Ensemble
from analysis.data.manifest import read_manifest
from analysis.preprocess.video import read_frames, read_video, write_video
from analysis.profiles import DEFAULT_PROFILE
from tests import conftest


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
    whole = write_video(folder / "whole.mkv", read_video(video), fps=6, crf=18)  # Matroska streams front to back
    cut_video = folder / "cut.mkv"  # a download that stopped part-way
    cut_video.write_bytes(whole.read_bytes()[: whole.stat().st_size * 6 // 10])
    return {"video": video, "image": still, "blank": blank, "text": text, "truncated": truncated,
            "missing": folder / "missing.mov", "cut_video": cut_video}


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
    assert set(result.skipped) == {"r3d18"} and result.frames == result.frames_expected == 1
    # its threshold is the one chosen on validation for the members that took part, and it says so
    assert result.threshold == ensemble.threshold(list(result.models))
    assert result.threshold != ensemble.threshold()  # the vote of all four has its own
    assert "3 models that scored this file" in result.threshold_basis
    assert f"{ensemble.threshold():.3f}" in result.threshold_basis


def test_models_trained_on_the_synthetic_benchmark_say_so_with_every_verdict(ensemble, files):
    """A real photograph scored by the benchmark's models: the verdict carries the warning."""
    photo = files["image"].parent / "portrait.jpg"  # a photo-like file: a face still, resized and re-encoded
    Image.open(files["image"]).resize((256, 256)).save(photo, quality=90)
    result = ensemble.predict(photo)
    assert "synthetic" in result.trained_on and "says nothing" in result.warning
    assert "warning: these models learned from synthetic faces only" in str(result)
    assert "synthetic" in repr(ensemble) and "trained on" in repr(ensemble)
    assert result.as_dict()["trained_on"] == ensemble.trained_on


def test_the_models_shown_are_the_calibrated_probabilities_the_vote_averages(ensemble, files):
    result = ensemble.predict(files["video"])
    assert result.score == pytest.approx(np.mean(list(result.models.values())))
    assert all(0.0 <= p <= 1.0 for p in result.models.values())
    assert set(result.raw_scores) == set(result.models)
    assert result.raw_scores["deep_svdd"] != pytest.approx(result.models["deep_svdd"])  # a distance, calibrated


def test_a_video_cut_short_is_reported_as_a_decoding_problem(ensemble, files):
    try:
        result = ensemble.predict(files["cut_video"])
    except UserInputError as err:  # too little decoded to find a face: said as a decoding problem
        assert "damaged video" in str(err) and "sampled frames decoded" in str(err)
    else:
        assert result.frames < result.frames_expected
        assert "sampled frames decoded" in result.decoding and "decoding:" in str(result)


def test_a_video_cut_short_behind_its_index_says_its_frames_come_from_its_start(tmp_path):
    """An MP4 with its index in front (as web video is saved) lists every frame, so its cut
    lands mid-stream: every frame sampled may decode, yet all come from what is left."""
    from analysis.detector import _read_media

    whole = conftest.write_video(tmp_path / "whole.mp4", frames=60, options={"movflags": "faststart"})
    cut = tmp_path / "cut.mp4"
    cut.write_bytes(whole.read_bytes()[: whole.stat().st_size // 2])
    assert _read_media(whole, 16).decoding == ""
    media = _read_media(cut, 16)
    assert "of the 60 frames its header declares (cut short), so every frame scored comes from its start" in media.decoding
    assert "Errno" not in media.decoding


def test_a_matroska_video_cut_short_says_so_from_its_duration(tmp_path):
    """Matroska declares a duration but no frame count: half its frames cut away is told
    from the duration, not left silent."""
    from analysis.detector import _read_media

    whole = conftest.write_video(tmp_path / "whole.mkv", frames=100)
    cut = tmp_path / "cut.mkv"
    cut.write_bytes(whole.read_bytes()[: whole.stat().st_size // 2])
    assert _read_media(whole, 8).decoding == ""
    media = _read_media(cut, 8)
    assert "where its header's duration implies about 100: it may be cut short" in media.decoding


def test_predict_takes_a_list_of_files(ensemble, files):
    results = ensemble.predict([files["image"], files["video"]])
    assert [r.file for r in results] == [str(files["image"]), str(files["video"])]


def test_the_detector_votes_with_the_studys_fitted_ensemble(ensemble, files):
    result = ensemble.predict(files["video"])
    shared = ensemble.ensemble(list(result.models))
    assert isinstance(shared, Ensemble) and shared.kind == "soft_vote"
    same = Ensemble("soft_vote", result.raw_scores, raw_scores=["autoencoder", "deep_svdd"]).fit(ensemble.validation)
    assert result.score == pytest.approx(same.score(pd.DataFrame([result.raw_scores])).item())
    assert result.threshold == pytest.approx(same.threshold_)


def test_set_threshold_decides_the_verdict(ensemble, files, trained_runs):
    score = ensemble.predict(files["image"]).score
    try:
        ensemble.set_threshold(score * 0.999)
        assert ensemble.predict(files["image"]).is_fake
        ensemble.set_threshold(score + (1 - score) * 0.001)
        assert not ensemble.predict(files["image"]).is_fake
        for outside in (0.0, 1.0, 2.0, -1.0):  # a probability's threshold there gives every file one verdict
            with pytest.raises(UserInputError, match=r"outside \(0, 1\)"):
                ensemble.set_threshold(outside)
    finally:
        ensemble._threshold = None
    Detector.from_run(trained_runs / "autoencoder", device="cpu").set_threshold(5.0)  # a distance: any number


def test_one_run_gives_its_own_score(trained_runs, files):
    single = Detector.from_run(trained_runs / "autoencoder", device="cpu")
    result = single.predict(files["image"])
    assert single.names == ["autoencoder"] and result.score == result.models["autoencoder"]
    assert result.score == result.raw_scores["autoencoder"] and "autoencoder's own score" in result.threshold_basis


@pytest.mark.parametrize("name, message", [("blank", "no face"), ("text", "not a readable video"),
                                           ("truncated", "not a readable image"), ("missing", "no such file")])
def test_bad_files_raise_a_clear_error(ensemble, files, name, message):
    with pytest.raises(UserInputError, match=message):
        ensemble.predict(files[name])


def test_errors_say_what_is_wrong_with_the_file(trained_runs, ensemble, files, tmp_path):
    loop = tmp_path / "loop.jpg"
    loop.symlink_to(loop)
    with pytest.raises(UserInputError, match="a symbolic link to nothing"):
        ensemble.predict(loop)
    with pytest.raises(UserInputError) as text:
        ensemble.predict(files["text"])
    assert "Errno" not in str(text.value)  # FFmpeg's error code is no help to a reader
    clips_only = Detector.from_run(trained_runs / "r3d18", device="cpu")
    with pytest.raises(UserInputError, match="r3d18 needs a clip of at least 2 frames, this file gave 1"):
        clips_only.predict(files["image"])


def test_an_interrupted_batch_keeps_the_files_scored_so_far(trained_runs, files, tmp_path, monkeypatch, capsys):
    import analysis.detector as detector_module

    read = detector_module._read_media

    def interrupted(path, *args):
        if path.name == "blank.jpg":
            raise KeyboardInterrupt
        return read(path, *args)

    monkeypatch.setattr(detector_module, "_read_media", interrupted)
    table = tmp_path / "scores.csv"
    status = main(["predict", str(files["image"]), str(files["blank"]), str(files["video"]),
                   "--run", str(trained_runs / "resnet18"), "--csv", str(table)])
    assert status == 130 and list(pd.read_csv(table)["file"]) == [str(files["image"])]
    assert "interrupted: 1 of 3 files scored" in capsys.readouterr().err


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
    one = capsys.readouterr().out
    assert "face.png:" in one and one.count("warning:") == 1  # one file: the warning under its verdict
    assert main(["predict", str(files["image"]), str(files["video"]), "--run", str(trained_runs)]) == 0
    batch = capsys.readouterr().out
    assert batch.count("warning") == 1 and batch.rstrip().splitlines()[-1].startswith(
        "warning, for every verdict above: these models learned from synthetic faces only")
    # the image's vote leaves out the clip model, the video's does not: two thresholds, each said once
    assert batch.count("threshold: ") == 0 and len([line for line in batch.splitlines()
                                                    if line.startswith("threshold ")]) == 2
    assert main(["predict", str(files["image"]), str(files["image"]), "--run", str(trained_runs)]) == 0
    twice = capsys.readouterr().out
    assert len([line for line in twice.splitlines() if line.startswith("threshold ")]) == 1
    assert main(["predict", str(files["image"]), "--run", str(trained_runs / "nowhere")]) == 2


def _link_tree(source, target):
    """A copy of a folder of runs made of hard links (checkpoints are not duplicated)."""
    shutil.copytree(source, target, copy_function=os.link)
    return target


def test_predict_without_run_uses_the_default_profile_or_says_to_build_the_book(trained_runs, files, tmp_path,
                                                                                monkeypatch, capsys):
    monkeypatch.setenv("ANALYSIS_RUNS_DIR", str(tmp_path))
    assert main(["predict", str(files["image"])]) == 2
    assert "make book" in capsys.readouterr().err
    _link_tree(trained_runs, tmp_path / DEFAULT_PROFILE / "models")
    assert main(["predict", str(files["image"])]) == 0
    assert "face.png:" in capsys.readouterr().out


def test_run_may_be_a_profile_folder_a_models_folder_or_one_run(trained_runs, tmp_path):
    profile = tmp_path / "cpu"
    _link_tree(trained_runs, profile / "models")
    (profile / "cache" / "source").mkdir(parents=True)  # never searched
    names = sorted(Detector.from_run(trained_runs, device="cpu").names)
    assert [p.name for p in find_runs(profile)] == names
    assert [p.name for p in find_runs(profile / "models")] == names
    assert find_runs(profile / "models" / "r3d18") == [profile / "models" / "r3d18"]
    seeded = tmp_path / "seeded"  # runs/<profile>/models/<model>/<seed>/
    _link_tree(trained_runs / "resnet18", seeded / "models" / "resnet18" / "seed0")
    assert find_runs(seeded) == [seeded / "models" / "resnet18" / "seed0"]


def test_one_training_seed_of_each_model_is_used(trained_runs, tmp_path):
    models = tmp_path / "cpu" / "models"
    for model in ("resnet18", "deep_svdd"):
        for seed in (3, 7):  # the fixture's runs have seed 3; seed 7 is a relabelled copy
            run = models / model / f"seed{seed}"
            shutil.copytree(trained_runs / model, run, copy_function=os.link,
                            ignore=shutil.ignore_patterns("record.json"))
            record = json.loads((trained_runs / model / "record.json").read_text())
            (run / "record.json").write_text(json.dumps({**record, "seed": seed}))
    runs = [read_run(path) for path in find_runs(tmp_path / "cpu")]
    assert len(runs) == 4
    assert [r.path for r in one_seed(runs)] == [models / "deep_svdd" / "seed3", models / "resnet18" / "seed3"]
    assert [r.path for r in one_seed(runs, 7)] == [models / "deep_svdd" / "seed7", models / "resnet18" / "seed7"]
    with pytest.raises(UserInputError, match=r"seeds \[3, 7\]"):
        one_seed(runs, 5)
    with pytest.raises(UserInputError, match="Two runs of resnet18 with seed 3"):
        one_seed(runs + [read_run(trained_runs / "resnet18")])
    assert sorted(Detector.from_run(tmp_path / "cpu", device="cpu", seed=7).names) == ["deep_svdd", "resnet18"]
    with pytest.raises(UserInputError, match="profile folder"):
        find_runs(tmp_path / "nowhere")


def test_predict_writes_a_csv_table_and_json(trained_runs, files, tmp_path, capsys):
    table, listing = tmp_path / "scores.csv", tmp_path / "scores.json"
    status = main(["predict", str(files["image"]), str(files["text"]), "--run", str(trained_runs),
                   "--csv", str(table), "--json", str(listing)])
    assert status == 1
    rows = pd.read_csv(table)
    assert list(rows["file"]) == [str(files["image"]), str(files["text"])]
    assert list(rows.columns[:6]) == ["file", "is_fake", "score", "threshold", "frames", "faces_found"]
    assert {"resnet18 score", "deep_svdd score", "autoencoder score", "deep_svdd raw", "skipped", "error",
            "trained_on", "warning", "threshold_basis"} <= set(rows.columns)
    assert "synthetic" in rows["trained_on"].iloc[0]
    assert list(rows.columns[-4:]) == ["skipped", "trained_on", "warning", "error"]  # whichever file came first
    first_failed = main(["predict", str(files["text"]), str(files["image"]), "--run", str(trained_runs),
                         "--csv", str(tmp_path / "reversed.csv")])
    assert first_failed == 1 and list(pd.read_csv(tmp_path / "reversed.csv").columns) == list(rows.columns)
    assert "r3d18 score" not in rows and rows["skipped"].iloc[0].startswith("r3d18: needs a clip")
    assert rows["error"].isna().iloc[0] and "not a readable video" in rows["error"].iloc[1]
    assert json.loads(listing.read_text())[0]["score"] == pytest.approx(rows["score"].iloc[0])
    assert "face.png:" in capsys.readouterr().out  # files hold the tables, the terminal the verdicts
    assert main(["predict", str(files["image"]), "--run", str(trained_runs), "--csv"]) == 0
    printed = capsys.readouterr().out
    assert printed.splitlines()[0].startswith("file,is_fake,score") and "face.png:" not in printed
    assert main(["predict", str(files["image"]), "--run", str(trained_runs), "--csv", "--json"]) == 2


def test_a_list_with_a_bad_file_gives_its_error_and_scores_the_others(ensemble, files):
    results = ensemble.predict([files["text"], files["image"]])
    assert "not a readable video" in results[0].error and str(results[0]).endswith(results[0].error)
    assert not results[1].error and 0.0 <= results[1].score <= 1.0
    assert "score at or above it: FAKE" in results[1].threshold_basis


def test_members_that_failed_the_studys_fit_gate_are_named_in_the_warning(tmp_path):
    from types import SimpleNamespace

    from analysis.detector import _unfit

    runs = [SimpleNamespace(path=tmp_path / "cpu" / "models" / m / "seed0") for m in ("resnet18", "autoencoder")]
    assert _unfit(runs) == ()  # no results yet: nothing to say
    summary = tmp_path / "cpu" / "results" / "summary"
    summary.mkdir(parents=True)
    pd.DataFrame({"model": ["resnet18", "autoencoder"], "passes": [True, False]}).to_csv(summary / "fit_gate.csv")
    assert _unfit(runs) == ("autoencoder",)


def test_an_image_too_small_or_narrow_for_mtcnn_is_a_no_face_error_and_the_others_are_scored(ensemble, files):
    """MTCNN has no pyramid scale for a frame shorter than its smallest face (20 px), and
    facenet-pytorch then failed inside torch.cat: one tiny file lost a whole batch."""
    folder = files["image"].parent
    tiny, banner = folder / "tiny.jpg", folder / "banner.jpg"
    Image.open(files["image"]).resize((10, 10)).save(tiny)
    Image.open(files["image"]).resize((2000, 60)).save(banner)  # downscaled to 640x19 for detection
    line = folder / "line.png"  # downscaled to 640x0: OpenCV refused to resize it
    Image.fromarray(np.full((2, 3000, 3), 255, np.uint8)).save(line)
    for path in (tiny, banner, line):
        with pytest.raises(UserInputError, match="no face.*too small or too narrow"):
            ensemble.predict(path)
    results = ensemble.predict([tiny, files["image"]])
    assert "too small" in results[0].error and not results[1].error


def test_the_too_small_rule_is_the_one_detection_applies():
    """A 2000x62 frame is searched at 640x20 (rounded), so it is not called too small."""
    from analysis.preprocess.face_detect import detect_boxes, too_small_to_search

    class Recording:
        min_face_size, searched = 20, []

        def detect(self, frames):
            self.searched.append(frames[0].shape[:2])
            return [None] * len(frames), [None] * len(frames)

    detector = Recording()
    assert not too_small_to_search(62, 2000, detector) and too_small_to_search(60, 2000, detector)
    for frames in (np.zeros((1, 62, 2000, 3), np.uint8), np.zeros((1, 2, 3000, 3), np.uint8)):
        boxes, probs = detect_boxes(detector, frames)
        assert np.isnan(boxes).all() and np.isnan(probs).all()
    assert detector.searched == [(20, 640)]  # the 3000x2 frame never reached the resize or MTCNN


def test_the_cli_keeps_every_files_row_when_one_fails_unexpectedly(trained_runs, files, tmp_path, monkeypatch, capsys):
    import analysis.detector as detector_module

    read = detector_module._read_media
    boom = tmp_path / "boom.png"
    shutil.copy(files["image"], boom)

    def failing(path, *args):
        if path.name == "boom.png":
            raise RuntimeError("something no check foresaw")
        return read(path, *args)

    monkeypatch.setattr(detector_module, "_read_media", failing)
    table, listing = tmp_path / "scores.csv", tmp_path / "scores.json"
    status = main(["predict", str(files["image"]), str(boom), "--run", str(trained_runs), "--csv", str(table),
                   "--json", str(listing)])
    assert status == 1
    strict = json.loads(listing.read_text(), parse_constant=lambda name: pytest.fail(f"{name} is not JSON"))
    assert set(strict[1]) == {"file", "error", "trained_on", "warning"}  # a failed file: no NaN fields
    rows = pd.read_csv(table)
    assert list(rows["file"]) == [str(files["image"]), str(boom)]
    assert rows["error"].isna().iloc[0] and "RuntimeError: something no check foresaw" in rows["error"].iloc[1]
    assert "boom.png: could not be scored" in capsys.readouterr().err


def test_an_image_is_read_upright_and_16_bit_greyscale_is_scaled(ensemble, files, tmp_path):
    upright = Image.open(files["image"]).convert("RGB")
    sideways = tmp_path / "phone.jpg"  # a phone stores a portrait sideways with an EXIF orientation tag
    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90 degrees clockwise to display
    upright.transpose(Image.Transpose.ROTATE_90).save(sideways, exif=exif, quality=100)
    reference = tmp_path / "upright.jpg"
    upright.save(reference, quality=100)
    assert ensemble.predict(sideways).score == pytest.approx(ensemble.predict(reference).score, abs=0.02)
    grey = np.asarray(upright.convert("L"))
    eight, sixteen = tmp_path / "grey8.png", tmp_path / "grey16.png"
    Image.fromarray(grey).save(eight)
    Image.fromarray(grey.astype(np.uint16) * 257).save(sixteen)
    assert Image.open(sixteen).mode.startswith("I")
    assert ensemble.predict(sixteen).score == pytest.approx(ensemble.predict(eight).score)


@pytest.mark.parametrize("suffix", [".heic", ".avif"])
def test_a_phone_photo_in_heic_or_avif_is_scored_as_the_same_photo_in_png(ensemble, files, tmp_path, suffix,
                                                                          monkeypatch):
    """Read as an image (libheif assembles a phone's grid of tiles), never as a video."""
    import analysis.detector as detector_module
    from pillow_heif import register_heif_opener

    register_heif_opener()
    photo = tmp_path / f"phone{suffix}"
    Image.open(files["image"]).convert("RGB").save(photo, quality=100)
    monkeypatch.setattr(detector_module, "sample_frames", lambda *_: pytest.fail("read as a video"))
    result = ensemble.predict(photo)
    assert result.frames == 1 and not result.error
    assert result.score == pytest.approx(ensemble.predict(files["image"]).score, abs=0.02)


@pytest.mark.parametrize("mode, values", [("I;16", lambda g: g.astype(np.uint16) * 257),
                                          ("I", lambda g: g.astype(np.int32) * 257),
                                          ("I", lambda g: g.astype(np.int32)),
                                          ("F", lambda g: g.astype(np.float32) / 255),
                                          ("F", lambda g: g.astype(np.float32))])
def test_greyscale_of_more_than_8_bits_is_read_at_its_own_full_scale(mode, values):
    from analysis.detector import _rgb

    grey = np.arange(0, 256, dtype=np.uint8).reshape(16, 16)
    image = Image.fromarray(values(grey)) if mode == "I;16" else Image.fromarray(values(grey), mode)
    assert image.mode == mode
    np.testing.assert_array_equal(_rgb(image, 64), np.repeat(grey[..., None], 3, axis=2))


@pytest.mark.parametrize("mode", ["RGBA", "LA", "P"])
def test_transparent_parts_are_read_on_white_not_as_the_pixels_under_them(mode):
    from analysis.detector import _rgb

    hidden = np.random.default_rng(0).integers(0, 256, (8, 8, 3), dtype=np.uint8)
    alpha = np.zeros((8, 8), np.uint8)
    alpha[:, :4] = 255  # left half opaque, right half transparent
    image = Image.fromarray(np.dstack([hidden, alpha]), "RGBA")
    if mode == "LA":
        image = image.convert("LA")
    elif mode == "P":
        image = Image.fromarray(hidden[..., 0], "L").convert("P")
        image.info["transparency"] = int(hidden[0, 7, 0])  # one palette entry is see-through
    shown = _rgb(image, 64)
    if mode == "P":
        see_through = hidden[..., 0] == hidden[0, 7, 0]
        assert (shown[see_through] == 255).all() and (shown[~see_through] == hidden[..., :1][~see_through]).all()
    else:
        assert (shown[:, 4:] == 255).all()
        np.testing.assert_array_equal(shown[:, :4], np.asarray(image.convert("RGB"))[:, :4])


def test_folders_and_oversized_images_are_clear_errors(ensemble, files, tmp_path, monkeypatch):
    folder = tmp_path / "holiday.jpg"
    folder.mkdir()
    with pytest.raises(UserInputError, match="a folder, not a file"):
        ensemble.predict(folder)
    empty = tmp_path / "empty.mp4"
    empty.write_bytes(b"")
    with pytest.raises(UserInputError, match="an empty file"):
        ensemble.predict(empty)
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 100)  # the face still is over twice the limit: a "bomb"
    with pytest.raises(UserInputError, match="too large to read.*decompression bomb.*downscale it"):
        ensemble.predict(files["image"])


def _damaged(good: bytes, kind: str) -> bytes:
    import io

    import torch

    if kind == "weights only":  # a bare state dict, as torch.save(model.state_dict()) writes
        buffer = io.BytesIO()
        torch.save(torch.load(io.BytesIO(good), weights_only=False)["model"], buffer)
        return buffer.getvalue()
    return {"truncated": good[:1000], "zero-filled": bytes(len(good)),
            "a Git LFS pointer": b"version https://git-lfs.github.com/spec/v1\noid sha256:00\nsize 1\n",
            "an HTML error page": b"<!doctype html><title>404</title>"}[kind]


@pytest.mark.parametrize("kind, message", [("truncated", "cannot be read"), ("zero-filled", "cannot be read"),
                                           ("a Git LFS pointer", "cannot be read"),
                                           ("an HTML error page", "cannot be read"),
                                           ("weights only", "is not a checkpoint written by this project")])
def test_a_damaged_checkpoint_is_a_clear_error(trained_runs, tmp_path, kind, message):
    corrupt = tmp_path / "corrupt"
    shutil.copytree(trained_runs / "resnet18", corrupt)
    (corrupt / "best.pt").write_bytes(_damaged((trained_runs / "resnet18" / "best.pt").read_bytes(), kind))
    with pytest.raises(UserInputError, match=f"best.pt {message}"):
        Detector.from_run(corrupt, device="cpu")


def test_damaged_runs_and_bad_options_are_clear_errors(trained_runs, files, tmp_path, capsys, monkeypatch):
    import torch

    for text in (b'{"model": "resn', b"\xff\xfe\x00binary"):
        record = tmp_path / f"record{len(text)}"
        shutil.copytree(trained_runs / "resnet18", record)
        (record / "record.json").write_bytes(text)
        with pytest.raises(UserInputError, match="not valid JSON"):
            Detector.from_run(record, device="cpu")
    with pytest.raises(UserInputError, match="is a file"):
        Detector.from_run(trained_runs / "resnet18" / "best.pt")
    with pytest.raises(UserInputError, match="not a torch device"):
        Detector.from_run(trained_runs / "resnet18", device="gpu")
    for device in ("mps", "xpu", "meta"):  # torch devices, but not the detector's: not blamed on the checkpoint
        with pytest.raises(UserInputError, match="runs on cpu or cuda"):
            Detector.from_run(trained_runs / "resnet18", device=device)
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 1)
    with pytest.raises(UserInputError, match="has 1 CUDA GPU"):
        Detector.from_run(trained_runs / "resnet18", device="cuda:3")
    monkeypatch.undo()
    image = str(files["image"])
    with pytest.raises(SystemExit) as stop:  # refused as the command line is read, before any model loads
        main(["predict", image, "--run", str(trained_runs / "resnet18"), "--threshold", "nan", "--json"])
    assert stop.value.code == 2 and "not a finite number" in capsys.readouterr().err
    same = str(tmp_path / "scores.txt")
    assert main(["predict", image, "--run", str(trained_runs / "resnet18"), "--json", same, "--csv", same]) == 2
    assert "name the same file" in capsys.readouterr().err
    (tmp_path / "sub").mkdir()
    (tmp_path / "link.txt").symlink_to(same)
    for spelling in (str(tmp_path / "sub" / ".." / "scores.txt"), str(tmp_path / "link.txt")):
        assert main(["predict", image, "--run", str(trained_runs / "resnet18"), "--json", spelling, "--csv", same]) == 2
        assert "name the same file" in capsys.readouterr().err
    (tmp_path / "kept.json").write_text("{}")
    assert main(["predict", image, "--run", str(trained_runs / "resnet18"), "--csv", str(tmp_path / "kept.json")]) == 2
    assert "an existing .json file" in capsys.readouterr().err and (tmp_path / "kept.json").read_text() == "{}"
    tsv = tmp_path / "scores.tsv"
    assert main(["predict", image, "--run", str(trained_runs / "resnet18"), "--csv", str(tsv)]) == 0
    assert tsv.read_text().startswith("file\tis_fake\tscore\t")
    with pytest.raises(UserInputError, match="not above 0, and deep_svdd scores a distance"):
        Detector.from_run(trained_runs / "deep_svdd", device="cpu").set_threshold(-5)


def test_a_run_still_training_beside_the_others_is_named_in_the_warning_and_does_not_vote(trained_runs, files,
                                                                                          tmp_path):
    from analysis.detector import unfinished_runs

    folder = tmp_path / "models"
    for model in ("resnet18", "deep_svdd"):
        shutil.copytree(trained_runs / model, folder / model)
    (folder / "deep_svdd" / "record.json").unlink()  # written when training ends
    assert unfinished_runs(folder) == ("deep_svdd",)
    assert unfinished_runs(folder / "resnet18") == ()  # one run: nothing beside it
    detector = Detector.from_run(folder, device="cpu")
    assert detector.names == ["resnet18"]
    result = detector.predict(files["image"])
    assert "deep_svdd has not finished training" in result.warning
    lines = str(result).splitlines()
    assert lines[1].startswith("  warning:") and lines[2].startswith("  threshold:")  # right under the verdict


def test_only_unfinished_runs_of_the_seed_that_votes_are_named(trained_runs, files, tmp_path):
    from analysis.detector import unfinished_runs

    seed = read_run(trained_runs / "resnet18").seed
    folder = tmp_path / "models"
    shutil.copytree(trained_runs / "resnet18", folder / "resnet18" / f"seed{seed}")
    for model, other in (("deep_svdd", 0), ("autoencoder", 0), ("deep_svdd", 1)):
        (folder / model / f"seed{seed + other}").mkdir(parents=True)
        (folder / model / f"seed{seed + other}" / "last.pt").write_bytes(b"")
    this, next_seed = f"seed{seed}", f"seed{seed + 1}"
    assert unfinished_runs(folder) == (f"autoencoder/{this}", f"deep_svdd/{this}", f"deep_svdd/{next_seed}")
    assert unfinished_runs(folder, seed) == (f"autoencoder/{this}", f"deep_svdd/{this}")
    warning = Detector.from_run(folder, device="cpu").warning
    assert (f"autoencoder/{this}, deep_svdd/{this} have not finished training (no record.json) and do not vote"
            in warning)
    assert next_seed not in warning


def test_animated_images_videos_named_as_images_and_big_photos_are_read(ensemble, files, tmp_path, monkeypatch):
    import warnings

    clip = read_frames(files["video"], 8)
    animated = tmp_path / "clip.webp"  # an animated WebP: a clip, not a still
    Image.fromarray(clip[0]).save(animated, save_all=True, append_images=[Image.fromarray(f) for f in clip[1:]],
                                  duration=100, lossless=True)
    result = ensemble.predict(animated)
    assert result.frames == ensemble.profile.preprocessing.frames_per_video < 8 and not result.skipped
    misnamed = tmp_path / "clip.jpg"  # a video a user saved under an image's name
    shutil.copy(files["video"], misnamed)
    assert ensemble.predict(misnamed).frames > 1
    with pytest.raises(UserInputError, match="not a readable image.*nor a video"):
        ensemble.predict(files["text"].rename(tmp_path / "notes.png"))
    pixels = Image.open(files["image"]).size
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", pixels[0] * pixels[1] - 1)  # over the warning's limit only
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a large photo is scored without a raw library warning
        assert not ensemble.predict(files["image"]).error


def test_addresses_pipes_and_audio_files_are_clear_errors(ensemble, tmp_path):
    import av

    with pytest.raises(UserInputError, match="an address, not a file; download it"):
        ensemble.predict("https://example.com/face.jpg")
    fifo = tmp_path / "pipe.mp4"
    os.mkfifo(fifo)
    with pytest.raises(UserInputError, match="not a regular file"):
        ensemble.predict(fifo)
    audio = tmp_path / "voice.m4a"
    with av.open(str(audio), "w") as container:
        stream = container.add_stream("aac", rate=16000)
        for _ in range(20):
            frame = av.AudioFrame.from_ndarray(np.zeros((1, 1024), np.float32), format="fltp", layout="mono")
            frame.sample_rate = 16000
            container.mux(stream.encode(frame))
        container.mux(stream.encode())
    with pytest.raises(UserInputError, match="no video stream in it"):
        ensemble.predict(audio)


def test_a_table_file_that_would_overwrite_a_photo_is_refused_before_anything_loads(files, tmp_path, capsys,
                                                                                      trained_runs):
    victim, clip = tmp_path / "victim.jpg", tmp_path / "holiday.MTS"
    shutil.copy(files["image"], victim)
    shutil.copy(files["video"], clip)
    before = victim.read_bytes(), clip.read_bytes()
    for flag in ("--csv", "--json"):  # the flag before the files takes the first file as its own
        for target in (victim, clip):
            assert main(["predict", flag, str(target), str(files["video"]), "--run", str(trained_runs)]) == 2
            error = capsys.readouterr().err
            assert "an existing file that is not a table" in error and "so it is not overwritten" in error
    assert (victim.read_bytes(), clip.read_bytes()) == before
    assert main(["predict", str(files["image"]), "--json", str(tmp_path), "--run", str(trained_runs)]) == 2
    assert "a folder; name a file in it" in capsys.readouterr().err
    assert main(["predict", str(files["image"]), "--csv", str(victim / "scores.csv"), "--run", str(trained_runs)]) == 2
    assert "cannot be written" in capsys.readouterr().err
    table = tmp_path / "new" / "folder" / "scores.csv"  # its folder is made
    assert main(["predict", str(files["image"]), str(files["text"]), "--csv", str(table),
                 "--run", str(trained_runs / "resnet18")]) == 1
    rows = pd.read_csv(table)
    assert rows["frames"].tolist()[0] == 1 and "1.0" not in table.read_text().splitlines()[1].split(",")[:6]
    # run again over everything in the folder, the last table included: it is a file to score, and rewritten
    assert main(["predict", str(files["image"]), str(table), "--csv", str(table),
                 "--run", str(trained_runs / "resnet18")]) == 1
    assert len(pd.read_csv(table)) == 2


def test_a_photo_with_several_images_in_it_is_read_as_its_first(ensemble, files, tmp_path):
    """A TIFF's pages and the preview a camera stores in a JPEG (MPO) are no clip."""
    photo = Image.open(files["image"]).convert("RGB")
    small = photo.resize((photo.width // 4, photo.height // 4))
    still = ensemble.predict(files["image"])
    for name in ("pages.tif", "camera.jpg"):
        path = tmp_path / name
        options = {"format": "MPO", "quality": 100} if name.endswith(".jpg") else {}
        photo.save(path, save_all=True, append_images=[small], **options)
        assert Image.open(path).n_frames == 2
        result = ensemble.predict(path)
        assert result.frames == 1 and result.score == pytest.approx(still.score, abs=0.02)
    damaged = tmp_path / "cut.heic"
    from pillow_heif import register_heif_opener

    register_heif_opener()
    photo.save(tmp_path / "whole.heic")
    whole = (tmp_path / "whole.heic").read_bytes()
    damaged.write_bytes(whole[: len(whole) // 2])
    with pytest.raises(UserInputError, match="cut.heic: not a readable image"):
        ensemble.predict(damaged)


def test_a_photo_longer_than_the_reading_limit_is_read_downscaled_and_upright(tmp_path):
    from PIL import ExifTags

    from analysis.detector import _read_media

    pixels = np.random.default_rng(0).integers(0, 256, (100, 200, 3), dtype=np.uint8)
    sideways = tmp_path / "portrait.jpg"  # as a phone stores a portrait: landscape pixels, rotated by EXIF
    exif = Image.Exif()
    exif[ExifTags.Base.Orientation] = 6
    Image.fromarray(pixels).save(sideways, exif=exif)
    wide = tmp_path / "wide.png"
    Image.fromarray(pixels).save(wide)
    assert _read_media(sideways, 8, max_side=50).frames.shape == (1, 50, 25, 3)
    assert _read_media(wide, 8, max_side=50).frames.shape == (1, 25, 50, 3)
    assert _read_media(wide, 8, max_side=200).frames.shape == (1, 100, 200, 3)  # within the limit: whole
    np.testing.assert_array_equal(_read_media(wide, 8, max_side=200).frames[0], pixels)


def test_the_reading_limit_keeps_every_face_mtcnn_can_find_at_least_as_large_as_each_profiles_crop():
    from analysis.detector import IMAGE_MAX_SIDE
    from analysis.preprocess.face_detect import DETECT_MAX_SIDE, make_detector
    from analysis.profiles import PROFILES

    smallest_face = make_detector().min_face_size * IMAGE_MAX_SIDE / DETECT_MAX_SIDE
    for profile in PROFILES.values():
        settings = profile.preprocessing
        assert smallest_face >= max(settings.crop_size, settings.clip_crop_size), profile.name


def test_a_table_that_fails_to_write_still_leaves_the_other_written(trained_runs, files, tmp_path, monkeypatch,
                                                                     capsys):
    from pathlib import Path

    listing, table = tmp_path / "scores.json", tmp_path / "scores.csv"
    write_text = Path.write_text

    def full_disk(self, text, *args, **kwargs):
        if self == listing:
            raise OSError(28, "No space left on device")
        return write_text(self, text, *args, **kwargs)

    monkeypatch.setattr(Path, "write_text", full_disk)
    status = main(["predict", str(files["image"]), "--json", str(listing), "--csv", str(table),
                   "--run", str(trained_runs / "resnet18")])
    captured = capsys.readouterr()
    assert status == 2 and f"{listing}: cannot be written" in captured.err
    assert json.loads(captured.out[captured.out.index("["):])[0]["file"] == str(files["image"])  # printed instead
    assert not listing.exists() and pd.read_csv(table)["file"].tolist() == [str(files["image"])]


def test_a_member_that_failed_the_fit_gate_leaves_the_vote_of_a_folder_but_scores_alone_if_asked(trained_runs,
                                                                                                  tmp_path, files):
    import shutil

    models = tmp_path / "cpu" / "models"
    for model in ("resnet18", "autoencoder"):
        shutil.copytree(trained_runs / model, models / model / "seed0")  # as make book lays runs out
    summary = tmp_path / "cpu" / "results" / "summary"
    summary.mkdir(parents=True)
    pd.DataFrame({"model": ["resnet18", "autoencoder"], "passes": [True, False]}).to_csv(summary / "fit_gate.csv")
    folder = Detector.from_run(models, device="cpu")
    assert folder.names == ["resnet18"] and "autoencoder did not learn" in folder.warning
    assert "left out of the vote" in folder.warning
    alone = Detector.from_run(models / "autoencoder", device="cpu")
    assert alone.names == ["autoencoder"] and "its score says little" in alone.warning
    passed = Detector.from_run(models / "resnet18", device="cpu")  # one run: no vote, no other member to name
    assert "autoencoder" not in passed.warning and "vote" not in passed.warning


def test_cautions_name_few_faces_an_unsure_face_a_small_face_and_a_file_without_colour():
    from analysis.detector import _cautions

    rng = np.random.default_rng(0)
    colour = rng.integers(0, 255, (8, 40, 40, 3), dtype=np.uint8)
    grey = np.repeat(colour[..., :1], 3, axis=-1)
    every = np.ones(8, bool)
    assert _cautions(colour, every, 70, 0.999, 64) == ""
    assert "only 1 of 8 frames" in _cautions(colour, np.eye(8, dtype=bool)[0], 70, 0.999, 64)
    assert "only" not in _cautions(colour, np.arange(8) < 4, 70, 0.999, 64)  # half the frames is enough
    assert "31 px across" in _cautions(colour, every, 31, 0.999, 64) and _cautions(colour, every, 32, 0.999, 64) == ""
    assert "no colour" in _cautions(grey, every, 70, 0.999, 64)
    assert "probability of only 0.89" in _cautions(colour, every, 70, 0.892, 64)
    assert _cautions(colour, every, 70, 0.95, 64) == ""
