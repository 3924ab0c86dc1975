"""Shortcut probes: can something other than the declared artefact tell real from fake?

A benchmark is an instrument only if its labels cannot be read from a nuisance: the size
of the file, the brightness of the frame, its colours, the scene behind the face, or the
number of frames. For every video the generator measures these features on the encoded
file (:func:`video_features`); :func:`probe_aucs` then trains one logistic regression per
probe on the source training videos and reports its AUC on the source test set and on
each target subset, overall and per method, with a group-bootstrap interval (identity
groups: a pair and every video made from it).

Reading a probe. A probe whose separation (its AUC or one minus it, whichever is larger:
a direction learned on the source may flip on a target subset) is above
:data:`NUISANCE_AUC` is a defect of the generator unless
it reads the declared artefact's own footprint: a relit face changes the colour
histogram and the mean brightness, and a face that flickers from frame to frame costs
the H.264 encoder more bits. The benchmark chapter shows each probe and says which is
which.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from analysis.data.splits import identity_groups
from analysis.evaluation.bootstrap import auc_interval
from analysis.preprocess.video import read_video

FEATURE_PREFIX = "probe_"
FEATURES_FILE = "probe_features.csv"
NUISANCE_AUC = 0.65  # a probe above this separates real from fake by a shortcut
HIST_BINS = 8  # per colour channel, whole frame
BACKGROUND_BINS = 4  # per colour channel, background-only region
LUMA = np.array([0.299, 0.587, 0.114])
CHANNELS = "rgb"


def _histogram(values: np.ndarray, bins: int) -> np.ndarray:
    counts = np.bincount(np.minimum(values.astype(np.int64) * bins // 256, bins - 1).ravel(), minlength=bins)
    return counts / max(counts.sum(), 1)


def video_features(path: Path, background: np.ndarray, frames: np.ndarray | None = None) -> dict[str, float]:
    """The probes' features of one encoded video; ``background`` (H, W bool) marks the
    pixels that show only the scene (none of the person) in every frame. ``frames``: the
    file decoded (:func:`read_video`), where the caller has decoded it already."""
    frames = read_video(path) if frames is None else frames
    features = {
        f"{FEATURE_PREFIX}bytes_per_frame": Path(path).stat().st_size / len(frames),
        f"{FEATURE_PREFIX}frame_count": float(len(frames)),
        f"{FEATURE_PREFIX}brightness": float((frames.astype(np.float32) @ LUMA).mean()),
    }
    for c, name in enumerate(CHANNELS):
        for b, share in enumerate(_histogram(frames[..., c], HIST_BINS)):
            features[f"{FEATURE_PREFIX}hist_{name}{b}"] = float(share)
    pixels = frames[:, background]  # (T, N, 3)
    if pixels.shape[1] == 0:
        raise ValueError(f"{path}: the background mask is empty; the person fills the whole frame")
    for c, name in enumerate(CHANNELS):
        features[f"{FEATURE_PREFIX}bg_mean_{name}"] = float(pixels[..., c].mean())
        features[f"{FEATURE_PREFIX}bg_sd_{name}"] = float(pixels[..., c].std())
        for b, share in enumerate(_histogram(pixels[..., c], BACKGROUND_BINS)):
            features[f"{FEATURE_PREFIX}bg_hist_{name}{b}"] = float(share)
    return features


PROBES = {  # probe name -> (feature-name pattern, what it reads)
    "file size": ("bytes_per_frame", "H.264 bytes per frame of the encoded file"),
    "frame count": ("frame_count", "number of decoded frames"),
    "mean brightness": ("brightness", "mean luma over all pixels and frames"),
    "colour histogram": ("hist_", f"{HIST_BINS}-bin histogram of each colour channel, whole frame"),
    "background only": ("bg_", "mean, spread and 4-bin histogram of each channel where only the scene shows"),
}


def probe_columns(features: pd.DataFrame, probe: str) -> list[str]:
    """The feature columns a probe reads."""
    pattern = PROBES[probe][0]
    prefix = FEATURE_PREFIX + pattern
    columns = [c for c in features.columns if c == prefix or (pattern.endswith("_") and c.startswith(prefix))]
    if not columns:
        raise ValueError(f"no feature column for probe {probe!r} (expected {prefix}...) in {FEATURES_FILE}")
    return columns


def fit_probe(train: pd.DataFrame, columns: list[str]):
    """Standardised logistic regression, real (0) vs fake (1), on training videos."""
    model = make_pipeline(StandardScaler(), LogisticRegression(max_iter=2000))
    return model.fit(train[columns].to_numpy(), train["label"].to_numpy())


def _evaluation_sets(features: pd.DataFrame) -> dict[str, pd.DataFrame]:
    test = features[features["split"] == "test"]
    sets = {"source test": test[test["domain"] == "source"]}
    for subset in sorted(set(test.loc[test["domain"] != "source", "subset"])):
        sets[subset] = test[test["subset"] == subset]
    return sets


def probe_aucs(features: pd.DataFrame, *, n_resamples: int = 1000, seed: int = 0) -> pd.DataFrame:
    """Every probe's AUC with its group-bootstrap interval on the source test set and each
    target subset, over all fakes (``method`` = ``all``) and per method (that method's
    fakes against every real of the set). ``features`` is the generator's
    :data:`FEATURES_FILE`."""
    train = features[(features["domain"] == "source") & (features["split"] == "train")]
    if set(train["label"]) != {0, 1}:
        raise ValueError("the probes need real and fake source training videos; the benchmark has none")
    rows = []
    for probe in PROBES:
        columns = probe_columns(features, probe)
        model = fit_probe(train, columns)
        for set_name, videos in _evaluation_sets(features).items():
            scores = model.decision_function(videos[columns].to_numpy())
            groups = identity_groups(videos).to_numpy()
            reals = videos["label"].to_numpy() == 0
            methods = ["all", *sorted(set(videos.loc[~reals, "method"]))]
            for method in methods:
                keep = reals | (videos["method"].to_numpy() == method) if method != "all" else np.ones(len(videos), bool)
                labels = videos["label"].to_numpy()[keep]
                if np.ptp(scores[keep]) == 0:  # a constant feature cannot rank: exactly chance
                    ci = (0.5, 0.5, 0.5)
                else:
                    found = auc_interval(scores[keep], labels, groups[keep], n_resamples=n_resamples, seed=seed)
                    ci = (found.estimate, found.low, found.high)
                rows.append({"probe": probe, "set": set_name, "method": method, "videos": int(keep.sum()),
                             "auc": ci[0], "low": ci[1], "high": ci[2]})
    table = pd.DataFrame(rows)
    # a probe trained on the source may point the wrong way on a target subset; a feature
    # that separates the classes in either direction is a shortcut all the same
    table["separation"] = np.maximum(table["auc"], 1 - table["auc"])
    table["above threshold"] = table["separation"] > NUISANCE_AUC
    return table


def read_features(bench_dir: Path) -> pd.DataFrame:
    """The probe features the generator wrote next to the manifest."""
    path = Path(bench_dir) / FEATURES_FILE
    if not path.is_file():
        raise FileNotFoundError(f"{path} is missing: regenerate the benchmark (python -m analysis synth ...)")
    return pd.read_csv(path, dtype={"video_id": str, "source_id": str, "target_id": str}, keep_default_na=False)
