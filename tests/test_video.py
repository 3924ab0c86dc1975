"""Frame sampling and the video round trip."""

import numpy as np

from analysis.preprocess.video import read_frames, read_video, sample_indices, write_video


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
