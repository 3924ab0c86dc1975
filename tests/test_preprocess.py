"""Preprocessing: sampling, fallbacks, broken files, the resumable cache and shards."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import av
import numpy as np
import pandas as pd
import torch
import pytest

from analysis.preprocess import crop_cache, face_detect
from analysis.cli import main
from analysis.data.manifest import read_manifest, write_manifest
from analysis.preprocess.pipeline import load_record, load_report, preprocess, shard
from analysis.profiles import get_profile
from analysis.benchmark.generator import generate
from analysis.preprocess.video import sample_frames, time_uniform_indices, write_video

TINY = get_profile("tiny").preprocessing


@pytest.fixture(scope="module")
def bench(tmp_path_factory):
    out = tmp_path_factory.mktemp("bench")
    generate(out, profile="tiny", seed=0, workers=2)
    return out / "manifest.csv"


def small_manifest(bench, n=6):
    manifest = read_manifest(bench)
    return manifest[manifest["domain"] == "source"].head(n)


def entries_equal(root_a, root_b, keys):
    for key in keys:
        a, b = crop_cache.load_entry(root_a, key), crop_cache.load_entry(root_b, key)
        assert a.keys() == b.keys()
        for name in a:
            np.testing.assert_array_equal(a[name], b[name])


def test_entry_holds_crops_midpoints_and_report(bench, tmp_path):
    manifest = small_manifest(bench, 2)
    report = preprocess(manifest, tmp_path, TINY)
    assert (report["status"] == "ok").all()
    key = tuple(manifest.iloc[0][["dataset", "method", "video_id"]])
    entry = crop_cache.load_entry(tmp_path, key)
    k = TINY.frames_per_video
    assert entry["faces"].shape == (k, TINY.crop_size, TINY.crop_size, 3) and entry["faces"].dtype == np.uint8
    assert entry["clip"].shape == (k, TINY.clip_crop_size, TINY.clip_crop_size, 3)
    assert entry["flow_mid"].shape == (k - 1, TINY.clip_crop_size, TINY.clip_crop_size, 3)
    assert entry["detected"].sum() == report.iloc[0]["faces_found"]
    sure = entry["face_prob"][entry["detected"]]  # MTCNN keeps a face at 0.7 and above
    assert len(sure) and (sure >= 0.7).all() and np.isnan(entry["face_prob"][~entry["detected"]]).all()
    assert crop_cache.read_marker(tmp_path, key)["video_id"] == key[2]


def test_an_uncompressed_cache_holds_the_same_crops_stored_as_they_are(bench, tmp_path):
    """``Preprocessing.compress`` decides only how an entry is stored: the profile that
    turns it off gets the same arrays back, in members zip stores without deflating."""
    import zipfile
    from dataclasses import replace

    manifest = small_manifest(bench, 2)
    keys = [tuple(row) for row in manifest[["dataset", "method", "video_id"]].to_numpy()]
    for name, settings in (("deflated", TINY), ("stored", replace(TINY, compress=False))):
        preprocess(manifest, tmp_path / name, settings)
        with zipfile.ZipFile(crop_cache.entry_path(tmp_path / name, keys[0])) as entry:
            kinds = {info.compress_type for info in entry.infolist()}
        assert kinds == {zipfile.ZIP_DEFLATED if settings.compress else zipfile.ZIP_STORED}
    entries_equal(tmp_path / "deflated", tmp_path / "stored", keys)
    assert get_profile("cpu").preprocessing.compress is False and get_profile("paper").preprocessing.compress


def test_broken_inputs_become_report_rows(bench, tmp_path, capsys):
    good = small_manifest(bench, 1).iloc[0]
    broken = tmp_path / "broken"
    broken.mkdir()
    data = open(good["path"], "rb").read()
    (broken / "truncated.mp4").write_bytes(data[: len(data) // 3])
    (broken / "garbage.mp4").write_bytes(np.random.default_rng(0).bytes(5000))
    (broken / "notes.mp4").write_text("this is not a video")
    (broken / "zero.mp4").write_bytes(b"")
    with av.open(str(broken / "empty.mp4"), "w") as container:  # a valid file with no frames
        stream = container.add_stream("libx264", rate=5)
        stream.width = stream.height = 32
    rows = [good.to_dict()]
    for name in ("truncated", "garbage", "notes", "empty", "missing", "zero"):
        rows.append({**good.to_dict(), "video_id": name, "path": str(broken / f"{name}.mp4")})
    manifest_path = write_manifest(pd.DataFrame(rows), tmp_path / "manifest.csv")

    assert main(["preprocess", "--manifest", str(manifest_path), "--profile", "tiny", "--out", str(tmp_path / "c")]) == 0
    printed = capsys.readouterr().out
    report = load_report(tmp_path / "c").set_index("video_id")
    assert report.loc[good["video_id"], "status"] == "ok"
    for name in ("garbage", "notes", "empty", "missing", "zero"):
        assert report.loc[name, "status"] == "failed" and report.loc[name, "error"], name
        assert f"/{name}:" in printed and "Errno" not in report.loc[name, "error"]
    assert report.loc["zero", "error"] == "empty file (0 bytes)"
    truncated = report.loc["truncated"]  # either partly decoded (and says so) or failed
    assert truncated["status"] == "failed" or truncated["frames_decoded"] < truncated["frames_in_video"] or truncated["error"]

    only_broken = write_manifest(pd.DataFrame(rows[2:]), tmp_path / "bad.csv")
    assert main(["preprocess", "--manifest", str(only_broken), "--profile", "tiny", "--out", str(tmp_path / "d")]) == 1


def test_rerun_skips_finished_videos(bench, tmp_path):
    manifest = small_manifest(bench, 3)
    preprocess(manifest, tmp_path, TINY)
    marker = crop_cache.marker_path(tmp_path, tuple(manifest.iloc[0][["dataset", "method", "video_id"]]))
    stamp = marker.stat().st_mtime_ns
    report = preprocess(manifest, tmp_path, TINY)
    assert marker.stat().st_mtime_ns == stamp
    assert len(report) == 3 and (report["status"] == "ok").all()


def test_killed_run_resumes_to_a_complete_cache(bench, tmp_path):
    out = tmp_path / "cache"
    path = write_manifest(small_manifest(bench, 14), tmp_path / "manifest.csv")
    command = [sys.executable, "-m", "analysis", "preprocess", "--manifest", str(path), "--profile", "tiny", "--out", str(out)]
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 120
    while len(list(out.rglob("*.done.json"))) < 5 and time.time() < deadline:
        time.sleep(0.05)
    os.kill(process.pid, signal.SIGKILL)
    process.wait()
    finished_before = len(list(out.rglob("*.done.json")))
    manifest = read_manifest(path)
    assert 5 <= finished_before < len(manifest), "the run should be killed half-way"

    subprocess.run(command, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    keys = [tuple(r) for r in manifest[["dataset", "method", "video_id"]].itertuples(index=False)]
    assert all(crop_cache.is_complete(out, key) for key in keys)
    assert not list(out.rglob("*.tmp"))
    assert len(load_report(out)) == len(manifest)
    clean = tmp_path / "clean"
    preprocess(manifest, clean, TINY)
    entries_equal(out, clean, keys)


def test_shards_together_equal_the_whole_run(bench, tmp_path):
    manifest = small_manifest(bench, 7)
    whole = preprocess(manifest, tmp_path / "whole", TINY)
    parts = [shard(manifest, i, 3) for i in (1, 2, 3)]
    assert sum(len(p) for p in parts) == len(manifest)
    assert set().union(*(set(p["video_id"] + p["method"]) for p in parts)) == set(manifest["video_id"] + manifest["method"])
    for i in (1, 2, 3):
        preprocess(manifest, tmp_path / "sharded", TINY, shard_spec=(i, 3))
    combined = load_report(tmp_path / "sharded")
    record = load_record(tmp_path / "sharded")  # the book's one record of the cache
    assert record["videos"] == len(manifest) and record["shard"] == [1, 3]
    assert record["flow"] == load_record(tmp_path / "whole")["flow"]
    columns = [c for c in whole.columns if c != "seconds"]
    whole_sorted = whole.sort_values(["dataset", "method", "video_id"]).reset_index(drop=True)
    pd.testing.assert_frame_equal(combined[columns], whole_sorted[columns], check_dtype=False)
    keys = [tuple(r) for r in manifest[["dataset", "method", "video_id"]].itertuples(index=False)]
    entries_equal(tmp_path / "whole", tmp_path / "sharded", keys)


def test_bad_shard_spec_is_refused(bench, tmp_path, capsys):
    assert main(["preprocess", "--manifest", str(bench), "--out", str(tmp_path), "--shard", "3/2"]) == 2
    assert "between 1 and N" in capsys.readouterr().err


def test_variable_frame_rate_is_sampled_uniformly_in_time():
    times = np.array([0.0, 0.1, 0.2, 0.3, 2.0, 2.1, 2.2, 4.0])  # a burst, a gap, a burst
    assert time_uniform_indices(times, 3).tolist() == [0, 4, 7]  # 0 s, 2 s, 4 s


def test_odd_grayscale_and_short_videos(tmp_path):
    path = tmp_path / "grey.mkv"  # a true grayscale pixel format, odd width and height
    with av.open(str(path), "w") as container:
        stream = container.add_stream("ffv1", rate=5)
        stream.width, stream.height, stream.pix_fmt = 97, 61, "gray"
        for level in (0, 100, 200):
            plane = np.full((61, 97), level, np.uint8)
            container.mux(stream.encode(av.VideoFrame.from_ndarray(plane, format="gray")))
        container.mux(stream.encode())
    sampled = sample_frames(path, 8)  # shorter than asked: every frame once
    assert sampled.frames.shape == (3, 61, 97, 3)
    assert sampled.indices.tolist() == [0, 1, 2]
    assert sampled.frames[2].mean() == pytest.approx(200, abs=2)


class _FakeDetector:
    """Stands in for MTCNN: one box per image, in the coordinates it was given."""

    def __init__(self):
        self.sizes = []

    def detect(self, images):
        self.sizes.append(images[0].shape[:2])
        return [np.array([[10.0, 20.0, 50.0, 60.0], [0.0, 0.0, 4.0, 4.0]]), None], [np.array([0.97, 0.8]), None]


def test_large_frames_are_detected_downscaled_and_boxes_mapped_back():
    detector = _FakeDetector()
    frames = np.zeros((2, 720, 1280, 3), np.uint8)
    boxes, probs = face_detect.detect_boxes(detector, frames, max_side=640)
    assert detector.sizes == [(360, 640)]
    np.testing.assert_allclose(boxes[0], [20, 40, 100, 120])  # the largest face, first as MTCNN sorts them
    assert probs[0] == 0.97 and np.isnan(boxes[1]).all() and np.isnan(probs[1])


def test_frames_without_face_borrow_the_nearest_box_or_the_centre():
    boxes = np.array([[np.nan] * 4, [1, 1, 5, 5], [np.nan] * 4, [np.nan] * 4, [7, 7, 9, 9]], float)
    filled, fallback = face_detect.fill_missing_boxes(boxes, (10, 20))
    assert fallback.tolist() == [True, False, True, True, False]
    assert filled[0].tolist() == [1, 1, 5, 5] and filled[3].tolist() == [7, 7, 9, 9]
    none, all_missing = face_detect.fill_missing_boxes(np.full((2, 4), np.nan), (10, 20))
    assert all_missing.all() and none[0].tolist() == [5, 0, 15, 10]


def test_smoothed_boxes_follow_the_head_but_not_the_detector():
    rng = np.random.default_rng(0)
    steady = np.linspace(0, 7, 8)[:, None] + np.array([10.0, 10.0, 74.0, 74.0])  # the head drifts 1 px a frame
    noisy = steady + rng.normal(0, 2.0, steady.shape)  # MTCNN's frame-to-frame jitter
    smoothed = face_detect.smooth_boxes(noisy)
    assert smoothed.shape == noisy.shape
    jitter = lambda b: np.abs(np.diff(b - steady, axis=0)).mean()  # noqa: E731
    assert jitter(smoothed) < jitter(noisy) / 3
    assert np.abs(smoothed - steady).mean(axis=0).max() < 2.5  # still on the face
    np.testing.assert_array_equal(face_detect.smooth_boxes(noisy[:1]), noisy[:1])  # one image: its own box
    np.testing.assert_array_equal(face_detect.smooth_boxes(noisy, window=1), noisy)
    cut = noisy.copy()
    cut[4:] += 40  # the head moves by more than half the box: the crops follow it
    followed = face_detect.smooth_boxes(cut)
    assert np.abs(followed - cut).max() < 6 and np.abs(followed[4:] - cut[4:]).mean() < 2.5


def test_the_run_stage_fills_the_cache_in_worker_processes_like_one_process(bench, tmp_path, monkeypatch):
    from analysis import run
    from analysis.data.manifest import read_manifest
    from analysis.profiles import get_profile

    manifest = small_manifest(bench, 5)
    path = tmp_path / "manifest.csv"
    manifest.to_csv(path, index=False)
    monkeypatch.setattr(run.os, "cpu_count", lambda: 2)  # two shards even on a one-core machine
    run._preprocess_in_shards(path, tmp_path / "workers", get_profile("tiny"), None)
    assert len(list((tmp_path / "workers").glob("report.shard-*-of-2.csv"))) == 2
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # as each worker runs: MTCNN's boxes move in the 7th digit with the thread count
    try:
        whole = preprocess(read_manifest(path), tmp_path / "whole", TINY)
    finally:
        torch.set_num_threads(threads)
    columns = [c for c in whole.columns if c != "seconds"]
    whole_sorted = whole.sort_values(["dataset", "method", "video_id"]).reset_index(drop=True)
    pd.testing.assert_frame_equal(load_report(tmp_path / "workers")[columns], whole_sorted[columns],
                                  check_dtype=False)
    keys = [tuple(r) for r in manifest[["dataset", "method", "video_id"]].itertuples(index=False)]
    entries_equal(tmp_path / "whole", tmp_path / "workers", keys)


def test_a_second_sampling_for_the_sequence_model_is_cached_and_read(bench, tmp_path):
    """With ``sequence_frames`` the entry holds that many face crops of its own uniform
    sampling, which the sequence model reads; without it, the sequence model reads the
    face crops (the cpu and tiny profiles)."""
    from dataclasses import replace

    from analysis.models import get_spec
    from analysis.preprocess.video import sample_indices
    from analysis.training.crop_datasets import StreamedSplit

    manifest = small_manifest(bench, 1)
    settings = replace(TINY, sequence_frames=5)
    preprocess(manifest, tmp_path, settings)
    key = tuple(manifest.iloc[0][["dataset", "method", "video_id"]])
    entry = crop_cache.load_entry(tmp_path, key)
    assert entry["sequence"].shape == (5, TINY.crop_size, TINY.crop_size, 3)
    assert entry["faces"].shape[0] == TINY.frames_per_video
    frames = sample_frames(manifest.iloc[0]["path"], 10**6).frames_in_video
    assert entry["sequence_indices"].tolist() == sample_indices(frames, 5).tolist()
    variant = replace(get_profile("tiny").variant("resnext50_lstm"), frames=5)
    split = StreamedSplit.load(manifest, tmp_path, get_spec("resnext50_lstm"), variant)
    assert split.video_frames == 5


def test_the_detector_runs_channels_last_and_crops_the_faces_mtcnn_as_shipped_crops(bench):
    """make_detector keeps MTCNN's three networks in channels-last order: their
    convolutions round differently, so a box may move by about
    1e-5 px, but the boxes and probabilities stay that close to MTCNN as shipped, on two
    threads as on one, and every face crop is the same bits."""
    from facenet_pytorch import MTCNN

    detector, shipped = face_detect.make_detector(), MTCNN(select_largest=True, keep_all=False, device="cpu")
    weights = [m.weight for net in (detector.pnet, detector.rnet, detector.onet) for m in net.modules()
               if isinstance(m, torch.nn.Conv2d)]
    assert len(weights) == 12 and all(w.is_contiguous(memory_format=torch.channels_last) for w in weights)
    manifest = read_manifest(bench)
    frames = np.concatenate([sample_frames(path, 2).frames for path in manifest["path"].head(6)])
    threads = torch.get_num_threads()
    torch.set_num_threads(2)
    try:
        found, probs = detector.detect(list(frames))
        expected, expected_probs = shipped.detect(list(frames))
    finally:
        torch.set_num_threads(threads)
    assert sum(b is not None for b in found) >= len(frames) // 2  # faces were found, so boxes were compared
    for frame, box, want, p, want_p in zip(frames, found, expected, probs, expected_probs):
        assert (box is None) == (want is None)
        if box is not None:
            np.testing.assert_allclose(np.asarray(box, float), np.asarray(want, float), rtol=0, atol=1e-3)
            np.testing.assert_allclose(np.asarray(p, float), np.asarray(want_p, float), rtol=0, atol=1e-5)
            np.testing.assert_array_equal(face_detect.crop_face(frame, box[0], 48),
                                          face_detect.crop_face(frame, want[0], 48))


def test_detect_boxes_hands_mtcnn_planar_frames_and_gets_what_a_list_of_frames_gets(bench):
    """detect_boxes gives MTCNN its frames already in the (N, 3, H, W) memory order it
    converts them to, which only makes its resizes faster: the boxes and probabilities are
    those MTCNN gives for the same frames handed over as a list of images, to the bit."""
    detector = face_detect.make_detector()
    for path in read_manifest(bench)["path"].head(4):
        frames = sample_frames(path, 4).frames
        boxes, probs = face_detect.detect_boxes(detector, frames)
        found, found_probs = detector.detect(list(frames))
        assert not np.isnan(probs).all()  # faces were found, so boxes were compared
        for box, prob, want, want_prob in zip(boxes, probs, found, found_probs):
            if want is None:
                assert np.isnan(box).all() and np.isnan(prob)
            else:
                assert box.tolist() == np.asarray(want)[0].tolist() and prob == np.asarray(want_prob)[0]
