"""The run record: what one training run was and how it went, the second contract of
the data flow (the first is :mod:`analysis.evaluation.scores_table`).

A run folder (:func:`analysis.paths.run_folder`: ``runs/<profile>/models/<model>/seed<seed>/``)
holds ``best.pt``, ``last.pt``, ``record.json`` (fields :data:`REQUIRED_FIELDS`, including
the resolved profile under ``config.profile``) and ``scores.csv``. :func:`read_runs` is the
one way to read runs (the training chapter, the provenance page, the ``scores`` stage and
the ``Detector`` use it); the study reads only their records (:func:`read_records`) and
the ``scores`` stage's one table of every run's scores (:func:`scores_of`).
"""

from __future__ import annotations

import json
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from analysis.errors import UserInputError
from analysis.evaluation.scores_table import read_scores, validate_scores
from analysis.paths import BEST_CHECKPOINT, LAST_CHECKPOINT  # noqa: F401  (the trainer's names for them)
from analysis.paths import PROJECT_ROOT, RECORD_FILE
from analysis.paths import RUN_SCORES_FILE as SCORES_FILE

RUN_FORMAT = 4  # version of the run folder layout; readers refuse runs of another format
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


def read_record(folder: Path) -> dict:
    """The validated record of the run in ``folder``."""
    path = Path(folder) / RECORD_FILE
    try:
        record = json.loads(path.read_text())
    except ValueError as err:  # not JSON, or not text (JSONDecodeError and UnicodeDecodeError)
        raise UserInputError(f"{path} is not valid JSON ({err}): a damaged or hand-edited record; "
                             "retrain the run with `python -m analysis run`.") from None
    if not isinstance(record, dict):
        raise UserInputError(f"{path} is not a run record (a JSON object).")
    return validate_record(record, origin=str(path))


def read_run(folder: Path) -> Run:
    """One finished run, validated; raises if it is incomplete."""
    folder = Path(folder)
    if not (folder / RECORD_FILE).is_file() or not (folder / SCORES_FILE).is_file():
        raise UserInputError(f"{folder} is not a finished run: {RECORD_FILE} and {SCORES_FILE} are written when "
                             "training ends (`python -m analysis run`).")
    return Run(folder, read_record(folder), read_scores(folder / SCORES_FILE))


def run_folders(folder: Path) -> list[Path]:
    """The run in ``folder``, or every run below it (such as ``runs/cpu/models``), in
    folder order."""
    folder = Path(folder)
    if (folder / RECORD_FILE).is_file():
        return [folder]
    runs = sorted(p.parent for p in folder.rglob(RECORD_FILE))
    if not runs:
        raise UserInputError(f"{folder} holds no trained run (no {RECORD_FILE} in it or below it); "
                             "train with `python -m analysis run`.")
    return runs


def read_runs(folder: Path) -> list[Run]:
    """The run in ``folder``, or every run below it, in folder order (:func:`run_folders`)."""
    return [read_run(run) for run in run_folders(folder)]


def read_records(folder: Path) -> list[dict]:
    """The records of the run in ``folder`` or of every run below it, in folder order,
    without their scores (the study reads those from the ``scores`` stage's table)."""
    return [read_record(run) for run in run_folders(folder)]


def scores_of(runs: list[Run]) -> pd.DataFrame:
    """Every run's scores in one validated table, in folder order: what the ``scores``
    stage writes (:func:`analysis.paths.scores_file`)."""
    origin = "scores of the runs " + ", ".join(str(run.path) for run in runs[:3]) + (", ..." if len(runs) > 3 else "")
    return validate_scores(pd.concat([run.scores for run in runs], ignore_index=True), origin=origin)
