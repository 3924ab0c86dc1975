"""The run record: what one training run was and how it went, the second contract of
the data flow (the first is :mod:`analysis.evaluation.scores_table`).

A run folder ``runs/<profile>/models/<model>/seed<seed>/`` holds ``best.pt``,
``last.pt``, ``record.json`` (fields :data:`REQUIRED_FIELDS`, including the resolved
profile under ``config.profile``) and ``scores.csv``. :func:`read_runs` is the one way to
read runs: the study, the training chapter, the provenance page and the ``Detector`` use it.
"""

from __future__ import annotations

import json
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from analysis.errors import UserInputError
from analysis.evaluation.scores_table import read_scores
from analysis.paths import PROJECT_ROOT, run_dir

RUN_FORMAT = 4  # version of the run folder layout; readers refuse runs of another format
RECORD_FILE, SCORES_FILE, BEST_CHECKPOINT = "record.json", "scores.csv", "best.pt"
REQUIRED_FIELDS = (
    "run_format", "config", "profile", "model", "arch", "view", "input_kind", "input_size", "frames",
    "pretrained", "card", "schedule", "recipe", "seed", "device", "world_size", "git_commit", "versions",
    "parameters", "history", "best_epoch", "best_val_auc", "stop_reason", "stop", "complete", "train_items", "train_seconds",
    "score_seconds",
)


@dataclass(frozen=True)
class Run:
    """One finished run: its folder, its record and its scores table."""

    path: Path
    record: dict
    scores: pd.DataFrame

    @property
    def model(self) -> str:
        return self.record["model"]

    @property
    def seed(self) -> int:
        return int(self.record["seed"])


def models_dir(profile: str) -> Path:
    return run_dir(profile) / "models"


def run_folder(profile: str, model: str, seed: int) -> Path:
    """Where the run of ``model`` with training seed ``seed`` lives."""
    return models_dir(profile) / model / f"seed{seed}"


def git(*args: str) -> str:
    """Output of a git command in the project, or "" outside a git checkout."""
    try:
        return subprocess.run(["git", *args], cwd=PROJECT_ROOT, capture_output=True, text=True,
                              check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return ""


def write_record(folder: Path, record: dict) -> Path:
    """Validate and write ``record.json``."""
    validate_record(record, origin=f"record of {folder}")
    path = Path(folder) / RECORD_FILE
    path.write_text(json.dumps(record, indent=2))
    return path


def validate_record(record: dict, *, origin: str) -> dict:
    if record.get("run_format") != RUN_FORMAT:
        raise UserInputError(
            f"{origin} was written by another version of the study (run format {record.get('run_format')}, "
            f"this code reads {RUN_FORMAT}); rebuild it with `python -m analysis run`."
        )
    missing = [f for f in REQUIRED_FIELDS if f not in record]
    if missing:
        raise UserInputError(f"{origin} lacks the field(s) {missing}.")
    return record


def read_run(folder: Path) -> Run:
    """One finished run, validated; raises if it is incomplete."""
    folder = Path(folder)
    if not (folder / RECORD_FILE).is_file() or not (folder / SCORES_FILE).is_file():
        raise UserInputError(f"{folder} is not a finished run: {RECORD_FILE} and {SCORES_FILE} are written when "
                             "training ends (`python -m analysis run`).")
    record = validate_record(json.loads((folder / RECORD_FILE).read_text()), origin=str(folder / RECORD_FILE))
    return Run(folder, record, read_scores(folder / SCORES_FILE))


def read_runs(folder: Path) -> list[Run]:
    """The run in ``folder``, or every run below it (such as ``runs/cpu/models``), in
    folder order."""
    folder = Path(folder)
    if (folder / RECORD_FILE).is_file():
        return [read_run(folder)]
    runs = sorted(p.parent for p in folder.rglob(RECORD_FILE))
    if not runs:
        raise UserInputError(f"{folder} holds no trained run (no {RECORD_FILE} in it or below it); "
                             "train with `python -m analysis run`.")
    return [read_run(run) for run in runs]
