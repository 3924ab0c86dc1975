"""Reading and writing video files with PyAV."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import av
import numpy as np


def write_video(path: Path, frames: np.ndarray, *, fps: int, crf: int) -> Path:
    """Encode ``frames`` (T, H, W, 3 uint8 RGB) as H.264 at a constant rate factor.

    One encoder thread and no macroblock-tree rate control keep the bitstream identical
    from run to run: with mbtree on, this libx264 build gave different bytes for the same
    frames in about one run in three (measured while fixing the benchmark generator).
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    height, width = frames.shape[1:3]
    with av.open(str(path), mode="w") as container:
        stream = container.add_stream("libx264", rate=fps)
        stream.width, stream.height = width, height
        stream.pix_fmt = "yuv420p"
        stream.options = {"crf": str(crf), "preset": "medium", "threads": "1", "x264-params": "no-mbtree=1"}
        stream.thread_count = 1
        for frame in frames:
            container.mux(stream.encode(av.VideoFrame.from_ndarray(frame, format="rgb24")))
        container.mux(stream.encode())
    return path


def upright(frame: av.VideoFrame) -> np.ndarray:
    """A decoded frame as (H, W, 3) uint8 RGB, turned as a player shows it: phones store a
    portrait video sideways with a display rotation (counter-clockwise degrees, a multiple
    of 90), which MTCNN, searching for upright faces, would otherwise read lying down."""
    pixels = frame.to_ndarray(format="rgb24")
    quarter_turns = round(frame.rotation / 90) % 4
    return np.ascontiguousarray(np.rot90(pixels, quarter_turns)) if quarter_turns else pixels


def read_video(path: Path) -> np.ndarray:
    """Decode every frame of a video, upright, as (T, H, W, 3) uint8 RGB."""
    with av.open(str(path)) as container:
        return np.stack([upright(f) for f in container.decode(video=0)])


def sample_indices(n_frames: int, k: int) -> np.ndarray:
    """``k`` frame indices spread uniformly over the whole video (``np.linspace``).

    A video shorter than ``k`` frames gives each of its frames once, in order.
    """
    if n_frames <= 0:
        return np.zeros(0, dtype=int)
    return np.unique(np.linspace(0, n_frames - 1, min(k, n_frames)).round().astype(int))


class NoVideoStream(ValueError):
    """The file holds no video stream (an audio file, say): nothing to sample."""


def frame_times(path: Path) -> np.ndarray:
    """Presentation times (seconds, ascending) of every frame, read from the packets
    without decoding them. A raw stream (an .h264 file from a camera) stamps no packet; a
    file with any unstamped packet has its frames taken as evenly spaced, in order."""
    with av.open(str(path)) as container:
        if not container.streams.video:
            raise NoVideoStream("the file has no video stream")
        stream = container.streams.video[0]
        packets = [p.pts for p in container.demux(stream) if p.size > 0]
        if any(pts is None for pts in packets):
            return np.arange(len(packets), dtype=np.float64)
        return np.sort(np.asarray(packets, dtype=np.float64)) * float(stream.time_base or 1)


def declared_frames(path: Path, counted_only: bool = False) -> int:
    """The frames the file's header declares (its frame count, else, unless
    ``counted_only``, duration x frame rate, an estimate); 0 when it declares neither. A
    file cut short lists fewer frames than this."""
    with av.open(str(path)) as container:
        if not container.streams.video:
            return 0
        stream = container.streams.video[0]
        if stream.frames or counted_only:
            return int(stream.frames)
        seconds = float(stream.duration * stream.time_base) if stream.duration and stream.time_base else (
            container.duration / av.time_base if container.duration else 0.0)
        return int(round(seconds * float(stream.average_rate or 0)))


def time_uniform_indices(times: np.ndarray, k: int) -> np.ndarray:
    """Indices of the frames nearest to ``k`` instants spread uniformly (``np.linspace``)
    from the first to the last frame's time. With a constant frame rate this equals
    :func:`sample_indices`; with a variable one it stays uniform in time, not in frames.
    Where a gap in time (a first frame stamped seconds before the rest) would give two
    instants one frame, the frames are spread uniformly instead, so ``k`` are still kept."""
    if len(times) == 0:
        return np.zeros(0, dtype=int)
    wanted = min(k, len(times))
    targets = np.linspace(times[0], times[-1], wanted)
    nearest = np.unique(np.abs(times[None, :] - targets[:, None]).argmin(axis=1))
    return nearest if len(nearest) == wanted else sample_indices(len(times), k)


@dataclass
class SampledFrames:
    """Frames kept from one video, with what it took to get them."""

    frames: np.ndarray  # (k, H, W, 3) uint8 RGB
    indices: np.ndarray  # their positions among the video's frames
    frames_in_video: int  # frames the container lists
    frames_decoded: int  # frames actually decoded before the end or an error
    error: str = ""  # decoding stopped early because of this, if anything


def error_words(err: Exception) -> str:
    """An error's message without the error number FFmpeg's errors carry as an errno."""
    return getattr(err, "strerror", None) or str(err)


def sample_frames(path: Path, k: int) -> SampledFrames:
    """Decode a video once, front to back, keeping ``k`` frames spread uniformly in time.

    No seeking, so no keyframe rounding. Videos shorter than ``k`` frames give all their
    frames. A decoding error after some frames keeps the frames decoded so far and
    records the error; a file that yields no frame at all raises ``ValueError``.
    """
    return sample_frame_sets(path, (k,))[0]


def sample_frame_sets(path: Path, counts: tuple[int, ...]) -> list[SampledFrames]:
    """:func:`sample_frames` for several uniform samplings of one video (such as 16 and 20
    frames), each evenly spaced on its own, from one decoding pass."""
    times = frame_times(path)
    if len(times) == 0:
        raise ValueError("the video stream holds no frames")
    wanted = [time_uniform_indices(times, k) for k in counts]
    union = np.unique(np.concatenate(wanted))
    keep, decoded, error = {}, 0, ""
    with av.open(str(path)) as container:
        try:
            for decoded, frame in enumerate(container.decode(video=0), start=1):
                if decoded - 1 in union:
                    keep[decoded - 1] = upright(frame)
                if decoded - 1 >= union[-1]:
                    break
        except av.error.FFmpegError as err:
            error = f"decoding stopped after {decoded} frames: {error_words(err)}"
    if not keep:
        raise ValueError(error or "the file holds no decodable video frame")
    sets = []
    for indices in wanted:  # every sampling starts at frame 0, which was decoded: none is empty
        kept = np.array([i for i in indices if i in keep], dtype=int)
        sets.append(SampledFrames(np.stack([keep[i] for i in kept]), kept, len(times), decoded, error))
    return sets


def read_frames(path: Path, k: int) -> np.ndarray:
    """``k`` frames spread uniformly over a video, (k, H, W, 3) uint8 RGB."""
    return sample_frames(path, k).frames
