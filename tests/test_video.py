"""Frame sampling and the video round trip."""

from fractions import Fraction

import av
import numpy as np
import pytest

from analysis.preprocess.video import (
    read_frames, read_video, sample_frame_sets, sample_frames, sample_indices, write_video,
)


def test_sample_indices_cover_the_whole_video():
    assert sample_indices(100, 5).tolist() == [0, 25, 50, 74, 99]
    assert sample_indices(3, 8).tolist() == [0, 1, 2]  # shorter than asked: every frame once
    assert sample_indices(0, 4).tolist() == []


def test_write_then_read_keeps_size_and_count(tmp_path):
    frames = np.zeros((7, 48, 64, 3), np.uint8)
    frames[:, :, :32] = 200
    path = write_video(tmp_path / "v.mp4", frames, fps=5, crf=18)
    back = read_video(path)
    assert back.shape == frames.shape
    assert np.abs(back.astype(int) - frames).mean() < 3
    assert read_frames(path, 3).shape == (3, 48, 64, 3)


def test_two_samplings_from_one_pass_are_each_evenly_spaced(tmp_path):
    """Card 000's 16 frames and card 003's 20 from one decoding: each sampling is the
    np.linspace of its own count (not 16 of the 20 at uneven steps), and its frames are
    those a sampling of that count alone gives."""
    rng = np.random.default_rng(0)
    frames = rng.integers(0, 255, (80, 32, 32, 3), dtype=np.uint8)
    path = write_video(tmp_path / "v.mp4", frames, fps=25, crf=18)
    sixteen, twenty = sample_frame_sets(path, (16, 20))
    assert sixteen.indices.tolist() == sample_indices(80, 16).tolist()
    assert twenty.indices.tolist() == sample_indices(80, 20).tolist()
    assert len(set(np.diff(twenty.indices))) <= 2  # steps of 4 or 5 (79 / 19 = 4.2), never 1 beside 2
    np.testing.assert_array_equal(sixteen.frames, sample_frames(path, 16).frames)
    np.testing.assert_array_equal(twenty.frames, sample_frames(path, 20).frames)


def _stored_sideways(path, frames, rotation):
    """``frames`` written as a phone writes a portrait: the pixels turned, and a display
    rotation (counter-clockwise degrees) that turns them back for the player."""
    stored = np.rot90(frames, -round(rotation / 90), axes=(1, 2))
    with av.open(str(path), "w") as container:
        stream = container.add_stream("libx264", rate=5)
        stream.height, stream.width = stored.shape[1:3]
        stream.pix_fmt, stream.options = "yuv420p", {"crf": "12"}
        stream.set_display_rotation(rotation)
        for frame in stored:
            container.mux(stream.encode(av.VideoFrame.from_ndarray(np.ascontiguousarray(frame), format="rgb24")))
        container.mux(stream.encode())
    return path


@pytest.mark.skipif(not hasattr(av.video.stream.VideoStream, "set_display_rotation"),
                    reason="this PyAV cannot write a display rotation (the lock's 18.1 can)")
def test_a_video_stored_sideways_with_a_display_rotation_is_read_upright(tmp_path):
    frames = np.zeros((6, 48, 64, 3), np.uint8)
    frames[:, :16, :16] = 255  # a bright top-left corner on a landscape picture
    for rotation in (-90, 90, 180):  # -90: a phone portrait, turned a quarter clockwise to show
        path = _stored_sideways(tmp_path / f"r{rotation}.mp4", frames, rotation)
        with av.open(str(path)) as container:
            assert next(container.decode(video=0)).rotation % 360 == rotation % 360
        back = read_video(path)
        assert back.shape == frames.shape
        assert np.abs(back.astype(int) - frames).mean() < 3
        np.testing.assert_allclose(read_frames(path, 3), back[[0, 2, 5]], atol=0)
    assert read_video(write_video(tmp_path / "plain.mp4", frames, fps=5, crf=18)).shape == frames.shape


def _encoded(path, frames, *, container_format=None, stamps=None):
    """``frames`` encoded with H.264, in ``container_format`` (a raw ``h264`` stream stamps
    no packet), at the presentation ``stamps`` (in 1/30 s) if given."""
    with av.open(str(path), "w", format=container_format) as container:
        stream = container.add_stream("libx264", rate=30)
        stream.height, stream.width = frames.shape[1:3]
        stream.pix_fmt = "yuv420p"
        stream.codec_context.time_base = Fraction(1, 30)
        for index, array in enumerate(frames):
            frame = av.VideoFrame.from_ndarray(array, format="rgb24")
            if stamps is not None:
                frame.pts, frame.time_base = stamps[index], Fraction(1, 30)
            container.mux(stream.encode(frame))
        container.mux(stream.encode())
    return path


def _numbered(n):
    """Frames whose brightness tells their index (20 per frame)."""
    return np.repeat(np.arange(n, dtype=np.uint8)[:, None, None, None] * 20, 32, axis=1).repeat(32, 2).repeat(3, 3)


def test_a_raw_stream_without_timestamps_is_sampled_by_frame_count(tmp_path):
    """A camera's .h264 file stamps no packet; its frames were all dropped as unstamped."""
    path = _encoded(tmp_path / "camera.h264", _numbered(12), container_format="h264")
    sampled = sample_frames(path, 4)
    assert sampled.frames_in_video == 12 and sampled.indices.tolist() == sample_indices(12, 4).tolist()
    np.testing.assert_allclose(sampled.frames[:, 0, 0, 0], sampled.indices * 20, atol=6)


def test_a_gap_in_time_still_gives_as_many_distinct_frames_as_asked(tmp_path):
    """The first frame stamped 5 s before the other eleven: eight instants spread in time
    fell on three frames, and the file was then reported cut short."""
    path = _encoded(tmp_path / "gap.mp4", _numbered(12), stamps=[0, *range(151, 162)])
    sampled = sample_frames(path, 8)
    assert sampled.indices.tolist() == sample_indices(12, 8).tolist()
    np.testing.assert_allclose(sampled.frames[:, 0, 0, 0], sampled.indices * 20, atol=6)
    assert sample_frames(_encoded(tmp_path / "even.mp4", _numbered(12)), 4).indices.tolist() == [0, 4, 7, 11]
