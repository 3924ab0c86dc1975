"""Metrics on scores tables, built on scikit-learn.

Scores tables (:mod:`analysis.evaluation.scores_table`) are long: one row per (video,
model) at video level and, for frame models, one per frame. Every result here says which level it is at.
Thresholds are chosen on the training domain's validation split only (DESIGN rule 2)
and then applied unchanged to the test splits.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.metrics import (
    accuracy_score, average_precision_score, classification_report, confusion_matrix, f1_score,
    precision_score, recall_score, roc_auc_score, roc_curve,
)

from analysis.evaluation.scores_table import FRAME, SOURCE, TARGET, TEST, VAL, VIDEO, at_level, subset

CLASS_NAMES = ["Real", "Fake"]


def _flag_nothing_above(scores: np.ndarray, threshold: float) -> float:
    """roc_curve's first threshold is ``inf`` (flags nothing); the finite equivalent is
    the next float above the highest score. Any other threshold is a score, unchanged:
    scores are not bounded (distances, errors), so nothing is clamped."""
    return float(np.nextafter(np.max(scores), np.inf)) if not np.isfinite(threshold) else float(threshold)


def _youden(labels: np.ndarray, scores: np.ndarray) -> tuple[float, float]:
    fpr, tpr, thresholds = roc_curve(labels, scores)
    best = int(np.argmax(tpr - fpr))
    return float(tpr[best] - fpr[best]), _flag_nothing_above(scores, thresholds[best])


def youden_threshold(labels: np.ndarray, scores: np.ndarray) -> float:
    """The threshold that maximises TPR - FPR (Youden's J) on the given (validation) data."""
    return _youden(labels, scores)[1]


def youden_j(labels: np.ndarray, scores: np.ndarray) -> float:
    """The largest TPR - FPR over all thresholds: near 0 for a scorer without skill, whose
    balanced threshold then lands wherever the noise puts the maximum."""
    return _youden(labels, scores)[0]


def threshold_options(labels: np.ndarray, scores: np.ndarray, max_fpr: float = 0.05,
                      min_recall: float = 0.95) -> dict[str, float]:
    """Card 001's three operating points, chosen on (validation) data: ``balanced``
    (Youden's J), ``conservative`` (the lowest threshold whose false-positive rate is at
    most ``max_fpr``) and ``sensitive`` (the highest threshold whose recall is at least
    ``min_recall``)."""
    fpr, tpr, thresholds = roc_curve(labels, scores, drop_intermediate=False)  # every candidate
    conservative = thresholds[np.flatnonzero(fpr <= max_fpr)[-1]]
    sensitive = thresholds[np.flatnonzero(tpr >= min_recall)[0]]
    return {"balanced": youden_threshold(labels, scores), "conservative": _flag_nothing_above(scores, conservative),
            "sensitive": _flag_nothing_above(scores, sensitive)}


def agreement_rate(verdicts: pd.DataFrame) -> float:
    """Share of rows on which every column (one model's fake/real verdicts) agrees, as
    card 001 reports its "model agreement"."""
    values = verdicts.to_numpy().astype(bool)
    return float((values.all(axis=1) | ~values.any(axis=1)).mean())


def equal_error_rate(labels: np.ndarray, scores: np.ndarray) -> float:
    """The error rate where the false-positive and false-negative rates are equal
    (interpolated between the two ROC points that bracket the crossing)."""
    fpr, tpr, _ = roc_curve(labels, scores)
    fnr = 1 - tpr
    i = int(np.flatnonzero(fnr <= fpr)[0])
    if i == 0 or fnr[i] == fpr[i]:
        return float(fpr[i])
    # the crossing of fpr and fnr on the segment between ROC points i - 1 and i
    t = (fnr[i - 1] - fpr[i - 1]) / ((fpr[i] - fpr[i - 1]) - (fnr[i] - fnr[i - 1]))
    return float(fpr[i - 1] + t * (fpr[i] - fpr[i - 1]))


def binary_metrics(labels: np.ndarray, scores: np.ndarray, threshold: float) -> dict:
    """Accuracy, precision, recall, F1 at ``threshold``; the threshold-free ROC AUC,
    average precision and equal error rate."""
    predicted = (scores >= threshold).astype(int)
    both = len(set(labels)) == 2
    return {
        "videos_or_frames": len(labels),
        "accuracy": accuracy_score(labels, predicted),
        "precision": precision_score(labels, predicted, zero_division=0),
        "recall": recall_score(labels, predicted, zero_division=0),
        "f1": f1_score(labels, predicted, zero_division=0),
        "auc": roc_auc_score(labels, scores) if both else float("nan"),
        "average precision": average_precision_score(labels, scores) if both else float("nan"),
        "eer": equal_error_rate(labels, scores) if both else float("nan"),
        "threshold": threshold,
    }


def confusion(labels: np.ndarray, scores: np.ndarray, threshold: float) -> pd.DataFrame:
    matrix = confusion_matrix(labels, (scores >= threshold).astype(int), labels=[0, 1])
    return pd.DataFrame(matrix, index=[f"true {c}" for c in CLASS_NAMES], columns=[f"predicted {c}" for c in CLASS_NAMES])


def report_text(labels: np.ndarray, scores: np.ndarray, threshold: float) -> str:
    """scikit-learn's classification report, as model card 002 shows it."""
    return classification_report(labels, (scores >= threshold).astype(int), labels=[0, 1],
                                  target_names=CLASS_NAMES, digits=4, zero_division=0)


def evaluate_model(scores: pd.DataFrame) -> pd.DataFrame:
    """One model's metrics on validation, in-domain test and cross-domain test, at video
    and frame level, with the threshold chosen on video-level validation scores."""
    threshold = validation_threshold(scores)
    rows = []
    for level in (VIDEO, FRAME):
        for name, domain, split in (("validation", SOURCE, VAL), ("in-domain test", SOURCE, TEST),
                                    ("cross-domain test", TARGET, TEST)):
            part = subset(scores, domain, split, level)
            if part.empty:
                continue
            rows.append({"set": name, "level": level,
                         **binary_metrics(part["label"].to_numpy(), part["score"].to_numpy(), threshold)})
    return pd.DataFrame(rows)


TEST_SETS = (("in-domain test", SOURCE), ("cross-domain test", TARGET))


def threshold_table(scores: pd.DataFrame, **options) -> pd.DataFrame:
    """Card 001's threshold comparison for one model's (video-level) scores: each
    operating point is chosen on source validation videos and applied to both test sets."""
    val = subset(scores, SOURCE, VAL)
    chosen = threshold_options(val["label"].to_numpy(), val["score"].to_numpy(), **options)
    rows = []
    for option, threshold in chosen.items():
        for name, domain in TEST_SETS:
            part = subset(scores, domain, TEST)
            labels, values = part["label"].to_numpy(), part["score"].to_numpy()
            result = binary_metrics(labels, values, threshold)
            false_positive = ((values >= threshold) & (labels == 0)).sum() / max((labels == 0).sum(), 1)
            rows.append({"threshold option": option, "threshold": threshold, "set": name,
                         **{k: result[k] for k in ("accuracy", "precision", "recall", "f1")},
                         "false positive rate": false_positive})
    return pd.DataFrame(rows)


def verdicts(scores: pd.DataFrame, domain: str, split: str) -> pd.DataFrame:
    """Each model's fake/real verdict per video at its balanced (Youden) threshold from
    source validation videos: one column per model, one row per video."""
    columns = {}
    for model, own in at_level(scores, VIDEO).groupby("model"):
        threshold = validation_threshold(own)
        part = subset(own, domain, split).set_index(["dataset", "method", "video_id"])
        columns[model] = part["score"] >= threshold
    return pd.DataFrame(columns).dropna()


def validation_threshold(scores: pd.DataFrame) -> float:
    """The threshold of one model's scores, chosen on the source domain's video-level
    validation split only (DESIGN rule 2) by Youden's J (:func:`youden_threshold`)."""
    val = subset(scores, SOURCE, VAL)
    return youden_threshold(val["label"].to_numpy(), val["score"].to_numpy())
