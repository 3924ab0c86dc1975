"""Frame sampling and the video round trip."""

import numpy as np

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
