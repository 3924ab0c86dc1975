"""Shortcut probes: features of encoded videos and the AUC of each probe."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from analysis.benchmark import probes
from analysis.preprocess.video import write_video


def test_video_features_read_the_encoded_file(tmp_path):
    rng = np.random.default_rng(0)
    frames = np.full((5, 48, 64, 3), 90, np.uint8)
    frames[:, 16:32, 24:40] = rng.integers(0, 255, (5, 16, 16, 3))  # a "person" in the middle
    path = write_video(tmp_path / "v.mp4", frames, fps=5, crf=23)
    background = np.ones((48, 64), bool)
    background[8:40, 16:48] = False
    features = probes.video_features(path, background)
    assert features["probe_frame_count"] == 5
    assert features["probe_bytes_per_frame"] == pytest.approx(path.stat().st_size / 5)
    assert abs(features["probe_bg_mean_r"] - 90) < 3 and features["probe_bg_sd_g"] < 3
    assert sum(features[f"probe_hist_b{i}"] for i in range(probes.HIST_BINS)) == pytest.approx(1)
    with pytest.raises(ValueError, match="background mask is empty"):
        probes.video_features(path, np.zeros((48, 64), bool))


def _features(n: int, leak: float, seed: int = 0, target_leak: float | None = None) -> pd.DataFrame:
    """A benchmark-like table in which only the file size carries the label, by ``leak``
    (by ``target_leak`` in the target subset, if given)."""
    rng = np.random.default_rng(seed)
    rows = []
    for split, domain, subset in (("train", "source", "source"), ("test", "source", "source"),
                                  ("test", "target", "unseen_capture")):
        for i in range(n):
            label = i % 2
            row = {"dataset": "synthetic", "method": "blend_swap" if label else "original",
                   "video_id": f"{split}{domain}{i}", "domain": domain, "subset": subset, "split": split,
                   "label": label, "source_id": f"{split}{domain}{i // 2}", "target_id": "",
                   "probe_bytes_per_frame": rng.normal(
                       1000 + (leak if target_leak is None or domain == "source" else target_leak) * label, 50),
                   "probe_frame_count": 8.0, "probe_brightness": rng.normal(120, 10)}
            row.update({f"probe_hist_r{b}": rng.random() for b in range(probes.HIST_BINS)})
            row.update({f"probe_bg_mean_{c}": rng.normal(100, 5) for c in probes.CHANNELS})
            rows.append(row)
    return pd.DataFrame(rows)


def test_a_leaking_feature_is_flagged_and_clean_ones_are_not():
    table = probes.probe_aucs(_features(200, leak=150), n_resamples=200)
    overall = table[table["method"] == "all"].set_index(["probe", "set"])
    assert overall.loc[("file size", "source test"), "auc"] > 0.9
    assert overall.loc[("file size", "source test"), "above threshold"]
    assert overall.loc[("frame count", "source test"), "auc"] == 0.5
    for probe in ("mean brightness", "colour histogram", "background only"):
        row = overall.loc[(probe, "source test")]
        assert row["low"] < 0.5 < row["high"] or row["auc"] < probes.NUISANCE_AUC, probe
    assert set(table["set"]) == {"source test", "unseen_capture"}


def test_probe_columns_and_missing_features():
    table = _features(4, leak=0)
    assert probes.probe_columns(table, "file size") == ["probe_bytes_per_frame"]
    assert probes.probe_columns(table, "background only") == [f"probe_bg_mean_{c}" for c in probes.CHANNELS]
    with pytest.raises(ValueError, match="no feature column"):
        probes.probe_columns(table.drop(columns="probe_brightness"), "mean brightness")


def test_a_shortcut_that_flips_direction_in_the_target_is_flagged():
    table = probes.probe_aucs(_features(200, leak=0, target_leak=-150), n_resamples=200)
    row = table[(table["method"] == "all") & (table["probe"] == "file size")].set_index("set")
    assert not row.loc["source test", "above threshold"]
    assert row.loc["unseen_capture", "separation"] > 0.9 and row.loc["unseen_capture", "above threshold"]


def test_the_data_stage_fits_the_probes_once_for_the_chapter_to_read(tmp_path, monkeypatch):
    """``stage_probes`` writes the probe table the benchmark chapter reads, with the
    profile's analysis settings, and keeps it while the benchmark and its settings stay."""
    from dataclasses import replace

    from analysis import run as runner
    from analysis.paths import benchmark_dir, probes_file
    from analysis.profiles import get_profile

    monkeypatch.setenv("ANALYSIS_RUNS_DIR", str(tmp_path / "runs"))
    profile = get_profile("tiny")
    profile = replace(profile, analysis=replace(profile.analysis, n_resamples=100))
    bench = benchmark_dir(profile.name)
    bench.mkdir(parents=True)
    _features(100, leak=150).to_csv(bench / probes.FEATURES_FILE, index=False)
    (bench / runner.STAMP).write_text("one benchmark")
    path = runner.stage_probes(profile)
    assert path == probes_file(profile.name)
    written = pd.read_csv(path)
    expected = probes.probe_aucs(probes.read_features(bench), n_resamples=100, seed=0)
    pd.testing.assert_frame_equal(written, expected, check_dtype=False)
    stamp = path.stat().st_mtime_ns
    runner.stage_probes(profile)
    assert path.stat().st_mtime_ns == stamp  # up to date: not refitted
    (bench / runner.STAMP).write_text("another benchmark")
    runner.stage_probes(profile)
    assert path.stat().st_mtime_ns != stamp
