"""Face detection with facenet-pytorch's MTCNN, as the model cards' preprocessing uses it."""

from __future__ import annotations

import warnings

import pandas as pd
import torch
from tqdm import tqdm

with warnings.catch_warnings():
    # facenet-pytorch imports tqdm.auto, which warns in a notebook kernel without widgets
    warnings.filterwarnings("ignore", message="IProgress not found")
    from facenet_pytorch import MTCNN

from analysis.video import read_frames


def make_detector(device: str | torch.device = "cpu") -> MTCNN:
    """MTCNN with its default thresholds, keeping the largest face (the seeds' settings)."""
    return MTCNN(select_largest=True, keep_all=False, device=device)


def detection_rate(manifest: pd.DataFrame, frames_per_video: int, detector: MTCNN | None = None) -> pd.DataFrame:
    """Run MTCNN on ``frames_per_video`` uniformly sampled frames of every video.

    Returns one row per video with the frames tried and the frames with a face.
    """
    detector = detector or make_detector()
    rows = []
    for video in tqdm(manifest.itertuples(), total=len(manifest), desc="MTCNN", unit="video"):
        frames = read_frames(video.path, frames_per_video)
        boxes, _ = detector.detect(list(frames))
        rows.append(
            {
                "dataset": video.dataset, "domain": getattr(video, "domain", ""),
                "method": video.method, "video_id": video.video_id, "label": video.label,
                "frames": len(frames), "faces": int(sum(b is not None for b in boxes)),
            }
        )
    return pd.DataFrame(rows)


def rate_table(per_video: pd.DataFrame, by: list[str]) -> pd.DataFrame:
    """Share of sampled frames with a detected face, per group."""
    grouped = per_video.groupby(by)[["faces", "frames"]].sum()
    grouped["face rate"] = grouped["faces"] / grouped["frames"]
    return grouped.reset_index()
