"""The manifest: one CSV row per video, the input contract of every later stage.

A video is identified by ``(dataset, method, video_id)``: FaceForensics++ fake names
such as ``000_003`` repeat across manipulation methods, so the video id alone is not a
key. ``label`` is 0 for real and 1 for fake. ``path`` is absolute, or relative to the
folder that holds the manifest file. The format is documented in
``data_manifests/README.md``.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

import pandas as pd

from analysis.atomic_files import atomic_write
from analysis.errors import UserInputError

REQUIRED_COLUMNS = (
    "dataset",
    "video_id",
    "path",
    "label",
    "method",
    "split",
    "source_id",
    "target_id",
)
KEY_COLUMNS = ("dataset", "method", "video_id")
SPLITS = ("train", "val", "test")


def video_keys(rows: pd.DataFrame) -> list[tuple[str, str, str]]:
    """The :data:`KEY_COLUMNS` of every row, in order: a video's key in the crop cache and
    the scores tables (the method is part of it: a fake shares its source's id)."""
    return list(zip(*(rows[column] for column in KEY_COLUMNS)))


def validate_manifest(frame: pd.DataFrame, *, origin: str = "manifest") -> pd.DataFrame:
    """Check columns, labels, splits, key uniqueness and that no id (a person) is in two
    partitions; return the frame with clean dtypes.

    ``origin`` names the file or builder in error messages.
    """
    missing = [c for c in REQUIRED_COLUMNS if c not in frame.columns]
    if missing:
        raise UserInputError(
            f"{origin} lacks the column(s) {missing}; a manifest needs at least "
            f"{list(REQUIRED_COLUMNS)} (see data_manifests/README.md)."
        )
    if frame.empty:
        raise UserInputError(f"{origin} has no rows: there is no video to work on.")
    frame = frame.copy()
    for column in REQUIRED_COLUMNS:
        if column != "label":
            frame[column] = frame[column].fillna("").astype(str)
    bad_labels = sorted(set(frame["label"].astype(str)) - {"0", "1"})
    if bad_labels:
        raise UserInputError(
            f"{origin} has label value(s) {bad_labels}; expected 0 (real) or 1 (fake)."
        )
    frame["label"] = frame["label"].astype(int)
    bad_splits = sorted(set(frame["split"]) - set(SPLITS))
    if bad_splits:
        raise UserInputError(
            f"{origin} has split value(s) {bad_splits}; expected one of {list(SPLITS)}."
        )
    duplicated = frame.duplicated(list(KEY_COLUMNS), keep=False)
    if duplicated.any():
        example = frame.loc[duplicated, list(KEY_COLUMNS)].iloc[0].to_dict()
        raise UserInputError(
            f"{origin} lists {int(duplicated.sum())} rows whose (dataset, method, video_id) "
            f"is not unique, for example {example}; each video must appear once."
        )
    for _, part in frame.groupby("dataset", sort=False):  # ids name people within one dataset
        try:
            check_disjoint(zip(zip(part["source_id"], part["target_id"]), part["split"]))
        except UserInputError as leak:
            raise UserInputError(f"{origin}: {leak}") from None
    return frame


def check_disjoint(assignment_by_video: Iterable[tuple[Iterable[str], str]]) -> None:
    """Raise if any id occurs in videos of two different partitions."""
    seen: dict[str, str] = {}
    for video_ids, split in assignment_by_video:
        for source_id in video_ids:
            if not source_id:
                continue
            previous = seen.setdefault(source_id, split)
            if previous != split:
                raise UserInputError(
                    f"Id {source_id!r} appears in both {previous!r} and {split!r}: "
                    "the split leaks an identity across partitions."
                )


def write_manifest(frame: pd.DataFrame, path: Path) -> Path:
    """Validate and write a manifest CSV whole (another process may be reading it: the
    preprocess stage rewrites the study manifest on every run, shards included)."""
    frame = validate_manifest(frame, origin=f"manifest for {path}")
    path = Path(path)
    atomic_write(path, lambda handle: frame.to_csv(handle, index=False))
    return path


def read_manifest(path: Path) -> pd.DataFrame:
    """Read and validate a manifest; relative video paths become absolute."""
    path = Path(path)
    if not path.is_file():
        raise UserInputError(
            f"No manifest at {path}. Make one with `python -m analysis index ...` "
            "or `python -m analysis synth ...`."
        )
    try:
        frame = pd.read_csv(path, dtype={c: str for c in REQUIRED_COLUMNS}, keep_default_na=False)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as err:
        raise UserInputError(f"{path} is not a readable CSV manifest ({err}).") from err
    frame = validate_manifest(frame, origin=str(path))
    base = path.resolve().parent
    frame["path"] = [str(p if Path(p).is_absolute() else base / p) for p in frame["path"]]
    return frame

