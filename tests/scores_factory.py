"""Scores tables with identity groups and training seeds, written as a profile's run
folder (``runs/<profile>``: the runs' folders under ``models/`` and the ``scores`` stage's
one table), so the study can be tested in seconds without training anything."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd

from analysis import paths
from analysis.models.registry import ONE_CLASS, TWO_STAGE
from analysis.training.run_record import RECORD_FILE, REQUIRED_FIELDS, RUN_FORMAT, SCORES_FILE, read_runs, scores_of

MODELS = ("resnet18", "efficientnet_b4", "vit_b16", "r3d18", "r3d18_flow", "deep_svdd", "autoencoder")
ONE_CLASS_MODELS = ("deep_svdd", "autoencoder")
METHODS = ("blend_swap", "relight", "jitter_swap", "lip_desync")
# record fields the study never reads, filled so that the run-record contract accepts the runs
PLACEHOLDER = {"config": {}, "versions": {}, "history": [], "frames": 1, "input_size": 0, "parameters": 0,
               "world_size": 1, "best_epoch": 0, "best_val_auc": 0.5, "train_items": 0, "train_seconds": 0.0,
               "score_seconds": 0.0, "pretrained": False, "complete": True}


def videos(source_groups: int = 12, target_groups: int = 15) -> pd.DataFrame:
    """The benchmark's layout: each identity pair gives two reals and two fakes per
    method; source pairs are dealt to val and test, target pairs are all test."""
    rows = []
    for domain, count in (("source", 2 * source_groups), ("target", target_groups)):
        for k in range(count):
            split = "test" if domain == "target" or k % 2 else "val"
            a, b = f"{domain[0]}{2 * k:03d}", f"{domain[0]}{2 * k + 1:03d}"
            group = f"{a}+{b}"
            rows += [(domain, split, "original", i, 0, group) for i in (a, b)]
            rows += [(domain, split, m, f"{x}_{y}", 1, group) for m in METHODS for x, y in ((a, b), (b, a))]
    return pd.DataFrame(rows, columns=["domain", "split", "method", "video_id", "label", "group"])


FITTED_LOSS = 0.5  # a training loss well below ln 2: the run fitted its training data


def write_runs(root: Path, skill: float = 1.5, seeds=(0,), models=MODELS, seed: int = 0,
               target_share: float = 0.5, skills: dict[str, float] | None = None,
               losses: dict[str, float] | None = None) -> Path:
    """A profile's run folder at ``root``: one run folder per model and training seed (a
    record and a video-level scores table) under ``models/``, and every run's scores in
    the one table the ``scores`` stage writes (:func:`combine`). Scores share a group effect, a part common to all detectors, and a fake shift
    of ``skill`` (``skills[model]`` where given) in the source domain and ``target_share``
    of it in the target domain. Each record's one epoch has a training loss of
    :data:`FITTED_LOSS` (``losses[model]`` where given)."""
    rng = np.random.default_rng(seed)
    table = videos()
    effect = table["group"].map({g: rng.normal(0, 0.7) for g in table["group"].unique()}).to_numpy()
    shift = np.where(table["domain"] == "source", 1.0, target_share) * table["label"].to_numpy()
    for training_seed in seeds:
        common = rng.normal(0, 1, len(table))
        for model in models:
            z = effect + 0.6 * common + 0.8 * rng.normal(0, 1, len(table)) + (skills or {}).get(model, skill) * shift
            one_class = model in ONE_CLASS_MODELS
            score = np.exp(0.3 * z) + 0.5 if one_class else 1 / (1 + np.exp(-1.5 * z))
            folder = run_folder(root, model, training_seed)
            folder.mkdir(parents=True, exist_ok=True)
            table.assign(dataset="synthetic", model=model, frame_index=-1, score=score, seed=training_seed).to_csv(
                folder / SCORES_FILE, index=False)
            record = {field: PLACEHOLDER.get(field, "") for field in REQUIRED_FIELDS}
            record.update(run_format=RUN_FORMAT, profile="cpu", model=model, arch=model, view="spatial",
                          schedule=ONE_CLASS if one_class else TWO_STAGE, seed=training_seed,
                          history=[{"epoch": 1, "train_loss": (losses or {}).get(model, FITTED_LOSS)}])
            (folder / RECORD_FILE).write_text(json.dumps(record))
    return combine(root)


def run_folder(root: Path, model: str, seed: int) -> Path:
    """The folder of one run inside the run folder ``root``, laid out as under ``runs/<profile>``."""
    return Path(root) / paths.MODELS / model / paths.RUN_FOLDER.format(seed=seed)


def combine(root: Path) -> Path:
    """Write ``root``'s scores table from its runs' own, as the ``scores`` stage does (a
    test that edits a run's scores calls it again); return ``root``."""
    scores_of(read_runs(Path(root) / paths.MODELS)).to_csv(Path(root) / paths.SCORES_FILE, index=False)
    return Path(root)
