"""What the training chapter shows for one run, computed from its record and scores."""

from __future__ import annotations

import pandas as pd

from analysis.evaluation import metrics
from analysis.evaluation.fit_gate import CHANCE_LOSS, FIT_MARGIN, lowest_loss
from analysis.evaluation.metrics import validation_threshold
from analysis.evaluation.scores_table import SOURCE, TEST, subset
from analysis.models.registry import ONE_CLASS, TWO_STAGE
from analysis.profiles import ONE_CYCLE


def recipe_table(record: dict) -> pd.DataFrame:
    """How a model was trained, from its run record."""
    recipe = record["recipe"]
    warmup = recipe["warmup_epochs"] if record["schedule"] == TWO_STAGE else 0
    stages = f"{warmup} warm-up + {recipe['epochs']} epochs" if warmup else f"{recipe['epochs']} epochs"
    skipped = " (the card's head warm-up skipped)" if record["schedule"] == TWO_STAGE and not warmup else ""
    per_video = recipe.get("train_frames_per_video")
    rows = {
        # a random init carries no weight tag (timm's "resnet18.tv_in1k" names pretrained weights)
        "architecture": record["arch"] if record["pretrained"] else record["arch"].split(".")[0],
        "pretrained": record["pretrained"],
        "input": f"{record['frames']} x {record['input_size']} px" if record["frames"] > 1 else f"{record['input_size']} px",
        "schedule": f"{recipe['schedule'].replace('_', '-')} learning rate, {stages}{skipped}",
        "learning rate": f"{recipe['lr']:g}" + (" (one-cycle peak)" if recipe["schedule"] == ONE_CYCLE else ""),
        "batch size": recipe["batch_size"],
        "training items per epoch": f"{record['train_items']} ({_items(record, per_video)})",
        "epochs run": len(record["history"]),
        "best epoch (validation AUC)": f"{record['best_epoch']} ({record['best_val_auc']:.3f})",
        "parameters (M)": round(record["parameters"] / 1e6, 1),
        "training time (s)": record["train_seconds"],
        "device": record["device"] + (f", {record['threads']} torch thread(s)" if record.get("threads") else ""),
        "seed": record["seed"],
    }
    return pd.Series(rows, name=record["model"]).to_frame()


def _items(record: dict, per_video: int | None) -> str:
    """What one training item is: frames of each training video (a one-class model's: of
    each real one, the only videos it trains on), or one clip or sequence per video."""
    if record["input_kind"] != "frame":
        return "one clip of each training video"
    videos = "real training video" if record["schedule"] == ONE_CLASS else "training video"
    return f"{per_video} frames of each {videos}" if per_video else f"every cached frame of each {videos}"


def training_table(records: dict[str, dict]) -> pd.DataFrame:
    """One row per model: epochs run, why training stopped, training time, the best
    epoch and its validation AUC (video level, source domain), and the trainer's speed."""
    rows = []
    for name, record in records.items():
        history = record["history"]
        fit = sum(h["fit_seconds"] for h in history)
        rows.append({
            "model": name,
            "epochs": len(history),
            "stopped because": record["stop"],
            "time (s)": record["train_seconds"],
            "best epoch": record["best_epoch"],
            "best validation AUC": round(record["best_val_auc"], 3),
            "items per epoch": record["train_items"],
            "samples/s": round(sum(h["items"] for h in history) / fit, 1) if fit else float("nan"),
        })
    return pd.DataFrame(rows)


def guard_text(record: dict) -> str:
    """The hang guard against the longest run's time: how far above it the guard is."""
    guard, seconds = record["recipe"]["hang_guard_seconds"], record["train_seconds"]
    return (f"The guard is {guard / 60:.0f} minutes per run; the longest run of this build, {record['model']}, "
            f"took {seconds / 60:.1f} minutes, so the guard is {guard / seconds:.1f} times its time.")


def unfitted(records: dict[str, dict]) -> list[str]:
    """The classifiers whose training loss never fell more than :data:`FIT_MARGIN` below
    ln 2 (the first half of the fit gate): they did not fit their own training data, so a
    chance-level AUC says the optimisation failed in this budget, not that their view sees nothing."""
    return [name for name, record in records.items()
            if record["schedule"] != ONE_CLASS and record["history"]
            and lowest_loss(record) > CHANCE_LOSS - FIT_MARGIN]


def seed_table(records: list[dict]) -> pd.DataFrame:
    """Best validation AUC of every model (rows) under every training seed (columns), so
    a reader sees how much a run depends on its seed before reading any test number."""
    rows = pd.DataFrame([{"model": r["model"], "seed": f"seed {r['seed']}", "AUC": r["best_val_auc"]}
                         for r in records])
    table = rows.pivot(index="model", columns="seed", values="AUC").loc[rows["model"].unique()]
    return table.reset_index().rename_axis(columns=None)


def in_domain_test(scores: pd.DataFrame) -> dict:
    """Confusion matrix and classification report on the in-domain test videos, at the
    threshold chosen on validation videos (video level)."""
    threshold = validation_threshold(scores)
    test = subset(scores, SOURCE, TEST)
    labels, values = test["label"].to_numpy(), test["score"].to_numpy()
    return {
        "threshold": threshold,
        "confusion": metrics.confusion(labels, values, threshold),
        "report": metrics.report_text(labels, values, threshold),
    }
