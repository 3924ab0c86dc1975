"""Metrics on scores tables, built on scikit-learn.

Scores tables are long: one row per (video, model) at video level (``frame_index`` -1)
and, for frame models, one per frame. Every result here says which level it is at.
Thresholds are chosen on the training domain's validation split only (DESIGN rule 2)
and then applied unchanged to the test splits.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.metrics import (
    accuracy_score, classification_report, confusion_matrix, f1_score, precision_score,
    recall_score, roc_auc_score, roc_curve,
)

VIDEO, FRAME = "video", "frame"
CLASS_NAMES = ["Real", "Fake"]


def at_level(scores: pd.DataFrame, level: str) -> pd.DataFrame:
    """Rows of a scores table at ``video`` or ``frame`` level."""
    if level == VIDEO:
        return scores[scores["frame_index"] == -1]
    if level == FRAME:
        return scores[scores["frame_index"] >= 0]
    raise ValueError(f"level must be {VIDEO!r} or {FRAME!r}, got {level!r}")


def subset(scores: pd.DataFrame, domain: str, split: str, level: str = VIDEO) -> pd.DataFrame:
    part = at_level(scores, level)
    return part[(part["domain"] == domain) & (part["split"] == split)]


def youden_threshold(labels: np.ndarray, scores: np.ndarray) -> float:
    """The threshold that maximises TPR - FPR (Youden's J) on the given (validation) data."""
    fpr, tpr, thresholds = roc_curve(labels, scores)
    best = int(np.argmax(tpr - fpr))
    return float(min(thresholds[best], 1.0))


def binary_metrics(labels: np.ndarray, scores: np.ndarray, threshold: float) -> dict:
    """Accuracy, precision, recall, F1 at ``threshold`` and the threshold-free ROC AUC."""
    predicted = (scores >= threshold).astype(int)
    both = len(set(labels)) == 2
    return {
        "videos_or_frames": len(labels),
        "accuracy": accuracy_score(labels, predicted),
        "precision": precision_score(labels, predicted, zero_division=0),
        "recall": recall_score(labels, predicted, zero_division=0),
        "f1": f1_score(labels, predicted, zero_division=0),
        "auc": roc_auc_score(labels, scores) if both else float("nan"),
        "threshold": threshold,
    }


def confusion(labels: np.ndarray, scores: np.ndarray, threshold: float) -> pd.DataFrame:
    matrix = confusion_matrix(labels, (scores >= threshold).astype(int), labels=[0, 1])
    return pd.DataFrame(matrix, index=[f"true {c}" for c in CLASS_NAMES], columns=[f"predicted {c}" for c in CLASS_NAMES])


def report_text(labels: np.ndarray, scores: np.ndarray, threshold: float) -> str:
    """scikit-learn's classification report, as model card 002 shows it."""
    return classification_report(labels, (scores >= threshold).astype(int), labels=[0, 1],
                                  target_names=CLASS_NAMES, digits=4, zero_division=0)


def evaluate_model(scores: pd.DataFrame, source: str = "source", target: str = "target") -> pd.DataFrame:
    """One model's metrics on validation, in-domain test and cross-domain test, at video
    and frame level, with the threshold chosen on video-level validation scores."""
    val = subset(scores, source, "val")
    threshold = youden_threshold(val["label"].to_numpy(), val["score"].to_numpy())
    rows = []
    for level in (VIDEO, FRAME):
        for name, domain, split in (("validation", source, "val"), ("in-domain test", source, "test"),
                                    ("cross-domain test", target, "test")):
            part = subset(scores, domain, split, level)
            if part.empty:
                continue
            rows.append({"set": name, "level": level,
                         **binary_metrics(part["label"].to_numpy(), part["score"].to_numpy(), threshold)})
    return pd.DataFrame(rows)
