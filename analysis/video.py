"""Reading and writing video files with PyAV."""

from __future__ import annotations

from pathlib import Path

import av
import numpy as np


def write_video(path: Path, frames: np.ndarray, *, fps: int, crf: int) -> Path:
    """Encode ``frames`` (T, H, W, 3 uint8 RGB) as H.264 at a constant rate factor.

    One encoder thread keeps the bitstream identical from run to run.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    height, width = frames.shape[1:3]
    with av.open(str(path), mode="w") as container:
        stream = container.add_stream("libx264", rate=fps)
        stream.width, stream.height = width, height
        stream.pix_fmt = "yuv420p"
        stream.options = {"crf": str(crf), "preset": "medium", "threads": "1"}
        stream.thread_count = 1
        for frame in frames:
            container.mux(stream.encode(av.VideoFrame.from_ndarray(frame, format="rgb24")))
        container.mux(stream.encode())
    return path


def read_video(path: Path) -> np.ndarray:
    """Decode every frame of a video as (T, H, W, 3) uint8 RGB."""
    with av.open(str(path)) as container:
        return np.stack([f.to_ndarray(format="rgb24") for f in container.decode(video=0)])


def sample_indices(n_frames: int, k: int) -> np.ndarray:
    """``k`` frame indices spread uniformly over the whole video (``np.linspace``).

    A video shorter than ``k`` frames gives each of its frames once, in order.
    """
    if n_frames <= 0:
        return np.zeros(0, dtype=int)
    return np.unique(np.linspace(0, n_frames - 1, min(k, n_frames)).round().astype(int))


def read_frames(path: Path, k: int) -> np.ndarray:
    """Decode a video and keep ``k`` uniformly sampled frames, (k, H, W, 3) uint8 RGB."""
    frames = read_video(path)
    return frames[sample_indices(len(frames), k)]
