"""What the training chapter shows for one run, computed from its record and scores."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd

from analysis import metrics


def load_run(run: Path) -> tuple[dict, pd.DataFrame]:
    """A run's record and its scores table."""
    run = Path(run)
    record = json.loads((run / "record.json").read_text())
    scores = pd.read_csv(run / "scores.csv", dtype={"video_id": str})
    return record, scores


def recipe_table(record: dict) -> pd.DataFrame:
    """How a model was trained, from its run record."""
    recipe = record["config"]["recipe"]
    rows = {
        "architecture": record["arch"],
        "pretrained": record["pretrained"],
        "input": f"{record['frames']} x {record['input_size']} px" if record["frames"] > 1 else f"{record['input_size']} px",
        "recipe": record["recipe"] + (f" ({recipe['warmup_epochs']} warm-up + {recipe['epochs']} epochs)"
                                      if record["recipe"] == "two_stage" else f" ({recipe['epochs']} epochs)"),
        "learning rate": recipe["lr"],
        "batch size": recipe["batch_size"],
        "training items per epoch": record["train_items"],
        "epochs run": len(record["history"]),
        "best epoch (validation AUC)": f"{record['best_epoch']} ({record['best_val_auc']:.3f})",
        "parameters (M)": round(record["parameters"] / 1e6, 1),
        "training time (s)": record["train_seconds"],
        "device": record["device"],
        "seed": record["seed"],
    }
    return pd.Series(rows, name=record["model"]).to_frame()


def in_domain_test(scores: pd.DataFrame) -> dict:
    """Confusion matrix and classification report on the in-domain test videos, at the
    threshold chosen on validation videos (video level)."""
    val = metrics.subset(scores, "source", "val")
    threshold = metrics.youden_threshold(val["label"].to_numpy(), val["score"].to_numpy())
    test = metrics.subset(scores, "source", "test")
    labels, values = test["label"].to_numpy(), test["score"].to_numpy()
    return {
        "threshold": threshold,
        "confusion": metrics.confusion(labels, values, threshold),
        "report": metrics.report_text(labels, values, threshold),
    }
