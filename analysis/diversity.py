"""How differently two detectors err: the pairwise diversity measures of Kuncheva and
Whitaker (2003), from verdicts at validation-chosen thresholds and from raw scores.

With ``a`` and ``b`` marking whether each detector is *correct* on a video, and N11, N00,
N10, N01 counting the videos both get right, both get wrong, and only one gets right:

* disagreement = (N10 + N01) / N,
* double fault = N00 / N (both wrong: what no vote of the two can fix),
* Yule's Q = (N11 N00 - N01 N10) / (N11 N00 + N01 N10), from -1 (they err on different
  videos) to 1 (they err together),
* Cohen's kappa between the two detectors' fake/real verdicts (agreement beyond chance),
* the Spearman correlation of their scores (threshold-free).
"""

from __future__ import annotations

from itertools import combinations

import numpy as np
import pandas as pd
from sklearn.metrics import cohen_kappa_score

MEASURES = ("disagreement", "double fault", "Yule's Q", "Cohen's kappa", "score correlation")


def pair_measures(verdict_a: np.ndarray, verdict_b: np.ndarray, labels: np.ndarray,
                  score_a: np.ndarray, score_b: np.ndarray) -> dict[str, float]:
    right_a, right_b = verdict_a == labels, verdict_b == labels
    n11 = np.sum(right_a & right_b)
    n00 = np.sum(~right_a & ~right_b)
    n10 = np.sum(right_a & ~right_b)
    n01 = np.sum(~right_a & right_b)
    n = len(labels)
    q_denominator = n11 * n00 + n01 * n10
    same_verdicts = np.array_equal(verdict_a, verdict_b)
    return {
        "disagreement": (n10 + n01) / n,
        "double fault": n00 / n,
        "Yule's Q": (n11 * n00 - n01 * n10) / q_denominator if q_denominator else float("nan"),
        "Cohen's kappa": 1.0 if same_verdicts else cohen_kappa_score(verdict_a, verdict_b),
        "score correlation": pd.Series(score_a).corr(pd.Series(score_b), method="spearman"),
    }


def pairwise(verdicts: pd.DataFrame, scores: pd.DataFrame, labels: np.ndarray) -> pd.DataFrame:
    """One row per pair of models (columns of ``verdicts`` and ``scores``, rows aligned)."""
    rows = []
    for a, b in combinations(verdicts.columns, 2):
        measures = pair_measures(verdicts[a].to_numpy(bool), verdicts[b].to_numpy(bool), labels,
                                 scores[a].to_numpy(), scores[b].to_numpy())
        rows.append({"model a": a, "model b": b, **measures})
    return pd.DataFrame(rows)


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
