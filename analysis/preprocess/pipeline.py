"""Preprocessing: sampled frames -> MTCNN face crops -> flow-interpolated midpoints -> cache.

For every video of a manifest: decode once and keep ``frames_per_video`` frames spread
uniformly in time; find the largest face in each with MTCNN (one batch per video,
downscaled when large); crop it at the profile's 2-D and 3-D sizes with the seeds'
margin; interpolate the frame halfway between each pair of consecutive crops with
optical flow; store everything in the crop cache. Every video gets a row in the
preprocessing report, including those that could not be read, and the record counts per
split the videos the study leaves out (:mod:`analysis.preprocess.exclusions`).
"""

from __future__ import annotations

import json
import os
import platform
import time
from pathlib import Path

import av
import numpy as np
import pandas as pd
import torch
from tqdm import tqdm

from analysis.preprocess import crop_cache, exclusions, face_detect, flow
from analysis.errors import UserInputError
from analysis.data.manifest import KEY_COLUMNS
from analysis.profiles import Preprocessing
from analysis.preprocess.report import load_record, load_report  # noqa: F401  (callers read a cache through here)
from analysis.preprocess.video import declared_frames, error_words, sample_frame_sets

READ_ERRORS = (av.error.FFmpegError, OSError, ValueError)  # unreadable, missing, empty
SEQUENCE = "sequence"  # the cache array of the sequence model's own sampling (Preprocessing.sequence_frames)
REPORT_COLUMNS = [
    "dataset", "method", "video_id", "domain", "split", "label", "status", "frames_in_video",
    "frames_decoded", "frames_sampled", "faces_found", "fallbacks", "box_step_px", "smoothed_box_step_px",
    "seconds", "error",
]


def read_error(path: str, err: Exception) -> str:
    """Why a video could not be read, for the report: an empty file says so (FFmpeg calls
    it invalid data), and FFmpeg's error number is left out of its words."""
    if os.path.isfile(path) and os.path.getsize(path) == 0:
        return "empty file (0 bytes)"
    return f"{type(err).__name__}: {error_words(err)}"


def parse_shard(text: str) -> tuple[int, int]:
    """``"I/N"`` -> ``(I, N)`` with ``1 <= I <= N``."""
    try:
        index, count = (int(part) for part in text.split("/"))
    except ValueError:
        raise UserInputError(f"--shard {text!r} is not of the form I/N, such as 1/4.") from None
    if not 1 <= index <= count:
        raise UserInputError(f"--shard {text!r}: I must be between 1 and N.")
    return index, count


def shard(manifest: pd.DataFrame, index: int, count: int) -> pd.DataFrame:
    """Every ``count``-th video starting at ``index`` (1-based), in key order: the shards
    of a manifest are disjoint and together hold every video."""
    ordered = manifest.sort_values(list(KEY_COLUMNS)).reset_index(drop=True)
    return ordered.iloc[index - 1 :: count]


def _key(row) -> crop_cache.Key:
    return (row["dataset"], row["method"], row["video_id"])


def process_video(path: str, profile: Preprocessing, detector, flow_fn) -> tuple[dict[str, np.ndarray], dict]:
    """Crops, flow midpoints and counts for one video (raises a READ_ERROR if unreadable);
    with ``profile.sequence_frames``, also the face crops of that second sampling."""
    counts = (profile.frames_per_video,) + ((profile.sequence_frames,) if profile.sequence_frames else ())
    sampled, *sequence = sample_frame_sets(path, counts)
    error = sampled.error
    # a file cut short at a packet boundary decodes without an error, and its samples would
    # spread over the part that is left, not over the video; only an exact count in the header
    # (an MP4's) is compared, not an estimate from the duration
    declared = declared_frames(path, counted_only=True)
    if declared - sampled.frames_in_video > max(1, declared // 100):
        error = "; ".join(filter(None, [f"{exclusions.CUT_SHORT}: the header declares {declared} frames, the "
                                        f"file holds {sampled.frames_in_video}", error]))
    arrays = crop_frames(sampled.frames, profile, detector, flow_fn)
    arrays["indices"] = sampled.indices
    if sequence:
        arrays[SEQUENCE] = sequence_faces(sequence[0].frames, profile, detector)
        arrays["sequence_indices"] = sequence[0].indices
    counts = {
        "frames_in_video": sampled.frames_in_video,
        "frames_decoded": sampled.frames_decoded,
        "frames_sampled": len(sampled.frames),
        "faces_found": int(arrays["detected"].sum()),
        "fallbacks": int((~arrays["detected"]).sum()),
        "box_step_px": face_detect.box_step(arrays["detector_boxes"]),
        "smoothed_box_step_px": face_detect.box_step(arrays["boxes"]),
        "error": error,
    }
    return arrays, counts


def face_boxes(frames: np.ndarray, detector) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """MTCNN's largest face per frame with gaps filled, whether each frame needed the
    fill, the boxes smoothed over time (the ones the crops use), and MTCNN's probability
    that each frame's box is a face (NaN where it needed the fill)."""
    boxes, probs = face_detect.detect_boxes(detector, frames)
    detector_boxes, fallback = face_detect.fill_missing_boxes(boxes, frames.shape[1:3])
    return detector_boxes, fallback, face_detect.smooth_boxes(detector_boxes), probs


def sequence_faces(frames: np.ndarray, profile: Preprocessing, detector) -> np.ndarray:
    """Face crops at ``crop_size`` of the sequence model's own sampling."""
    _, _, filled, _ = face_boxes(frames, detector)
    return np.stack([face_detect.crop_face(f, b, profile.crop_size) for f, b in zip(frames, filled)])


def crop_frames(frames: np.ndarray, profile: Preprocessing, detector, flow_fn) -> dict[str, np.ndarray]:
    """The cache entry of a sequence of frames (T, H, W, 3): face crops at both sizes,
    flow midpoints between consecutive crops, boxes, which frames had a face, and how
    sure MTCNN was of each."""
    detector_boxes, fallback, filled, probs = face_boxes(frames, detector)
    faces = np.stack([face_detect.crop_face(f, b, profile.crop_size) for f, b in zip(frames, filled)])
    clip = np.stack([face_detect.crop_face(f, b, profile.clip_crop_size) for f, b in zip(frames, filled)])
    midpoints = []
    for i in range(len(frames) - 1):
        shared_box = (filled[i] + filled[i + 1]) / 2  # one box, so the flow sees the face move
        start = face_detect.crop_face(frames[i], shared_box, profile.clip_crop_size)
        end = face_detect.crop_face(frames[i + 1], shared_box, profile.clip_crop_size)
        midpoints.append(flow.midpoint(start, end, flow_fn(start, end)))
    size = profile.clip_crop_size
    return {
        "faces": faces,
        "clip": clip,
        "flow_mid": np.stack(midpoints) if midpoints else np.zeros((0, size, size, 3), np.uint8),
        "boxes": filled.astype(np.float32),  # the crops' (smoothed) boxes
        "detector_boxes": detector_boxes.astype(np.float32),  # MTCNN's, before smoothing
        "detected": ~fallback,
        "face_prob": probs.astype(np.float32),
    }


def preprocess(
    manifest: pd.DataFrame,
    out_dir: Path,
    profile: Preprocessing,
    *,
    shard_spec: tuple[int, int] = (1, 1),
    weights_dir: Path | None = None,
    device: str | None = None,
) -> pd.DataFrame:
    """Preprocess one shard of a manifest into the cache at ``out_dir``; return its report.

    Finished videos (with a completion marker) are skipped and their report rows reused;
    videos that cannot be read get a ``failed`` row and the run goes on.
    """
    device = device or ("cuda" if torch.cuda.is_available() else "cpu")
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    detector = face_detect.make_detector(device)
    flow_fn, flow_name = flow.make_flow(profile.flow, weights_dir, device)
    selected = shard(manifest, *shard_spec)
    rows, started, reused, stale = [], time.perf_counter(), 0, 0
    for _, video in tqdm(selected.iterrows(), total=len(selected), desc="preprocess", unit="video"):
        key = _key(video)
        if crop_cache.is_complete(out_dir, key):
            rows.append(crop_cache.read_marker(out_dir, key))
            reused += 1
            continue
        stale += crop_cache.remove_stale_temporaries(out_dir, key)
        base = {c: video.get(c, "") for c in ("dataset", "method", "video_id", "domain", "split")}
        base["label"] = int(video["label"])
        tick = time.perf_counter()
        try:
            arrays, counts = process_video(video["path"], profile, detector, flow_fn)
        except READ_ERRORS as err:
            rows.append({**base, "status": "failed", "frames_in_video": 0, "frames_decoded": 0,
                         "frames_sampled": 0, "faces_found": 0, "fallbacks": 0,
                         "seconds": round(time.perf_counter() - tick, 3),
                         "error": read_error(video["path"], err)})
            continue
        row = {**base, "status": "ok", **counts, "seconds": round(time.perf_counter() - tick, 3)}
        crop_cache.write_entry(out_dir, key, arrays, row, compress=profile.compress)
        rows.append(row)
    report = pd.DataFrame(rows, columns=REPORT_COLUMNS)
    suffix = "" if shard_spec == (1, 1) else f".shard-{shard_spec[0]}-of-{shard_spec[1]}"
    report.to_csv(out_dir / f"report{suffix}.csv", index=False)
    record = {
        "profile": profile.as_dict(), "shard": list(shard_spec), "device": device, "flow": flow_name,
        "videos": len(report), "reused_from_cache": reused, "stale_temporaries_removed": stale,
        "excluded": exclusions.excluded_per_split(report, profile.frames_per_video, profile.sequence_frames),
        "seconds": round(time.perf_counter() - started, 1),
        "versions": {"torch": torch.__version__, "av": av.__version__, "python": platform.python_version()},
    }
    (out_dir / f"preprocess{suffix}.json").write_text(json.dumps(record, indent=2))
    return report


def summary(report: pd.DataFrame) -> dict:
    """Counts a reader wants first: videos, failures, frames, faces and fallbacks."""
    ok = report[report["status"] == "ok"]
    sampled = int(ok["frames_sampled"].sum())
    return {
        "videos": len(report),
        "processed": len(ok),
        "failed": int((report["status"] == "failed").sum()),
        "decoded with errors": int((ok["error"] != "").sum()),
        "frames sampled": sampled,
        "faces found": int(ok["faces_found"].sum()),
        "fallback frames": int(ok["fallbacks"].sum()),
        "face rate": float(ok["faces_found"].sum() / sampled) if sampled else float("nan"),
        "videos without any face": int((ok["faces_found"] == 0).sum()),
        "seconds per video": float(ok["seconds"].mean()) if len(ok) else float("nan"),
        "box step, px per frame": float(ok["box_step_px"].mean()),
        "smoothed box step, px per frame": float(ok["smoothed_box_step_px"].mean()),
    }
