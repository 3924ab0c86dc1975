"""Ensembles of detectors, built from scores tables and named after their members.

Every combiner reads a *wide* table (one row per video, one column per model) and fits
whatever it needs on the training domain's validation videos only (DESIGN rule 2):

* ``soft_vote``: the mean fake probability;
* ``rank_average``: the mean of each member's score ranked against its own validation
  scores (a rank needs no common scale, and a new video can be ranked alone);
* ``auc_weighted``: a mean weighted by each member's validation AUC;
* ``stacking``: a logistic regression on the members' probabilities;
* ``mean_z``: seed 001's 50/50 average, after putting each score on the scale of the
  validation reals (raw distances and errors are not comparable).

One-class scorers give anomaly scores, not probabilities; :func:`fit_probability_maps`
fits a logistic map for each on validation so that they can join a soft vote. An
ensemble's name lists its members (DESIGN rule 3): ``soft_vote(r3d18+resnet18)``.
"""

from __future__ import annotations

from itertools import combinations

import numpy as np
import pandas as pd
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score

from analysis import metrics

ID_COLUMNS = ["dataset", "domain", "split", "method", "video_id", "label"]
KINDS = ("soft_vote", "rank_average", "auc_weighted", "stacking")
SEED_000_FIVE = ("resnet18", "efficientnet_b4", "vit_b16", "r3d18", "r3d18_flow")
ONE_CLASS_PAIR = ("deep_svdd", "autoencoder")


def ensemble_name(kind: str, members) -> str:
    return f"{kind}({'+'.join(sorted(members))})"


def subsets(models) -> list[tuple[str, ...]]:
    """Every non-empty subset of ``models`` (2^n - 1; a subset of one is the model)."""
    return [c for k in range(1, len(models) + 1) for c in combinations(models, k)]


def to_wide(scores: pd.DataFrame, level: str = metrics.VIDEO) -> pd.DataFrame:
    """One row per video (indexed by its identity), one column per model."""
    part = metrics.at_level(scores, level)
    index = [c for c in ID_COLUMNS if c in part.columns] + ([] if level == metrics.VIDEO else ["frame_index"])
    return part.pivot_table(index=index, columns="model", values="score", aggfunc="first")


def validation_rows(wide: pd.DataFrame) -> pd.DataFrame:
    return wide.xs(("source", "val"), level=("domain", "split"), drop_level=False)


def _labels(wide: pd.DataFrame) -> np.ndarray:
    return wide.index.get_level_values("label").to_numpy().astype(int)


def fit_probability_maps(validation: pd.DataFrame, one_class) -> dict[str, LogisticRegression]:
    """A logistic map from anomaly score to fake probability per one-class model, fitted
    on validation videos (a wide table)."""
    maps = {}
    for name in one_class:
        column = validation[name].dropna()
        maps[name] = LogisticRegression(class_weight="balanced").fit(
            column.to_numpy()[:, None], _labels(column.to_frame()))
    return maps


def to_probabilities(wide: pd.DataFrame, maps: dict[str, LogisticRegression]) -> pd.DataFrame:
    """The wide table with one-class columns mapped to probabilities."""
    out = wide.copy()
    for name, fitted in maps.items():
        if name in out.columns:
            present = out[name].notna()
            out.loc[present, name] = fitted.predict_proba(out.loc[present, [name]].to_numpy())[:, 1]
    return out


def combine(kind: str, members, validation: pd.DataFrame, data: pd.DataFrame) -> pd.Series:
    """Scores of the ensemble ``kind`` of ``members`` for every row of ``data``, fitted on
    ``validation`` (both wide; probabilities for all kinds but ``mean_z``)."""
    members = list(members)
    x, x_val, y_val = data[members], validation[members], _labels(validation)
    if kind == "soft_vote":
        combined = x.mean(axis=1)
    elif kind == "mean_z":
        reals = x_val[y_val == 0]
        combined = ((x - reals.mean()) / reals.std(ddof=0).replace(0, 1)).mean(axis=1)
    elif kind == "rank_average":
        combined = pd.DataFrame(
            {m: np.searchsorted(np.sort(x_val[m].to_numpy()), x[m].to_numpy(), side="right") / len(x_val)
             for m in members}, index=x.index).mean(axis=1)
    elif kind == "auc_weighted":
        weights = np.array([roc_auc_score(y_val, x_val[m]) for m in members])
        combined = (x * (weights / weights.sum())).sum(axis=1)
    elif kind == "stacking":
        model = LogisticRegression(class_weight="balanced").fit(x_val.to_numpy(), y_val)
        combined = pd.Series(model.predict_proba(x.to_numpy())[:, 1], index=x.index)
    else:
        raise ValueError(f"unknown ensemble kind {kind!r}; choose one of {KINDS + ('mean_z',)}")
    return combined.rename(ensemble_name(kind, members))


def ensemble_scores(wide: pd.DataFrame, kind: str, members) -> pd.DataFrame:
    """A video-level scores table for one ensemble, in the same long format as a model's
    (``model`` is the ensemble's name), ready for :mod:`analysis.metrics`. ``wide`` holds
    every video's scores (:func:`to_wide`), mapped :func:`to_probabilities` for every kind
    but ``mean_z``, which standardises raw scores itself."""
    wide = wide.dropna(subset=list(members))
    combined = combine(kind, members, validation_rows(wide), wide)
    return combined.rename("score").reset_index().assign(model=combined.name, frame_index=-1)
