"""Face detection with facenet-pytorch's MTCNN, as the model cards' preprocessing uses it."""

from __future__ import annotations

import cv2
import numpy as np
import pandas as pd
import torch
from facenet_pytorch import MTCNN  # its tqdm.auto warning is silenced in analysis/__init__.py
from facenet_pytorch.models.utils.detect_face import extract_face
from tqdm import tqdm

from analysis.preprocess.video import read_frames


def make_detector(device: str | torch.device = "cpu") -> MTCNN:
    """MTCNN with its default thresholds, keeping the largest face (the seeds' settings),
    its three networks' weights in channels-last memory order.

    Why: on a CPU most of the crop cache's time is MTCNN's many small candidate crops.
    Alone, on one thread and the cpu benchmark's 144 px frames, channels-last networks
    took 64-74 ms a video of 8 frames against 70-91 for a channels-last max pooling
    wrapped around facenet-pytorch's order; in the whole crop-cache stage on two processes
    no difference was measurable (0.103 against 0.102 s a video), and one conversion is
    simpler than the wrapper. The convolutions' sums round differently,
    so a box moves by at most about 1e-5 px; on the 2,748 videos of the cpu benchmark every
    face crop, clip crop and flow midpoint was the same bits (tests/test_preprocess.py
    compares with MTCNN as shipped)."""
    detector = MTCNN(select_largest=True, keep_all=False, device=device)
    for net in (detector.pnet, detector.rnet, detector.onet):
        net.to(memory_format=torch.channels_last)
    return detector


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


MARGIN_AT_224 = 20  # the seeds' MTCNN margin, in pixels of a 224 px crop
DETECT_MAX_SIDE = 640  # larger frames are downscaled for detection, boxes mapped back


BOX_WINDOW = 9  # sampled frames a crop box is averaged over (smooth_boxes)
BOX_TOLERANCE = 0.2  # of a box's side: a neighbour's centre further away is a real move


def margin_for(crop_size: int) -> int:
    """The seeds' margin scaled to a crop size, so every profile frames the face alike."""
    return round(MARGIN_AT_224 * crop_size / 224)


def too_small_to_search(height: int, width: int, detector: MTCNN, max_side: int = DETECT_MAX_SIDE) -> bool:
    """Whether a frame, downscaled as :func:`detect_boxes` does, is shorter than MTCNN's
    smallest face: its image pyramid then has no scale (facenet-pytorch fails inside
    torch.cat, OpenCV on a side rounded to 0 px) and no face of that size can be found."""
    scale = min(1.0, max_side / max(height, width))
    return min(round(height * scale), round(width * scale)) < getattr(detector, "min_face_size", 0)


def detect_boxes(detector: MTCNN, frames: np.ndarray, max_side: int = DETECT_MAX_SIDE) -> tuple[np.ndarray, np.ndarray]:
    """Largest-face box ``(x0, y0, x1, y1)`` per frame in full-resolution pixels, and
    MTCNN's probability that the box is a face; NaN where it finds no face. All frames go
    through MTCNN in one batch, downscaled so the longer side is at most ``max_side``."""
    h, w = frames.shape[1:3]
    scale = min(1.0, max_side / max(h, w))
    boxes, probs = np.full((len(frames), 4), np.nan), np.full(len(frames), np.nan)
    if too_small_to_search(h, w, detector, max_side):
        return boxes, probs
    small = frames if scale == 1.0 else np.stack(
        [cv2.resize(f, (round(w * scale), round(h * scale)), interpolation=cv2.INTER_AREA) for f in frames]
    )
    # MTCNN turns its (N, H, W, 3) batch into (N, 3, H, W) float; handed over already in that
    # memory order, its resizes of the pyramid and of every candidate read contiguous rows:
    # 3-11 % less time, the same boxes and probabilities to the bit (275 cpu benchmark videos)
    planar = torch.from_numpy(np.ascontiguousarray(small)).permute(0, 3, 1, 2).float().contiguous()
    found, found_probs = detector.detect(planar.permute(0, 2, 3, 1))
    for i, (box, prob) in enumerate(zip(found, found_probs)):
        if box is not None:  # select_largest sorts boxes and probabilities alike: the first is the largest
            boxes[i], probs[i] = np.asarray(box)[0] / scale, np.asarray(prob)[0]
    return boxes, probs


def fill_missing_boxes(boxes: np.ndarray, frame_shape: tuple[int, int]) -> tuple[np.ndarray, np.ndarray]:
    """Fallback for frames without a face: the box of the nearest frame (in sampling
    order) that has one; if no frame has a face, a centred square of the shorter side.

    Returns the filled boxes and a mask of the frames that used the fallback.
    """
    missing = np.isnan(boxes).any(axis=1)
    filled = boxes.copy()
    found = np.flatnonzero(~missing)
    if found.size == 0:
        h, w = frame_shape
        side = min(h, w)
        filled[:] = [(w - side) / 2, (h - side) / 2, (w + side) / 2, (h + side) / 2]
        return filled, missing
    for i in np.flatnonzero(missing):
        filled[i] = boxes[found[np.abs(found - i).argmin()]]
    return filled, missing


def smooth_boxes(boxes: np.ndarray, window: int = BOX_WINDOW, tolerance: float = BOX_TOLERANCE) -> np.ndarray:
    """Each box averaged with the boxes of a centred window of ``window`` sampled frames
    (fewer at the ends) whose centres lie within ``tolerance`` of its side, so a crop
    follows the head but not the detector.

    Why: MTCNN's box shakes by a few pixels from frame to frame even when the head is
    still (the preprocessing chapter measures it), as much as the alignment error of the
    face swap the temporal view should see; per-frame crops would put that shake into
    every clip, real or fake. A larger move (a turn of the head, a cut) is followed.
    """
    half = window // 2
    centres = (boxes[:, :2] + boxes[:, 2:]) / 2
    sides = np.maximum(boxes[:, 2] - boxes[:, 0], boxes[:, 3] - boxes[:, 1])
    smoothed = np.empty_like(boxes, dtype=float)
    for i in range(len(boxes)):
        near = np.arange(max(0, i - half), min(len(boxes), i + half + 1))
        near = near[np.linalg.norm(centres[near] - centres[i], axis=1) <= tolerance * sides[i]]
        smoothed[i] = boxes[near].mean(axis=0)
    return smoothed


def box_step(boxes: np.ndarray) -> float:
    """Mean distance in pixels that a box's centre moves from one sampled frame to the
    next (NaN for a single frame): how much a crop moves inside a clip."""
    if len(boxes) < 2:
        return float("nan")
    centres = (boxes[:, :2] + boxes[:, 2:]) / 2
    return float(np.linalg.norm(np.diff(centres, axis=0), axis=1).mean())


def crop_face(frame: np.ndarray, box: np.ndarray, size: int) -> np.ndarray:
    """Square face crop with the seeds' margin (facenet-pytorch's ``extract_face``), uint8."""
    face = extract_face(frame, box, image_size=size, margin=margin_for(size))
    return face.permute(1, 2, 0).round().clamp(0, 255).to(torch.uint8).numpy()
