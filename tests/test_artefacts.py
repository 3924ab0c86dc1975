"""The artefact measures on hand-made videos with known answers."""

import numpy as np
import pytest

from analysis.benchmark.artefacts import difference_maps, temporal_variation


def test_constant_change_has_no_temporal_variation():
    real = np.zeros((5, 4, 4, 3))
    fake = real.copy()
    fake[:, 1:3, 1:3] = 0.5
    assert temporal_variation(real, fake) == 0.0
    maps = difference_maps(real, fake)
    assert maps.shape == (5, 4, 4) and maps[:, 1, 1].tolist() == [0.5] * 5 and maps[:, 0, 0].sum() == 0


def test_alternating_change_varies_fully():
    real = np.zeros((4, 2, 2, 3))
    fake = real.copy()
    fake[::2] = 1.0  # on, off, on, off: every step changes by 1, mean size 0.5
    assert temporal_variation(real, fake) == pytest.approx(2.0)


def test_shape_mismatch_is_refused():
    with pytest.raises(ValueError, match="differ in shape"):
        difference_maps(np.zeros((2, 4, 4, 3)), np.zeros((3, 4, 4, 3)))


def test_crop_side_counts_the_margin_in_output_pixels():
    from analysis.benchmark.artefacts import _crop_side_px
    from analysis.preprocess.face_detect import margin_for

    box = np.array([10.0, 20.0, 70.0, 90.0])  # 60 x 70 px: the longer side sets the square
    for size in (32, 64):
        side = _crop_side_px(box, size)
        assert side == pytest.approx(70 * size / (size - margin_for(size)))
        assert size / side < size / 70  # the margin makes the face's own scale smaller
