"""Platt scaling on validation, and the calibration measures."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.special import expit

from analysis.errors import NotFittedError
from analysis.evaluation import calibration


def logistic_sample(rng, n, slope, intercept):
    """Scores x with P(fake | x) = expit(slope * x + intercept) exactly."""
    x = rng.normal(0, 1.5, n)
    return x, (rng.random(n) < expit(slope * x + intercept)).astype(int)


def test_platt_recovers_a_known_logistic_map_of_raw_scores():
    rng = np.random.default_rng(0)
    x, y = logistic_sample(rng, 20000, slope=2.0, intercept=-0.5)
    fitted = calibration.PlattScaler(probabilities=False).fit(x, y)
    assert fitted.slope_ == pytest.approx(2.0, rel=0.05)
    assert fitted.intercept_ == pytest.approx(-0.5, abs=0.05)


def test_overconfident_and_shifted_probabilities_get_calibrated_on_held_out_videos():
    # a classifier whose logit is 3x too large and shifted by +2 (class-weighted training
    # on a 1:4 set): temperature alone could not undo the shift
    rng = np.random.default_rng(1)
    x, y = logistic_sample(rng, 6000, slope=1.0, intercept=0.0)
    raw = expit(3 * x + 2)
    fitted = calibration.PlattScaler().fit(raw[:3000], y[:3000])
    before = calibration.expected_calibration_error(y[3000:], raw[3000:])
    after = calibration.expected_calibration_error(y[3000:], fitted.transform(raw[3000:]))
    assert after < 0.03 < 0.1 < before
    assert np.all(np.diff(fitted.transform(np.sort(raw))) >= 0)  # monotone: AUC unchanged


def test_perfectly_separated_validation_keeps_a_finite_map():
    scores = np.array([0.1, 0.2, 0.3, 0.7, 0.8, 0.9])
    fitted = calibration.PlattScaler().fit(scores, np.array([0, 0, 0, 1, 1, 1]))
    assert np.isfinite(fitted.slope_)
    p = fitted.transform(scores)
    assert 0 < p.min() and p.max() < 1  # Platt's targets stop at (N+1)/(N+2)


def test_reliability_table_and_ece_on_counted_bins():
    labels = np.array([0, 0, 1, 1, 1])
    probabilities = np.array([0.05, 0.15, 0.95, 0.95, 0.55])
    table = calibration.reliability_table(labels, probabilities, n_bins=2)
    assert table["videos"].tolist() == [2, 3]
    assert table["observed"].tolist() == [0.0, 1.0]
    # bin 0: |0.10 - 0| * 2, bin 1: |0.8167 - 1| * 3, over 5 videos
    assert calibration.expected_calibration_error(labels, probabilities, n_bins=2) == pytest.approx(
        (0.1 * 2 + (1 - 2.45 / 3) * 3) / 5)


def test_errors_name_the_problem():
    with pytest.raises(NotFittedError, match="not fitted"):
        calibration.PlattScaler().transform(np.array([0.5]))
    with pytest.raises(ValueError, match="only one class"):
        calibration.PlattScaler().fit(np.array([0.1, 0.2]), np.array([1, 1]))
    with pytest.raises(ValueError, match="calibrate first"):
        calibration.reliability_table(np.array([0, 1]), np.array([-0.5, 2.0]))
