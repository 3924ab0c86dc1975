"""Ensembles of detectors: one fitted estimator shared by the study and the ``Detector``.

:class:`Ensemble` follows scikit-learn's estimator pattern: ``fit`` learns everything it
needs from the training domain's validation videos only (DESIGN rule 2), fitted
attributes end in ``_``, and ``score`` / ``predict`` apply it to any other videos (a test
set, or a user's file). Its input is a *wide* table: one row per video, one column per
member, ``label`` (and for cross-validation ``group``) in the index.

Every member is first calibrated on validation (Platt scaling, :mod:`calibration`), so
the combiners below work on one probability scale (DESIGN rule 13):

* ``soft_vote``: the mean calibrated fake probability;
* ``rank_average``: the mean of each member's score ranked against its own validation
  scores (a rank needs no common scale, and a new video can be ranked alone);
* ``auc_weighted``: a mean weighted by each member's validation skill, AUC - 0.5 (a
  member at chance gets no say; equal weights if none is above chance);
* ``stacking``: a logistic regression on the members' calibrated logits; its
  validation AUC is reported cross-validated over groups (:meth:`Ensemble.cross_validated_auc`);
* ``mean_z``: card 001's 50/50 average, after putting each raw score on the scale of the
  validation reals (the card's own recipe, kept for reproduction; no calibration).

An ensemble's name lists its members (DESIGN rule 3): ``soft_vote(r3d18+resnet18)``.
"""

from __future__ import annotations

from itertools import combinations

import numpy as np
import pandas as pd
from scipy.special import logit
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GroupKFold, StratifiedKFold

from analysis.errors import NotFittedError
from analysis.evaluation import metrics
from analysis.evaluation.bootstrap import auc
from analysis.evaluation.calibration import EPSILON, PlattScaler
from analysis.evaluation.fixed_order import weighted_sum
from analysis.evaluation.scores_table import wide_table as to_wide  # noqa: F401  (callers' name)

KINDS = ("soft_vote", "rank_average", "auc_weighted", "stacking")
ALL_KINDS = (*KINDS, "mean_z")
CV_FOLDS = 5


def ensemble_name(kind: str, members) -> str:
    return f"{kind}({'+'.join(sorted(members))})"


def split_name(name: str) -> tuple[str, tuple[str, ...]]:
    """The combiner and the members of an :func:`ensemble_name`."""
    kind, sep, rest = name.partition("(")
    if not sep or not rest.endswith(")") or not rest[:-1]:
        raise ValueError(f"{name!r} is not an ensemble name such as {ensemble_name('soft_vote', ['a', 'b'])!r}.")
    return kind, tuple(rest[:-1].split("+"))


def subsets(models) -> list[tuple[str, ...]]:
    """Every non-empty subset of ``models`` (2^n - 1; a subset of one is the model)."""
    return [c for k in range(1, len(models) + 1) for c in combinations(models, k)]


def validation_rows(wide: pd.DataFrame) -> pd.DataFrame:
    return wide.xs(("source", "val"), level=("domain", "split"), drop_level=False)


def labels_of(wide: pd.DataFrame) -> np.ndarray:
    return wide.index.get_level_values("label").to_numpy().astype(int)


class Ensemble:
    """A combination of detectors, fitted on validation videos.

    Parameters
    ----------
    kind : one of ``KINDS`` or ``"mean_z"``, default ``"soft_vote"``.
    members : the member columns; default every column of the validation table.
    raw_scores : members whose scores are not probabilities (one-class scorers).
    calibrators : fitted :class:`PlattScaler` per member to reuse (they depend on the
        member and the validation set only, so many ensembles of one study share them).

    Fitted attributes: ``members_``, ``calibrators_`` (member -> :class:`PlattScaler`),
    ``weights_`` (``auc_weighted``), ``stacker_`` (``stacking``), ``reference_`` (sorted
    validation scores, ``rank_average``), ``centre_`` and ``scale_`` (``mean_z``),
    ``threshold_`` (Youden's J on validation), ``validation_auc_`` (in-sample), ``name_``.
    """

    def __init__(self, kind: str = "soft_vote", members=None, raw_scores=(), calibrators=None):
        if kind not in ALL_KINDS:
            raise ValueError(f"unknown ensemble kind {kind!r}; choose one of {ALL_KINDS}")
        self.kind = kind
        self.members = None if members is None else tuple(members)
        self.raw_scores = tuple(raw_scores)
        self.calibrators = calibrators

    def __repr__(self) -> str:
        return f"Ensemble(kind={self.kind!r}, members={self.members!r})"

    def fit(self, validation: pd.DataFrame) -> "Ensemble":
        """Learn calibration, combiner and threshold from a wide validation table."""
        members = tuple(self.members or validation.columns)
        absent = [m for m in members if m not in validation.columns]
        if absent:
            raise ValueError(f"{self!r}: validation table has no column for {absent}; it has {list(validation.columns)}.")
        validation = validation[list(members)].dropna()
        y = labels_of(validation)
        self.members_ = members
        self.name_ = ensemble_name(self.kind, members)
        self.calibrators_ = {m: (self.calibrators or {}).get(m) or PlattScaler(
            probabilities=m not in self.raw_scores).fit(validation[m].to_numpy(), y) for m in members}
        if self.kind == "mean_z":
            reals = validation[y == 0]
            self.centre_ = reals.mean()
            self.scale_ = reals.std(ddof=0).replace(0, 1)
        elif self.kind == "rank_average":
            self.reference_ = {m: np.sort(validation[m].to_numpy()) for m in members}
        elif self.kind == "auc_weighted":
            skill = np.array([max(auc(y, validation[m]) - 0.5, 0.0) for m in members])
            self.weights_ = pd.Series(skill / skill.sum() if skill.sum() > 0 else np.full(len(members), 1 / len(members)),
                                      index=list(members))
        elif self.kind == "stacking":
            self.stacker_ = LogisticRegression(class_weight="balanced", solver="liblinear").fit(self._logits(validation), y)
        combined = self.score(validation)
        self.threshold_ = metrics.youden_threshold(y, combined.to_numpy())
        self.validation_auc_ = float(auc(y, combined))
        return self

    def _check_fitted(self) -> None:
        if not hasattr(self, "members_"):
            raise NotFittedError(f"This {self!r} instance is not fitted yet. Call 'fit' with a wide table of "
                                 "validation scores first.")

    def calibrated(self, data: pd.DataFrame) -> pd.DataFrame:
        """The members' calibrated fake probabilities for every row of ``data``."""
        self._check_fitted()
        return pd.DataFrame({m: self.calibrators_[m].transform(data[m].to_numpy()) for m in self.members_},
                            index=data.index)

    def _logits(self, data: pd.DataFrame) -> np.ndarray:
        return logit(np.clip(self.calibrated(data).to_numpy(), EPSILON, 1 - EPSILON))

    def score(self, data: pd.DataFrame) -> pd.Series:
        """The ensemble's score for every row of ``data`` (a wide table with the members'
        columns; rows missing a member give nan)."""
        self._check_fitted()
        missing = [m for m in self.members_ if m not in data.columns]
        if missing:
            raise ValueError(f"{self.name_} needs columns {missing}; the table has {list(data.columns)}.")
        x = data[list(self.members_)]
        complete = x.notna().all(axis=1)
        x = x[complete]
        if self.kind == "mean_z":
            combined = ((x - self.centre_) / self.scale_).mean(axis=1)
        elif self.kind == "rank_average":
            combined = pd.DataFrame({m: np.searchsorted(self.reference_[m], x[m].to_numpy(), side="right")
                                     / len(self.reference_[m]) for m in self.members_}, index=x.index).mean(axis=1)
        elif self.kind == "stacking":
            combined = pd.Series(self.stacker_.predict_proba(self._logits(x))[:, 1], index=x.index)
        elif self.kind == "auc_weighted":
            combined = pd.Series(weighted_sum(self.calibrated(x).to_numpy(), self.weights_), index=x.index)
        else:
            combined = self.calibrated(x).mean(axis=1)
        return combined.reindex(data.index).rename(self.name_)

    def predict(self, data: pd.DataFrame) -> pd.Series:
        """Fake (True) or real verdicts at the validation threshold."""
        self._check_fitted()
        return (self.score(data) >= self.threshold_).rename(self.name_)

    def cross_validated_auc(self, validation: pd.DataFrame, folds: int = CV_FOLDS, seed: int = 0) -> float:
        """Validation AUC with every video scored by an ensemble fitted without its
        group (group k-fold; stratified k-fold over videos when there are no groups):
        what fitting on validation costs, unlike the in-sample ``validation_auc_``; nan
        when validation holds a single group."""
        data = validation[list(self.members or validation.columns)].dropna()
        y = labels_of(data)
        if "group" in data.index.names:
            groups = data.index.get_level_values("group").to_numpy()
            if len(set(groups)) < 2:
                return float("nan")  # one group: nothing to hold out
            splitter = GroupKFold(n_splits=min(folds, len(set(groups)))).split(data, y, groups)
        else:
            splitter = StratifiedKFold(n_splits=folds, shuffle=True, random_state=seed).split(data, y)
        held_out = pd.Series(np.nan, index=data.index)
        for train, test in splitter:
            fitted = Ensemble(self.kind, self.members, self.raw_scores).fit(data.iloc[train])  # refits calibration
            held_out.iloc[test] = fitted.score(data.iloc[test]).to_numpy()
        return float(auc(y, held_out))


def ensemble_scores(wide: pd.DataFrame, fitted: Ensemble) -> pd.DataFrame:
    """A video-level scores table for one fitted ensemble, in the same long format as a
    model's (``model`` is the ensemble's name), ready for :mod:`analysis.metrics`."""
    combined = fitted.score(wide).dropna()
    return combined.rename("score").reset_index().assign(model=fitted.name_, frame_index=-1)
