"""Confidence intervals by stratified bootstrap over videos.

A resample draws, with replacement, as many real videos from the reals and as many fake
videos from the fakes as the evaluation set holds, so every resample has both classes
and the class balance of the original. All models are evaluated on the **same**
resamples (a paired bootstrap), so the interval of a difference between two models, or
between two gaps, accounts for their shared test videos. The in-domain and cross-domain
test sets are resampled independently: they are different videos. Intervals are
percentile intervals; the point estimate is the value on the original data.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy.stats import rankdata
from sklearn.metrics import roc_auc_score

N_RESAMPLES = 1000
LEVEL = 0.95


@dataclass(frozen=True)
class Interval:
    estimate: float
    low: float
    high: float

    def __str__(self) -> str:
        return f"{self.estimate:.3f} [{self.low:.3f}, {self.high:.3f}]"


def stratified_indices(labels: np.ndarray, n_resamples: int, rng: np.random.Generator) -> np.ndarray:
    """``(n_resamples, n)`` row indices; each row keeps the number of reals and fakes."""
    labels = np.asarray(labels)
    columns = []
    for cls in (0, 1):
        members = np.flatnonzero(labels == cls)
        if members.size == 0:
            raise ValueError("a stratified bootstrap of an AUC needs both real and fake videos")
        columns.append(members[rng.integers(0, members.size, (n_resamples, members.size))])
    return np.concatenate(columns, axis=1)


def resampled_auc(scores: np.ndarray, labels: np.ndarray, indices: np.ndarray) -> np.ndarray:
    """ROC AUC of every resample at once (Mann-Whitney U from mid-ranks, ties count 1/2)."""
    scores, labels = np.asarray(scores, float), np.asarray(labels)
    picked, fake = scores[indices], labels[indices] == 1
    ranks = rankdata(picked, axis=1)
    n_fake = fake.sum(axis=1)
    n_real = fake.shape[1] - n_fake
    return ((ranks * fake).sum(axis=1) - n_fake * (n_fake + 1) / 2) / (n_fake * n_real)


def interval(estimate: float, samples: np.ndarray, level: float = LEVEL) -> Interval:
    tail = (1 - level) / 2 * 100
    low, high = np.percentile(samples, [tail, 100 - tail])
    return Interval(float(estimate), float(low), float(high))


def auc_interval(scores: np.ndarray, labels: np.ndarray, n_resamples: int = N_RESAMPLES, seed: int = 0) -> Interval:
    """One AUC with its stratified-bootstrap interval."""
    indices = stratified_indices(labels, n_resamples, np.random.default_rng(seed))
    return interval(roc_auc_score(labels, scores), resampled_auc(scores, labels, indices))


def paired_aucs(wide: pd.DataFrame, n_resamples: int = N_RESAMPLES, seed: int = 0) -> tuple[pd.Series, pd.DataFrame]:
    """AUC of every column of a wide table (one row per video, ``label`` in the index) on
    the original data and on ``n_resamples`` shared stratified resamples."""
    labels = wide.index.get_level_values("label").to_numpy().astype(int)
    indices = stratified_indices(labels, n_resamples, np.random.default_rng(seed))
    estimates = pd.Series({c: roc_auc_score(labels, wide[c]) for c in wide.columns})
    samples = pd.DataFrame({c: resampled_auc(wide[c].to_numpy(), labels, indices) for c in wide.columns})
    return estimates, samples


@dataclass
class GapBootstrap:
    """In-domain and cross-domain AUCs of many models or ensembles, resampled together."""

    in_domain: pd.Series
    cross_domain: pd.Series
    in_samples: pd.DataFrame
    cross_samples: pd.DataFrame

    @classmethod
    def fit(cls, in_domain: pd.DataFrame, cross_domain: pd.DataFrame, n_resamples: int = N_RESAMPLES,
            seed: int = 0) -> "GapBootstrap":
        """``in_domain`` and ``cross_domain``: wide test-set tables with the same columns."""
        in_est, in_samples = paired_aucs(in_domain, n_resamples, seed)
        cross_est, cross_samples = paired_aucs(cross_domain, n_resamples, seed + 1)
        return cls(in_est, cross_est, in_samples, cross_samples)

    def gap(self, name: str) -> Interval:
        """In-domain AUC minus cross-domain AUC."""
        return interval(self.in_domain[name] - self.cross_domain[name],
                        self.in_samples[name] - self.cross_samples[name])

    def gap_difference(self, name: str, reference: str) -> Interval:
        """Gap of ``name`` minus gap of ``reference`` (negative: ``name`` shrinks the gap)."""
        point = (self.in_domain[name] - self.cross_domain[name]) - (self.in_domain[reference] - self.cross_domain[reference])
        samples = (self.in_samples[name] - self.cross_samples[name]) - (self.in_samples[reference] - self.cross_samples[reference])
        return interval(point, samples)

    def auc(self, name: str, domain: str) -> Interval:
        if domain == "in":
            return interval(self.in_domain[name], self.in_samples[name])
        return interval(self.cross_domain[name], self.cross_samples[name])
