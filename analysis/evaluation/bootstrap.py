"""Confidence intervals by a stratified group bootstrap, paired across detectors.

Videos are not independent: every fake of the embedded benchmark is a composite of its
own source video (same scene, same camera noise), and FF++ and Celeb-DF videos share
identities. The independent unit is the **identity group** (a benchmark pair and every
video made from it; an FF++ identity component; a Celeb-DF celebrity), named by the
scores table's ``group`` column. A resample draws groups with replacement **within
strata by label**: groups holding only reals, only fakes, or both are redrawn among
their own kind, as many as the set holds, so every resample has both classes (and, for
groups of equal make-up, the set's numbers of reals and fakes). All columns (detectors
and ensembles) are evaluated on the same resamples, so intervals of differences are
paired; the in-domain and cross-domain test sets hold different groups and are resampled
independently. A resample is a vector of group counts, and every AUC is a weighted
Mann-Whitney statistic, so no video is copied.

Intervals are **BCa** (bias-corrected and accelerated, Efron 1987) with the acceleration
from a leave-one-group-out jackknife. Near AUC 1 the bootstrap distribution of an AUC is
bounded and skewed, and a percentile interval sits too close to the bound; BCa corrects
for bias and skew (it equals the percentile interval when there is neither). Where every
resample gives the same value (perfect separation in every resample) no method can say
more than the data, and the interval is that single value. Families of comparisons get
**max-T simultaneous** intervals (:meth:`GapBootstrap.simultaneous`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy.stats import norm

from analysis.evaluation.fixed_order import weighted_sum

N_RESAMPLES = 1000
LEVEL = 0.95
# Resamples this close to the estimate tie with it in the BCa bias correction: far above
# the rounding of a sum of AUCs (about 1e-16), far below an AUC's own resolution
# (1 / (reals x fakes), about 1e-6 on the largest test set).
TIE_TOLERANCE = 1e-12
GROUP, LABEL = "group", "label"
Weights = dict[str, float]  # a linear combination of columns: name -> coefficient


@dataclass(frozen=True)
class Interval:
    estimate: float
    low: float
    high: float

    def excludes(self, value: float) -> bool:
        return not self.low <= value <= self.high


def group_codes(groups) -> tuple[np.ndarray, int]:
    """Integer codes 0..G-1 of each row's group, and G."""
    codes, uniques = pd.factorize(pd.Series(groups).astype(str), sort=True)
    return codes, len(uniques)


def label_strata(labels: np.ndarray, codes: np.ndarray, n_groups: int) -> list[np.ndarray]:
    """Group codes split by make-up: only reals, only fakes, both."""
    labels = np.asarray(labels)
    has_real = np.bincount(codes[labels == 0], minlength=n_groups) > 0
    has_fake = np.bincount(codes[labels == 1], minlength=n_groups) > 0
    if not has_real.any() or not has_fake.any():
        raise ValueError("a bootstrap of an AUC needs both real and fake videos in the set")
    kinds = (has_real & ~has_fake, ~has_real & has_fake, has_real & has_fake)
    return [np.flatnonzero(kind) for kind in kinds if kind.any()]


def resample_counts(strata: list[np.ndarray], n_groups: int, n_resamples: int,
                    rng: np.random.Generator) -> np.ndarray:
    """``(n_resamples, n_groups)``: how often each group is drawn; each stratum keeps its
    number of groups."""
    if n_resamples < 1:
        raise ValueError(f"n_resamples == {n_resamples}, must be >= 1.")
    counts = np.zeros((n_resamples, n_groups), dtype=np.int32)
    rows = np.arange(n_resamples)[:, None]
    for members in strata:
        drawn = members[rng.integers(0, members.size, (n_resamples, members.size))]
        np.add.at(counts, (np.broadcast_to(rows, drawn.shape), drawn), 1)
    return counts


def weighted_auc(scores: np.ndarray, labels: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """ROC AUC (Mann-Whitney, ties count 1/2) under each row of ``weights`` (k, n): a
    video of weight w counts as w copies of itself."""
    scores, labels = np.asarray(scores, float), np.asarray(labels)
    order = np.argsort(scores, kind="stable")
    ordered, fake = scores[order], labels[order] == 1
    w = np.asarray(weights, float)[:, order]
    real_w, fake_w = w * ~fake, w * fake
    below = np.concatenate([np.zeros((len(w), 1)), np.cumsum(real_w, axis=1)], axis=1)
    first = np.searchsorted(ordered, ordered, side="left")
    last = np.searchsorted(ordered, ordered, side="right")
    placement = below[:, first] + 0.5 * (below[:, last] - below[:, first])
    with np.errstate(invalid="ignore", divide="ignore"):
        return (fake_w * placement).sum(axis=1) / (fake_w.sum(axis=1) * real_w.sum(axis=1))


def auc(labels: np.ndarray, scores: np.ndarray) -> float:
    """ROC AUC of one set of scores (as scikit-learn's, without its input checks)."""
    scores = np.asarray(scores, float)
    return float(weighted_auc(scores, labels, np.ones((1, scores.size)))[0])


@dataclass
class SetBootstrap:
    """Every column's AUC on one evaluation set: on the data, on each resample of its
    groups, and with each group left out (the jackknife, for BCa)."""

    estimates: pd.Series
    samples: pd.DataFrame  # (n_resamples, columns)
    jackknife: pd.DataFrame  # (groups, columns)
    n_groups: int
    weights: np.ndarray  # (n_resamples, rows): how often each row of ``wide`` is in each resample

    @classmethod
    def fit(cls, wide: pd.DataFrame, n_resamples: int = N_RESAMPLES, seed: int = 0,
            row_weights: np.ndarray | None = None) -> "SetBootstrap":
        """``wide``: one row per video with ``label`` and ``group`` in its index, one
        column per detector. ``row_weights`` (one per row, default 1) make a video count as
        that many copies of itself in the data and in every resample: a standardised AUC
        (0 leaves a video out; the groups are still drawn as the whole set's)."""
        missing = [level for level in (LABEL, GROUP) if level not in wide.index.names]
        if missing:
            raise ValueError(f"the wide table's index lacks {missing}: it has {list(wide.index.names)}; "
                             "scores tables need a `group` column (the identity group of each video).")
        labels = wide.index.get_level_values(LABEL).to_numpy().astype(int)
        codes, n_groups = group_codes(wide.index.get_level_values(GROUP))
        counts = resample_counts(label_strata(labels, codes, n_groups), n_groups, n_resamples,
                                 np.random.default_rng(seed))
        base = np.ones(len(wide)) if row_weights is None else np.asarray(row_weights, float)
        if base.shape != (len(wide),) or (base < 0).any():
            raise ValueError(f"row_weights must be {len(wide)} non-negative numbers, one per row")
        resampled = counts[:, codes] * base
        left_out = (codes[None, :] != np.arange(n_groups)[:, None]) * base
        estimates, samples, jackknife = {}, {}, {}
        for column in wide.columns:
            values = wide[column].to_numpy(float)
            keep = ~np.isnan(values)
            x, y = values[keep], labels[keep]
            estimates[column] = float(weighted_auc(x, y, base[None, keep])[0])
            samples[column] = weighted_auc(x, y, resampled[:, keep])
            jackknife[column] = weighted_auc(x, y, left_out[:, keep])
        return cls(pd.Series(estimates), pd.DataFrame(samples), pd.DataFrame(jackknife), n_groups, resampled)

    def combine(self, weights: Weights) -> tuple[float, np.ndarray, np.ndarray]:
        """Estimate, resamples and jackknife values of a linear combination of columns."""
        names = list(weights)
        w = [weights[n] for n in names]
        return (float(weighted_sum(self.estimates[names].to_numpy(), w)),
                weighted_sum(self.samples[names].to_numpy(), w), weighted_sum(self.jackknife[names].to_numpy(), w))

    def interval(self, weights: Weights, level: float = LEVEL) -> Interval:
        """BCa interval of a linear combination of columns (a paired difference:
        ``{"a": 1, "b": -1}``)."""
        estimate, samples, jackknife = self.combine(weights)
        return bca_interval(estimate, samples, [_influence(jackknife)], level)


def _influence(jackknife: np.ndarray) -> np.ndarray:
    """Jackknife influence values ``(G - 1) (mean - value)`` of the groups that could be
    left out (a group whose removal leaves one class empty gives nan and is skipped)."""
    values = jackknife[~np.isnan(jackknife)]
    return (len(values) - 1) * (values.mean() - values) if len(values) > 1 else np.zeros(0)


def bca_interval(estimate: float, samples: np.ndarray, influence: list[np.ndarray],
                 level: float = LEVEL) -> Interval:
    """BCa interval from bootstrap ``samples`` and the jackknife ``influence`` values of
    each independently resampled set (acceleration: Efron and Tibshirani 1993, 14.15)."""
    samples = np.asarray(samples, float)
    if np.ptp(samples) <= TIE_TOLERANCE:
        return Interval(estimate, float(samples[0]), float(samples[0]))
    ties = np.abs(samples - estimate) <= TIE_TOLERANCE
    below = np.mean((samples < estimate) & ~ties) + 0.5 * np.mean(ties)
    z0 = norm.ppf(np.clip(below, 0.5 / len(samples), 1 - 0.5 / len(samples)))
    u = np.concatenate(influence) if influence else np.zeros(0)
    spread = np.sum(u**2)
    a = np.sum(u**3) / (6 * spread**1.5) if spread > 0 else 0.0
    tail = (1 - level) / 2
    ends = []
    for z in (norm.ppf(tail), norm.ppf(1 - tail)):
        ends.append(norm.cdf(z0 + (z0 + z) / (1 - a * (z0 + z))))
    low, high = np.quantile(samples, ends)
    return Interval(float(estimate), float(low), float(high))


def percentile_interval(estimate: float, samples: np.ndarray, level: float = LEVEL) -> Interval:
    tail = (1 - level) / 2
    low, high = np.quantile(samples, [tail, 1 - tail])
    return Interval(float(estimate), float(low), float(high))


def auc_interval(scores: np.ndarray, labels: np.ndarray, groups=None, n_resamples: int = N_RESAMPLES,
                 seed: int = 0, level: float = LEVEL) -> Interval:
    """One AUC with its BCa group-bootstrap interval (``groups`` default: each video its own)."""
    labels = np.asarray(labels).astype(int)
    groups = np.arange(len(labels)) if groups is None else np.asarray(groups)
    index = pd.MultiIndex.from_arrays([labels, groups], names=[LABEL, GROUP])
    boot = SetBootstrap.fit(pd.DataFrame({"auc": np.asarray(scores, float)}, index=index), n_resamples, seed)
    return boot.interval({"auc": 1.0}, level)


def _plus(*terms: tuple[float, Weights]) -> Weights:
    out: Weights = {}
    for scale, weights in terms:
        for name, w in weights.items():
            out[name] = out.get(name, 0.0) + scale * w
    return out


def as_weights(detector: str | Weights) -> Weights:
    """A column name, or a linear combination of columns (``mean_of(members)``)."""
    return {detector: 1.0} if isinstance(detector, str) else dict(detector)


def mean_of(names) -> Weights:
    """The mean of several columns: the mean member as a reference."""
    names = list(names)
    return {n: 1.0 / len(names) for n in names}


@dataclass
class GapBootstrap:
    """In-domain and cross-domain AUCs of many detectors, resampled together (paired
    within a set, independent between the two sets)."""

    in_domain: SetBootstrap
    cross_domain: SetBootstrap
    level: float = LEVEL

    @classmethod
    def fit(cls, in_domain: pd.DataFrame, cross_domain: pd.DataFrame, n_resamples: int = N_RESAMPLES,
            seed: int = 0, level: float = LEVEL, in_weights: np.ndarray | None = None,
            cross_weights: np.ndarray | None = None) -> "GapBootstrap":
        """``in_domain`` and ``cross_domain``: wide test-set tables with the same columns;
        ``in_weights``, ``cross_weights``: their row weights (:meth:`SetBootstrap.fit`)."""
        return cls(SetBootstrap.fit(in_domain, n_resamples, seed, in_weights),
                   SetBootstrap.fit(cross_domain, n_resamples, seed + 1, cross_weights), level)

    def contrast(self, in_weights: Weights, cross_weights: Weights) -> tuple[float, np.ndarray, list[np.ndarray]]:
        """Estimate, resamples and per-set jackknife influence of
        ``sum(in_weights * AUC_in) + sum(cross_weights * AUC_cross)``."""
        estimate, samples, influence = 0.0, 0.0, []
        for part, weights in ((self.in_domain, in_weights), (self.cross_domain, cross_weights)):
            if weights:
                e, s, j = part.combine(weights)
                estimate, samples = estimate + e, samples + s
                influence.append(_influence(j))
        return estimate, np.asarray(samples), influence

    def interval(self, in_weights: Weights, cross_weights: Weights) -> Interval:
        return bca_interval(*self.contrast(in_weights, cross_weights), level=self.level)

    @staticmethod
    def gap_weights(detector: str | Weights) -> tuple[Weights, Weights]:
        weights = as_weights(detector)
        return weights, _plus((-1.0, weights))

    @staticmethod
    def gap_change_weights(detector: str | Weights, reference: str | Weights) -> tuple[Weights, Weights]:
        """Gap of ``detector`` minus gap of ``reference`` (negative: it shrinks the gap)."""
        change = _plus((1.0, as_weights(detector)), (-1.0, as_weights(reference)))
        return change, _plus((-1.0, change))

    @staticmethod
    def cross_change_weights(detector: str | Weights, reference: str | Weights) -> tuple[Weights, Weights]:
        """Cross-domain AUC of ``detector`` minus that of ``reference``."""
        return {}, _plus((1.0, as_weights(detector)), (-1.0, as_weights(reference)))

    def auc(self, detector: str | Weights, domain: str) -> Interval:
        """``domain``: ``"in"`` or ``"cross"``."""
        if domain not in ("in", "cross"):
            raise ValueError(f"domain must be 'in' or 'cross', got {domain!r}")
        weights = as_weights(detector)
        return self.interval(weights, {}) if domain == "in" else self.interval({}, weights)

    def gap(self, detector: str | Weights) -> Interval:
        """In-domain AUC minus cross-domain AUC."""
        return self.interval(*self.gap_weights(detector))

    def logit_gap_change(self, detector: str | Weights, reference: str | Weights | None = None) -> Interval:
        """The gap on the logit scale, logit(AUC in) - logit(AUC cross), of ``detector``
        (minus that of ``reference``, when given; a weighted reference is the logit of its
        weighted AUC). Scale-free: the same absolute drop weighs more near an AUC of 1 than
        near 0.5, so a gap compared across detectors at different AUC levels reads better here."""
        def logit(x):
            x = np.clip(np.asarray(x, float), 1e-6, 1 - 1e-6)
            return np.log(x / (1 - x))

        estimate, samples, influence = 0.0, 0.0, []
        for part, sign in ((self.in_domain, 1.0), (self.cross_domain, -1.0)):
            e, s, j = (logit(v) for v in part.combine(as_weights(detector)))
            if reference is not None:
                re, rs, rj = (logit(v) for v in part.combine(as_weights(reference)))
                e, s, j = e - re, s - rs, j - rj
            estimate, samples = estimate + sign * float(e), samples + sign * s
            influence.append(_influence(sign * j))
        return bca_interval(estimate, np.asarray(samples), influence, level=self.level)

    def gap_difference(self, detector: str | Weights, reference: str | Weights) -> Interval:
        """Gap of ``detector`` minus gap of ``reference`` (negative: it shrinks the gap)."""
        return self.interval(*self.gap_change_weights(detector, reference))

    def cross_difference(self, detector: str | Weights, reference: str | Weights) -> Interval:
        """Cross-domain AUC of ``detector`` minus that of ``reference``."""
        return self.interval(*self.cross_change_weights(detector, reference))

    def simultaneous(self, family: dict[str, tuple[Weights, Weights]]) -> pd.DataFrame:
        """Max-T simultaneous intervals and single-step adjusted p-values for a family of
        contrasts (name -> (in-domain weights, cross-domain weights)): every interval
        covers its truth at once with probability ``level``, so counting the intervals
        that exclude 0 is a count with family-wise error control."""
        rows, t_stats = [], []
        for name, (in_w, cross_w) in family.items():
            estimate, samples, _ = self.contrast(in_w, cross_w)
            se = float(np.std(samples, ddof=1))
            rows.append({"name": name, "estimate": estimate, "se": se})
            t_stats.append(np.abs(samples - estimate) / se if se > 0 else np.zeros_like(samples))
        table = pd.DataFrame(rows)
        if table.empty:
            return table.assign(low=[], high=[], p_adjusted=[])
        max_t = np.max(np.vstack(t_stats), axis=0)
        critical = float(np.quantile(max_t, self.level))
        observed = np.where(table["se"] > 0, table["estimate"].abs() / table["se"].where(table["se"] > 0, 1), 0.0)
        return table.assign(low=table["estimate"] - critical * table["se"],
                            high=table["estimate"] + critical * table["se"],
                            critical=critical,
                            # (1 + count) / (1 + B): a resampling p-value is never 0
                            # (Phipson and Smyth, 2010)
                            p_adjusted=[(1 + int(np.sum(max_t >= t))) / (1 + len(max_t)) for t in observed])
