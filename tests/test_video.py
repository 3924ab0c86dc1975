"""Frame sampling and the video round trip."""

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
