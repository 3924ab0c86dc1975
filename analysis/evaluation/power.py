"""Power of the study's primary endpoint: how small an effect its test sets can detect.

The primary endpoint is the paired change in the generalization gap of one detector
(the ensemble, ``E``) against a reference (``R``),

    change = (AUC_in(E) - AUC_cross(E)) - (AUC_in(R) - AUC_cross(R)),

with both detectors scored on the same in-domain test videos and on the same
cross-domain test videos (the two test sets are independent). Its variance is the sum of
the variances of the two paired AUC differences. Each AUC's variance is Hanley and
McNeil's (1982) closed form for ``n_real`` real and ``n_fake`` fake videos, inflated by a
design effect for identity groups (every video of a group shares its source, so a group
is the independent unit), and two detectors on the same videos have AUC estimates with
correlation ``correlation`` (Hanley and McNeil 1983).

The minimum detectable effect (MDE) of a two-sided test at level ``alpha`` with power
``power`` is ``(z(1 - alpha/2) + z(power)) * SE``, with the SE taken at the assumed AUCs.

API (stable; the benchmark is sized with it)::

    from analysis.evaluation.power import EvalSet, gap_change_mde, auc_difference_mde, required_groups

    source = EvalSet.per_group(groups=20, reals_per_group=2, fakes_per_group=8, icc=0.1)
    target = EvalSet.per_group(groups=30, reals_per_group=2, fakes_per_group=4, icc=0.1)
    gap_change_mde(source, target, auc_in=0.95, auc_cross=0.80, correlation=0.5)   # -> float
    auc_difference_mde(target, auc=0.80, correlation=0.5)  # change in cross-domain AUC alone
    auc_mde(target, auc=0.5)  # smallest AUC above chance a detector must reach to be seen
    # the inverse: fewest groups per test set with an MDE at most 0.05
    required_groups(0.05, lambda g: gap_change_mde(source.with_groups(g), target.with_groups(g),
                                                   auc_in=0.95, auc_cross=0.80, correlation=0.5))

``icc`` is the intra-group correlation of the AUC's per-video contributions; the design
effect is Kish's ``1 + (m - 1) * icc`` for a mean group size ``m``. A run's own design
effect can be measured as the ratio of its group-bootstrap to its video-bootstrap
variance and turned back into an ``icc`` with :func:`icc_from_design_effect`.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, replace

from scipy.stats import norm

ALPHA = 0.05
POWER = 0.80


def _check_auc(name: str, value: float) -> None:
    if not 0.0 <= value <= 1.0:
        raise ValueError(f"{name} == {value}, must be within [0, 1].")


@dataclass(frozen=True)
class EvalSet:
    """The size of one evaluation (test or validation) set: its real and fake videos and
    the identity groups they come in (``groups`` defaults to one group per video, i.e.
    independent videos)."""

    n_real: int
    n_fake: int
    groups: int | None = None
    icc: float = 0.0

    def __post_init__(self) -> None:
        if self.n_real < 1 or self.n_fake < 1:
            raise ValueError(f"n_real == {self.n_real} and n_fake == {self.n_fake}, both must be >= 1.")
        if self.groups is not None and not 1 <= self.groups <= self.n_real + self.n_fake:
            raise ValueError(f"groups == {self.groups}, must be between 1 and the number of videos "
                             f"({self.n_real + self.n_fake}).")
        if not 0.0 <= self.icc <= 1.0:
            raise ValueError(f"icc == {self.icc}, must be within [0, 1].")

    @classmethod
    def per_group(cls, groups: int, reals_per_group: float, fakes_per_group: float, icc: float = 0.0) -> "EvalSet":
        """A test set of ``groups`` identity groups with the given videos in each (the
        embedded benchmark: every pair gives the same number of reals and fakes)."""
        if groups < 1:
            raise ValueError(f"groups == {groups}, must be >= 1.")
        return cls(max(1, round(groups * reals_per_group)), max(1, round(groups * fakes_per_group)), groups, icc)

    def with_groups(self, groups: int) -> "EvalSet":
        """The same design with ``groups`` groups of the same mean composition."""
        scale = groups / (self.groups or self.n_real + self.n_fake)
        return replace(self, n_real=max(1, round(self.n_real * scale)), n_fake=max(1, round(self.n_fake * scale)),
                       groups=groups)

    @property
    def group_size(self) -> float:
        return (self.n_real + self.n_fake) / (self.groups or self.n_real + self.n_fake)

    @property
    def design_effect(self) -> float:
        """Variance inflation from grouping (Kish): ``1 + (m - 1) * icc``."""
        return 1.0 + (self.group_size - 1.0) * self.icc


def icc_from_design_effect(design_effect: float, group_size: float) -> float:
    """The intra-group correlation that Kish's formula maps to ``design_effect``,
    clipped to [0, 1]. A ratio below 1 happens when a group holds both reals and fakes
    that share their scene (matched pairs cancel part of the noise); it is read as 1, the
    conservative choice for sizing."""
    if group_size <= 1:
        return 0.0
    return min(1.0, max(0.0, (design_effect - 1.0) / (group_size - 1.0)))


def hanley_mcneil_variance(auc: float, n_real: int, n_fake: int) -> float:
    """Variance of an empirical AUC from ``n_real`` real and ``n_fake`` fake independent
    videos (Hanley and McNeil 1982, their equation with Q1 = A/(2-A), Q2 = 2A^2/(1+A))."""
    _check_auc("auc", auc)
    q1, q2 = auc / (2 - auc), 2 * auc**2 / (1 + auc)
    return (auc * (1 - auc) + (n_fake - 1) * (q1 - auc**2) + (n_real - 1) * (q2 - auc**2)) / (n_fake * n_real)


def auc_se(test_set: EvalSet, auc: float) -> float:
    """Standard error of one AUC on ``test_set``, grouping included."""
    return math.sqrt(hanley_mcneil_variance(auc, test_set.n_real, test_set.n_fake) * test_set.design_effect)


def auc_difference_se(test_set: EvalSet, auc_a: float, auc_b: float, correlation: float) -> float:
    """Standard error of AUC(a) - AUC(b) for two detectors scored on the same videos,
    whose AUC estimates correlate with ``correlation``."""
    if not -1.0 <= correlation <= 1.0:
        raise ValueError(f"correlation == {correlation}, must be within [-1, 1].")
    se_a, se_b = auc_se(test_set, auc_a), auc_se(test_set, auc_b)
    return math.sqrt(max(0.0, se_a**2 + se_b**2 - 2 * correlation * se_a * se_b))


def gap_change_se(in_domain: EvalSet, cross_domain: EvalSet, *, auc_in: float, auc_cross: float,
                  correlation: float, auc_in_reference: float | None = None,
                  auc_cross_reference: float | None = None) -> float:
    """Standard error of the paired change in gap (the primary endpoint). The reference's
    AUCs default to the compared detector's (the null of no change)."""
    in_ref = auc_in if auc_in_reference is None else auc_in_reference
    cross_ref = auc_cross if auc_cross_reference is None else auc_cross_reference
    return math.hypot(auc_difference_se(in_domain, auc_in, in_ref, correlation),
                      auc_difference_se(cross_domain, auc_cross, cross_ref, correlation))


def z_sum(alpha: float = ALPHA, power: float = POWER) -> float:
    """``z(1 - alpha/2) + z(power)``: MDE = z_sum * SE for a two-sided z-test."""
    if not 0 < alpha < 1 or not 0 < power < 1:
        raise ValueError(f"alpha == {alpha} and power == {power}, both must be within (0, 1).")
    return float(norm.ppf(1 - alpha / 2) + norm.ppf(power))


def mde(se: float, alpha: float = ALPHA, power: float = POWER) -> float:
    """Minimum detectable effect of an estimate with standard error ``se``."""
    if se < 0:
        raise ValueError(f"se == {se}, must be >= 0.")
    return z_sum(alpha, power) * se


def power_at(effect: float, se: float, alpha: float = ALPHA) -> float:
    """Probability that a two-sided z-test at ``alpha`` finds a true ``effect`` measured
    with standard error ``se`` (both tails; the inverse of :func:`mde`). NaN when ``se`` is 0:
    a bootstrap whose resamples all give the same value (a handful of test videos that
    every detector orders perfectly) has no sampling distribution to read a power from."""
    if se < 0:
        raise ValueError(f"se == {se}, must be >= 0.")
    if se == 0:
        return float("nan")
    z = norm.ppf(1 - alpha / 2)
    return float(norm.cdf(abs(effect) / se - z) + norm.cdf(-abs(effect) / se - z))


def auc_mde(test_set: EvalSet, auc: float = 0.5, alpha: float = ALPHA, power: float = POWER) -> float:
    """Smallest departure of one detector's AUC from ``auc`` (default chance) that the
    test set detects: does the detector learn at all?"""
    return mde(auc_se(test_set, auc), alpha, power)


def auc_difference_mde(test_set: EvalSet, *, auc: float, correlation: float, alpha: float = ALPHA,
                       power: float = POWER) -> float:
    """MDE of a paired AUC difference of two detectors on one test set (for example the
    change in cross-domain AUC, or two members compared on validation)."""
    return mde(auc_difference_se(test_set, auc, auc, correlation), alpha, power)


def gap_change_mde(in_domain: EvalSet, cross_domain: EvalSet, *, auc_in: float, auc_cross: float,
                   correlation: float, alpha: float = ALPHA, power: float = POWER) -> float:
    """MDE of the primary endpoint for the two test sets at the assumed AUCs."""
    return mde(gap_change_se(in_domain, cross_domain, auc_in=auc_in, auc_cross=auc_cross,
                             correlation=correlation), alpha, power)


def required_groups(target: float, mde_at: Callable[[int], float], *, start: int = 2,
                    maximum: int = 1_000_000) -> int:
    """The fewest groups ``g >= start`` with ``mde_at(g) <= target`` (``mde_at`` must not
    increase with ``g``): doubling, then bisection."""
    if target <= 0:
        raise ValueError(f"target == {target}, must be > 0.")
    high = start
    while mde_at(high) > target:
        if high >= maximum:
            raise ValueError(f"even {maximum} groups give an MDE of {mde_at(maximum):.4f} > {target}; "
                             "the target cannot be reached with this design.")
        high = min(2 * high, maximum)
    low = max(start, high // 2)
    if mde_at(low) <= target:
        return low
    while high - low > 1:
        middle = (low + high) // 2
        low, high = (low, middle) if mde_at(middle) <= target else (middle, high)
    return high
