"""How differently two detectors err: the pairwise diversity measures of Kuncheva and
Whitaker (2003), from verdicts at validation-chosen thresholds and from raw scores, each
with a group-bootstrap interval and beside its value under independence.

With ``a`` and ``b`` marking whether each detector is *correct* on a video, and N11, N00,
N10, N01 counting the videos both get right, both get wrong, and only one gets right:

* disagreement = (N10 + N01) / N,
* double fault = N00 / N (both wrong: what no vote of the two can fix),
* Yule's Q = (N11 N00 - N01 N10) / (N11 N00 + N01 N10), from -1 (they err on different
  videos) to 1 (they err together),
* Cohen's kappa between the two detectors' fake/real verdicts (agreement beyond chance),
* the Spearman correlation of their scores (threshold-free).

**Null baselines.** Two detectors that both catch fakes agree because of the labels, not
because they see the same thing. The reference is therefore *independence given the
label*: each detector's verdicts are permuted among the videos of the same class, which
keeps its flag rate on reals and on fakes (hence its overall flag rate) and breaks any
dependence between detectors beyond the label. Each measure is shown beside its mean
under such permutations and their 95 % range.

All measures are weighted means of per-video indicators, so a bootstrap resample (group
counts as weights) and a permutation (weights one) go through the same functions.
"""

from __future__ import annotations

from itertools import combinations

import numpy as np
import pandas as pd
from scipy.stats import rankdata

from analysis.evaluation import bootstrap

MEASURES = ("disagreement", "double fault", "Yule's Q", "Cohen's kappa", "score correlation")
VERDICT_MEASURES = MEASURES[:4]
N_PERMUTATIONS = 1000
PLAIN_INDEPENDENCE = "all agree if independent of the label too"  # agreement()'s label-blind baseline


def _ratio(numerator: np.ndarray, denominator: np.ndarray) -> np.ndarray:
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(denominator != 0, numerator / np.where(denominator != 0, denominator, 1), np.nan)


def pair_measures(verdict_a: np.ndarray, verdict_b: np.ndarray, labels: np.ndarray, score_a: np.ndarray,
                  score_b: np.ndarray, weights: np.ndarray | None = None) -> dict[str, np.ndarray]:
    """Every measure for one pair, under each row of ``weights`` (k, n) (default: the
    data as it is). Verdicts may also be (k, n): one permutation per row."""
    labels = np.asarray(labels).astype(bool)
    a, b = np.atleast_2d(verdict_a).astype(bool), np.atleast_2d(verdict_b).astype(bool)
    w = np.ones((max(len(a), len(b)), labels.size)) if weights is None else np.atleast_2d(weights).astype(float)
    total = w.sum(axis=1)
    right_a, right_b = a == labels, b == labels
    n11 = (w * (right_a & right_b)).sum(axis=1)
    n00 = (w * (~right_a & ~right_b)).sum(axis=1)
    n10 = (w * (right_a & ~right_b)).sum(axis=1)
    n01 = (w * (~right_a & right_b)).sum(axis=1)
    flag_a, flag_b = (w * a).sum(axis=1) / total, (w * b).sum(axis=1) / total
    observed = (w * (a == b)).sum(axis=1) / total
    chance = flag_a * flag_b + (1 - flag_a) * (1 - flag_b)
    kappa = np.where(np.isclose(chance, 1.0), 1.0, _ratio(observed - chance, 1 - chance))
    ranks_a, ranks_b = rankdata(score_a), rankdata(score_b)  # ranks of the data (weights act on them)

    def weighted_corr(x, y):
        mx, my = (w * x).sum(axis=1) / total, (w * y).sum(axis=1) / total
        dx, dy = x - mx[:, None], y - my[:, None]
        return _ratio((w * dx * dy).sum(axis=1), np.sqrt((w * dx**2).sum(axis=1) * (w * dy**2).sum(axis=1)))

    return {
        "disagreement": (n10 + n01) / total,
        "double fault": n00 / total,
        "Yule's Q": _ratio(n11 * n00 - n01 * n10, n11 * n00 + n01 * n10),
        "Cohen's kappa": kappa,
        "score correlation": weighted_corr(ranks_a, ranks_b),
    }


def all_agree(verdicts: np.ndarray, weights: np.ndarray | None = None) -> np.ndarray:
    """Share of videos on which every detector gives the same verdict; ``verdicts`` is
    (detectors, n) or (k, detectors, n) for k permutations."""
    v = np.asarray(verdicts, bool)
    v = v[None] if v.ndim == 2 else v
    same = v.all(axis=1) | ~v.any(axis=1)
    w = np.ones(same.shape) if weights is None else np.atleast_2d(weights).astype(float)
    return (w * same).sum(axis=1) / w.sum(axis=1)


def permute_within_class(verdicts: np.ndarray, labels: np.ndarray, n_permutations: int,
                         rng: np.random.Generator) -> np.ndarray:
    """(n_permutations, detectors, n): each detector's verdicts shuffled independently
    among the videos of the same label."""
    v = np.asarray(verdicts, bool)
    out = np.empty((n_permutations, *v.shape), bool)
    for cls in (0, 1):
        members = np.flatnonzero(np.asarray(labels) == cls)
        keys = rng.random((n_permutations, v.shape[0], members.size))
        out[:, :, members] = np.take_along_axis(
            np.broadcast_to(v[:, members], keys.shape), np.argsort(keys, axis=2), axis=2)
    return out


def expected_all_agree(verdicts: np.ndarray, labels: np.ndarray) -> float:
    """Agreement of all detectors if they were independent given the label, at their
    own per-class flag rates: sum over classes of share x (prod p + prod (1 - p))."""
    v, labels = np.asarray(verdicts, bool), np.asarray(labels)
    value = 0.0
    for cls in np.unique(labels):
        rates = v[:, labels == cls].mean(axis=1)
        value += np.mean(labels == cls) * (np.prod(rates) + np.prod(1 - rates))
    return float(value)


def _summary(estimate: float, samples: np.ndarray, level: float) -> tuple[float, float]:
    samples = samples[~np.isnan(samples)]
    if samples.size == 0:
        return float("nan"), float("nan")
    tail = (1 - level) / 2
    low, high = np.quantile(samples, [tail, 1 - tail])
    return float(low), float(high)


def pairwise(verdicts: pd.DataFrame, scores: pd.DataFrame, labels: np.ndarray, groups=None,
             n_resamples: int = bootstrap.N_RESAMPLES, n_permutations: int = N_PERMUTATIONS, seed: int = 0,
             level: float = bootstrap.LEVEL) -> pd.DataFrame:
    """One row per pair of models (columns of ``verdicts`` and ``scores``, rows aligned):
    each measure, its group-bootstrap percentile interval (``low``/``high``), and for the
    verdict measures its mean and 95 % range under independence given the label
    (``null``, ``null low``, ``null high``)."""
    labels = np.asarray(labels).astype(int)
    groups = np.arange(len(labels)) if groups is None else np.asarray(groups)
    codes, n_groups = bootstrap.group_codes(groups)
    counts = bootstrap.resample_counts(bootstrap.label_strata(labels, codes, n_groups), n_groups, n_resamples,
                                       np.random.default_rng(seed))
    weights = counts[:, codes].astype(float)
    names = list(verdicts.columns)
    permuted = permute_within_class(verdicts[names].to_numpy(bool).T, labels, n_permutations,
                                    np.random.default_rng(seed + 1))
    rows, nulls = [], {measure: [] for measure in VERDICT_MEASURES}
    for i, j in combinations(range(len(names)), 2):
        a, b = verdicts[names[i]].to_numpy(bool), verdicts[names[j]].to_numpy(bool)
        sa, sb = scores[names[i]].to_numpy(float), scores[names[j]].to_numpy(float)
        point = pair_measures(a, b, labels, sa, sb)
        resampled = pair_measures(a, b, labels, sa, sb, weights)
        null = pair_measures(permuted[:, i], permuted[:, j], labels, sa, sb)
        row = {"model a": names[i], "model b": names[j]}
        for measure in MEASURES:
            estimate = float(point[measure][0])
            low, high = _summary(estimate, resampled[measure], level)
            row.update({measure: estimate, f"{measure} low": low, f"{measure} high": high})
            if measure in VERDICT_MEASURES:
                null_low, null_high = _summary(estimate, null[measure], level)
                row.update({f"{measure} null": float(np.nanmean(null[measure])),
                            f"{measure} null low": null_low, f"{measure} null high": null_high})
                nulls[measure].append(null[measure])
        rows.append(row)
    table = pd.DataFrame(rows)
    for measure in VERDICT_MEASURES:
        if len(table):
            table[f"{measure} outside null (simultaneous)"] = outside_simultaneous(
                table[measure].to_numpy(float), np.column_stack(nulls[measure]), level)
    return table


def outside_simultaneous(estimates: np.ndarray, nulls: np.ndarray, level: float = bootstrap.LEVEL) -> np.ndarray:
    """Which of K pairs differ from independence, with max-T control over the pairs:
    each pair's distance from its permutation mean in permutation SDs, against the
    ``level`` quantile of the largest such distance over all pairs in each permutation
    (``nulls``: permutations x pairs). Under independence, all K together stay inside
    with probability ``level``; the per-pair 95 % ranges would let about one in twenty out."""
    mean = np.nanmean(nulls, axis=0)
    sd = np.nanstd(nulls, axis=0, ddof=1)
    sd = np.where(sd > 0, sd, np.nan)
    if np.isnan(sd).all():  # no pair's statistic varies under permutation: none can stand outside
        return np.zeros(len(estimates), dtype=bool)
    with np.errstate(invalid="ignore"):
        critical = np.nanquantile(np.nanmax(np.abs(nulls - mean) / sd, axis=1), level)
        return np.nan_to_num(np.abs(estimates - mean) / sd, nan=0.0) > critical


def agreement(verdicts: pd.DataFrame, labels: np.ndarray, groups=None, n_resamples: int = bootstrap.N_RESAMPLES,
              n_permutations: int = N_PERMUTATIONS, seed: int = 0, level: float = bootstrap.LEVEL) -> dict[str, float]:
    """Share of videos on which all columns agree, with its group-bootstrap interval,
    its expectation under independence given the label and the permutation range, and its
    expectation under plain independence (one flag rate per detector, whatever the label:
    the baseline that ignores that competent detectors agree on fakes because they are fakes)."""
    labels = np.asarray(labels).astype(int)
    groups = np.arange(len(labels)) if groups is None else np.asarray(groups)
    v = verdicts.to_numpy(bool).T
    codes, n_groups = bootstrap.group_codes(groups)
    counts = bootstrap.resample_counts(bootstrap.label_strata(labels, codes, n_groups), n_groups, n_resamples,
                                       np.random.default_rng(seed))
    estimate = float(all_agree(v)[0])
    low, high = _summary(estimate, all_agree(v, counts[:, codes]), level)
    null = all_agree(permute_within_class(v, labels, n_permutations, np.random.default_rng(seed + 1)))
    null_low, null_high = _summary(estimate, null, level)
    return {"all agree": estimate, "all agree low": low, "all agree high": high,
            "all agree if independent": expected_all_agree(v, labels),
            "all agree null low": null_low, "all agree null high": null_high,
            PLAIN_INDEPENDENCE: expected_all_agree(v, np.zeros_like(labels))}


def as_matrix(pairs: pd.DataFrame, measure: str) -> pd.DataFrame:
    """A symmetric model-by-model matrix of one measure (diagonal empty), for heatmaps."""
    models = list(dict.fromkeys([*pairs["model a"], *pairs["model b"]]))
    matrix = pd.DataFrame(np.nan, index=models, columns=models)
    for a, b, value in zip(pairs["model a"], pairs["model b"], pairs[measure]):
        matrix.loc[a, b] = matrix.loc[b, a] = value
    return matrix


def mean_pairwise(pairs: pd.DataFrame, members, measure: str = "disagreement") -> float:
    """Average of a measure over the pairs inside one ensemble's members."""
    inside = pairs["model a"].isin(members) & pairs["model b"].isin(members)
    return float(pairs.loc[inside, measure].mean())
