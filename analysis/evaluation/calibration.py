"""Calibration of detector scores on the source domain's validation videos.

Every member of an ensemble is put on one probability scale before scores are averaged
or thresholded (DESIGN rule 13), with **Platt scaling** (Platt 1999): a logistic map
``p = 1 / (1 + exp(-(a * x + b)))`` of the member's logit (classifiers) or raw score
(one-class scorers, whose distances and errors are not probabilities). Platt rather than
temperature scaling because temperature scaling has no intercept: it cannot undo the
shift that class-weighted training puts into a classifier's outputs (the loss weights
the classes 50/50, the validation set holds one real per four fakes), and it cannot map
a one-class distance at all. Two parameters are few enough for a validation set of a few
dozen videos, and Platt's smoothed targets, ``(N+ + 1) / (N+ + 2)`` and ``1 / (N- + 2)``,
keep the slope finite when validation is perfectly separated.

Calibration is judged by reliability diagrams and the expected calibration error (ECE)
on held-out videos (the test sets), never on the validation videos it was fitted on.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy.optimize import minimize
from scipy.special import expit, logit

from analysis.errors import NotFittedError

EPSILON = 1e-6  # probabilities are clipped to [EPSILON, 1 - EPSILON] before the logit
N_BINS = 10


def _features(scores: np.ndarray, probabilities: bool) -> np.ndarray:
    scores = np.asarray(scores, float)
    return logit(np.clip(scores, EPSILON, 1 - EPSILON)) if probabilities else scores


@dataclass
class PlattScaler:
    """A fitted logistic map from one detector's score to a fake probability.

    ``probabilities``: the scores are already probabilities (a classifier's softmax), so
    the map acts on their logit; otherwise on the raw score (a one-class scorer)."""

    probabilities: bool = True
    slope_: float = field(default=np.nan, init=False)
    intercept_: float = field(default=np.nan, init=False)

    def fit(self, scores: np.ndarray, labels: np.ndarray) -> "PlattScaler":
        x, y = _features(scores, self.probabilities), np.asarray(labels).astype(int)
        if x.shape != y.shape or len(x) == 0:
            raise ValueError(f"scores and labels must be two equal-length 1-d arrays, got {x.shape} and {y.shape}.")
        n_fake, n_real = int(y.sum()), int((1 - y).sum())
        if not n_fake or not n_real:
            raise ValueError("calibration needs real and fake validation videos; got only one class.")
        target = np.where(y == 1, (n_fake + 1) / (n_fake + 2), 1 / (n_real + 2))
        centre, scale = float(np.mean(x)), float(np.std(x)) or 1.0
        z = (x - centre) / scale  # fit on a standard scale, then undo it

        def loss(params):  # cross-entropy against Platt's targets, and its gradient
            margin = params[0] * z + params[1]
            value = np.sum(np.logaddexp(0, margin) - target * margin)
            residual = expit(margin) - target
            return value, np.array([residual @ z, residual.sum()])

        a, b = minimize(loss, np.zeros(2), jac=True, method="BFGS").x
        self.slope_, self.intercept_ = float(a / scale), float(b - a * centre / scale)
        return self

    def transform(self, scores: np.ndarray) -> np.ndarray:
        if np.isnan(self.slope_):
            raise NotFittedError("This PlattScaler instance is not fitted yet. Call 'fit' with validation scores first.")
        return expit(self.slope_ * _features(scores, self.probabilities) + self.intercept_)


def reliability_table(labels: np.ndarray, probabilities: np.ndarray, n_bins: int = N_BINS) -> pd.DataFrame:
    """Equal-width probability bins: videos, mean predicted probability and observed
    share of fakes per non-empty bin (the points of a reliability diagram)."""
    p, y = np.asarray(probabilities, float), np.asarray(labels).astype(int)
    if not 0 <= p.min() <= p.max() <= 1:
        raise ValueError(f"probabilities must lie in [0, 1], got [{p.min():.3g}, {p.max():.3g}]: calibrate first.")
    bins = np.minimum((p * n_bins).astype(int), n_bins - 1)
    table = pd.DataFrame({"bin": bins, "p": p, "y": y}).groupby("bin").agg(
        videos=("y", "size"), predicted=("p", "mean"), observed=("y", "mean")).reset_index()
    return table


def expected_calibration_error(labels: np.ndarray, probabilities: np.ndarray, n_bins: int = N_BINS) -> float:
    """ECE: the video-weighted mean gap between predicted and observed fake rates over
    equal-width bins (Naeini et al. 2015)."""
    table = reliability_table(labels, probabilities, n_bins)
    return float(np.sum(table["videos"] * (table["predicted"] - table["observed"]).abs()) / table["videos"].sum())
