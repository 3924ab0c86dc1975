"""The scores table: the contract between training and analysis (DESIGN, data flow).

Long format, one row per scored unit: every validation and test video of both domains
(training videos are not scored) at video level (``frame_index`` :data:`VIDEO_LEVEL`:
the mean of the frames' scores, or a pooling frame model's score of the whole video) and,
for frame models, every sampled frame (``frame_index`` 0, 1, ...; a pooling model's score
of that frame alone). The analysis chapters read only
these tables, through :func:`read_scores`, and select from them with the helpers here.

Columns (:data:`COLUMNS`): the video's key and labels from the manifest, its identity
``group`` (:func:`analysis.data.manifest.identity_groups`, the unit of resampling), the
``model`` and training ``seed`` that scored it, the ``frame_index`` and the ``score``
(a fake probability for classifiers, an anomaly score for one-class models).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from analysis.data.manifest import KEY_COLUMNS, SPLITS
from analysis.errors import UserInputError

COLUMNS = ("dataset", "domain", "split", "video_id", "method", "label", "group", "model", "seed",
           "frame_index", "score")
VIDEO_LEVEL = -1  # frame_index of a video-level row
VIDEO, FRAME = "video", "frame"  # the two levels every result is labelled with (DESIGN rule 9)
SOURCE, TARGET = "source", "target"  # the training domain, and the one touched once for reporting
DOMAINS = (SOURCE, TARGET)
TRAIN, VAL, TEST = SPLITS
_TYPES = {"label": int, "seed": int, "frame_index": int, "score": float}


def validate_scores(table: pd.DataFrame, *, origin: str = "scores table") -> pd.DataFrame:
    """Check columns, domains, splits, labels and that each (model, seed, video, frame)
    appears once; return the table with clean dtypes. ``origin`` names it in errors."""
    missing = [c for c in COLUMNS if c not in table.columns]
    if missing:
        raise UserInputError(f"{origin} lacks the column(s) {missing}; a scores table has {list(COLUMNS)}.")
    table = table.copy()
    for column in COLUMNS:
        table[column] = table[column].astype(_TYPES.get(column, str))
    for column, allowed in (("domain", DOMAINS), ("split", SPLITS), ("label", (0, 1))):
        bad = sorted(set(table[column]) - set(allowed))
        if bad:
            raise UserInputError(f"{origin} has {column} value(s) {bad}; expected one of {list(allowed)}.")
    if (table["frame_index"] < VIDEO_LEVEL).any():
        raise UserInputError(f"{origin} has frame_index values below {VIDEO_LEVEL} (the video-level row).")
    if not np.isfinite(table["score"]).all():
        raise UserInputError(f"{origin} has {int((~np.isfinite(table['score'])).sum())} scores that are not finite.")
    key = ["model", "seed", "dataset", "method", "video_id", "frame_index"]
    duplicated = table.duplicated(key, keep=False)
    if duplicated.any():
        example = table.loc[duplicated, key].iloc[0].to_dict()
        raise UserInputError(f"{origin} scores {int(duplicated.sum())} rows twice, for example {example}.")
    return table


def read_scores(path: Path) -> pd.DataFrame:
    """Read and validate one scores table (a run's ``scores.csv`` or a profile's)."""
    path = Path(path)
    if not path.is_file():
        raise UserInputError(f"No scores table at {path}; build it with `python -m analysis run`.")
    table = pd.read_csv(path, dtype={"video_id": str, "dataset": str, "method": str, "group": str,
                                     "model": str}, keep_default_na=False)
    return validate_scores(table, origin=str(path))


def check_against_manifest(scores: pd.DataFrame, manifest: pd.DataFrame, *, origin: str) -> None:
    """Refuse scores made from another draw of the videos than ``manifest`` (a benchmark
    regenerated with another seed after the runs were scored): the same video names, in
    other splits or with other labels, would pair each score with the wrong video."""
    key = list(KEY_COLUMNS)
    scored = scores[[*key, "split", "label"]].drop_duplicates(key)
    listed = manifest[[*key, "split", "label"]].astype({"label": int})
    joined = scored.merge(listed, on=key, how="left", suffixes=("", " in manifest"), indicator=True)
    wrong = joined[(joined["_merge"] == "left_only") | (joined["split"] != joined["split in manifest"])
                   | (joined["label"] != joined["label in manifest"])]
    if len(wrong):
        first = wrong.iloc[0]
        raise UserInputError(
            f"{len(wrong)} of the {len(scored)} scored videos are not in {origin} as they were scored, e.g. "
            f"{first['method']}/{first['video_id']} ({first['split']}, label {first['label']} in the scores): the "
            "runs were scored on another draw of the data. Score them again (`python -m analysis run --only scores`) "
            "or, in the exercises' folder, copy the built runs again (`make exercise-runs`).")


def at_level(scores: pd.DataFrame, level: str) -> pd.DataFrame:
    """Rows of a scores table at ``video`` or ``frame`` level."""
    if level == VIDEO:
        return scores[scores["frame_index"] == VIDEO_LEVEL]
    if level == FRAME:
        return scores[scores["frame_index"] > VIDEO_LEVEL]
    raise ValueError(f"level must be {VIDEO!r} or {FRAME!r}, got {level!r}")


def subset(scores: pd.DataFrame, domain: str, split: str, level: str = VIDEO) -> pd.DataFrame:
    """One evaluation set (``domain`` and ``split``) at one level."""
    part = at_level(scores, level)
    return part[(part["domain"] == domain) & (part["split"] == split)]


ID_COLUMNS = ["dataset", "domain", "split", "method", "video_id", "label", "group"]  # a wide table's row index


def wide_table(scores: pd.DataFrame, level: str = VIDEO) -> pd.DataFrame:
    """One row per video (indexed by its identity), one column per model."""
    part = at_level(scores, level)
    index = [c for c in ID_COLUMNS if c in part.columns] + ([] if level == VIDEO else ["frame_index"])
    repeated = part.duplicated([*index, "model"])
    if repeated.any():
        example = part.loc[repeated, [*index, "model"]].iloc[0].to_dict()
        raise ValueError(f"{int(repeated.sum())} scores repeat a (video, model), for example {example}: "
                         "select one training seed first (the study does, by its `seed` column).")
    return part.pivot_table(index=index, columns="model", values="score", aggfunc="first")
