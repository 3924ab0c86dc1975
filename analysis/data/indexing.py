"""Index the real datasets on disk into manifests (FaceForensics++ C23, Celeb-DF v2).

Indexing only lists files and assigns splits; it does not decode videos. Broken videos
are found and reported by preprocessing.
"""

from __future__ import annotations

import os
import re
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from analysis.errors import UserInputError
from analysis.data.splits import CELEBDF, identity_split, ids_by_split, load_official_pairs
from analysis.paths import FFPP_SPLIT_DIR

VIDEO_SUFFIXES = (".mp4", ".avi", ".mov", ".mkv")
FFPP_METHODS = ("Deepfakes", "Face2Face", "FaceSwap", "NeuralTextures", "FaceShifter")
FFPP_REAL_METHOD = "original"
FFPP_COMPRESSION_ALIASES = {"c0": "raw"}  # the paper's name for the folder the download script calls raw
FFPP_COMPRESSIONS = ("raw", "c23", "c40")  # the download script's folders
SELECTION = "selection"  # the manifest column saying which part of the release was indexed
CELEBDF_OFFICIAL, CELEBDF_ALL = "official test list", "all videos"
CELEBDF_OFFICIAL_VIDEOS = 518  # lines of Celeb-DF v2's List_of_testing_videos.txt
CELEBDF_FOLDERS = {"Celeb-real": 0, "YouTube-real": 0, "Celeb-synthesis": 1}
CELEBDF_TEST_LIST = "List_of_testing_videos.txt"

_FFPP_REAL = re.compile(r"^(\d{3})$")
_FFPP_FAKE = re.compile(r"^(\d{3})_(\d{3})$")
_CELEB_REAL = re.compile(r"^(id\d+)_\d+$")
_CELEB_FAKE = re.compile(r"^(id\d+)_(id\d+)_\d+$")
_CELEB_YOUTUBE = re.compile(r"^\d+$")


@dataclass
class IndexResult:
    """A manifest and what the indexer noticed on the way (reported, not fatal)."""

    manifest: pd.DataFrame
    notes: list[str] = field(default_factory=list)


def _require_dir(path: Path, what: str) -> Path:
    if not path.is_dir():
        raise UserInputError(f"{what} {path} does not exist or is not a folder.")
    return path


def _videos(folder: Path, unreadable: list[str] | None = None) -> list[Path]:
    """The video files of ``folder``; an entry with a video suffix that is not a file (a
    broken symbolic link, a folder) goes to ``unreadable``, so it is counted, not lost."""
    videos = []
    for p in sorted(folder.iterdir()):
        if p.suffix.lower() not in VIDEO_SUFFIXES:
            continue
        if p.is_file():
            videos.append(p)
        elif unreadable is not None:
            unreadable.append(str(p))
    return videos


def _one_file_per_video(paths: list[Path]) -> None:
    """Refuse two files for one video (``071.mp4`` beside ``071.avi`` or ``071.MP4``),
    naming both: the manifest could keep only one of them."""
    by_video = defaultdict(list)
    for path in paths:
        by_video[(path.parent, path.stem)].append(path)
    twice = [files for files in by_video.values() if len(files) > 1]
    if twice:
        raise UserInputError(f"{len(twice)} video(s) have more than one file, e.g. {' and '.join(map(str, twice[0]))}; "
                             "keep one file per video (move the others out of the dataset's folders).")


def _ffpp_layout_hint(root: Path) -> str:
    """What lies under a root that is not the FF++ layout asked for: the compressions it
    holds, or the folder one level down that does hold ``original_sequences``."""
    found = sorted(p.name for p in (root / "original_sequences" / "youtube").glob("*") if p.is_dir())
    if found:
        return f"Found {', '.join(found)}: pass --compression {found[0]}."
    inner = sorted(p.parent for p in root.glob("*/original_sequences") if p.is_dir())
    return f"Did you mean {inner[0]}?" if inner else ""


def _some(paths: list[str], shown: int = 5) -> str:
    """The first few of a long list of paths, and how many more: enough to look for them."""
    more = f" and {len(paths) - shown} more" if len(paths) > shown else ""
    return ", ".join(paths[:shown]) + more


def _note_unreadable(notes: list[str], unreadable: list[str]) -> None:
    if unreadable:
        notes.append(f"skipped {len(unreadable)} entr(ies) named like videos that are not readable files "
                     f"(a broken link or a folder), e.g. {unreadable[0]}")


def index_ffpp(
    root: Path,
    *,
    split: str = "official",
    seed: int = 0,
    compression: str = "c23",
    split_dir: Path = FFPP_SPLIT_DIR,
) -> IndexResult:
    """Index the standard FaceForensics++ layout at one compression level.

    Originals come from ``original_sequences/youtube/<c>/videos`` and fakes from
    ``manipulated_sequences/<Method>/<c>/videos``; a method missing on disk is noted.
    ``split="official"`` uses the benchmark's pair files, ``split="identity"`` the
    seeded identity-component split.
    """
    root = _require_dir(Path(root), "The FaceForensics++ root")
    compression = compression.lower()
    compression = FFPP_COMPRESSION_ALIASES.get(compression, compression)
    if compression not in FFPP_COMPRESSIONS:
        raise UserInputError(f"--compression {compression}: FaceForensics++ is released as "
                             f"{', '.join(FFPP_COMPRESSIONS)} (raw also called c0).")
    expected = f"original_sequences/youtube/{compression}/videos"
    real_dir = root / expected
    if not real_dir.is_dir():
        raise UserInputError(
            f"{root} does not look like a FaceForensics++ download at compression {compression}: {real_dir} is "
            f"missing. Expected {expected}/000.mp4 ... and manipulated_sequences/<Method>/"
            f"{compression}/videos/000_003.mp4 ... under the root. {_ffpp_layout_hint(root)}".rstrip()
        )
    rows, notes, skipped, unreadable = [], [], [], []
    folders = [(FFPP_REAL_METHOD, real_dir)]
    for method in FFPP_METHODS:
        folder = root / "manipulated_sequences" / method / compression / "videos"
        if folder.is_dir():
            folders.append((method, folder))
        else:
            notes.append(f"method {method} not found on disk ({folder}); indexed without it")
    others = sorted({f"manipulated_sequences/{p.name}" for p in (root / "manipulated_sequences").glob("*")
                     if p.is_dir() and p.name not in FFPP_METHODS}
                    | {f"original_sequences/{p.name}" for p in (root / "original_sequences").glob("*")
                       if p.is_dir() and p.name != "youtube"})
    if others:  # DeepFakeDetection and its actors: not part of the cards' FF++ C23 benchmark
        notes.append(f"not indexed, not among the study's methods: {', '.join(others)}")
    videos = {method: _videos(folder, unreadable) for method, folder in folders}
    for method in [m for m, paths in videos.items() if not paths and m != FFPP_REAL_METHOD]:
        notes.append(f"method {method}: its folder holds no videos (an unfinished download?); indexed without it")
    _one_file_per_video([path for paths in videos.values() for path in paths])
    for method, folder in folders:
        pattern = _FFPP_REAL if method == FFPP_REAL_METHOD else _FFPP_FAKE
        for path in videos[method]:
            match = pattern.match(path.stem)
            if match is None:
                skipped.append(str(path))
                continue
            ids = match.groups()
            rows.append(
                {
                    "dataset": "ffpp",
                    "domain": "source",
                    "video_id": path.stem,
                    "path": os.path.abspath(path),  # a linked root keeps its name: the paths must hold on every machine
                    "label": int(method != FFPP_REAL_METHOD),
                    "method": method,
                    "source_id": ids[0],
                    "target_id": ids[1] if len(ids) > 1 else "",
                }
            )
    if skipped:
        notes.append(
            f"skipped {len(skipped)} file(s) whose names are not FF++ ids, e.g. {skipped[0]}"
        )
    _note_unreadable(notes, unreadable)
    originals = {row["source_id"] for row in rows if row["label"] == 0}
    orphans = [row for row in rows if row["label"] == 1 and row["source_id"] not in originals]
    if orphans and originals:
        notes.append(f"{len(orphans)} manipulated video(s) have no original on disk, e.g. {orphans[0]['video_id']} "
                     f"without original {orphans[0]['source_id']} (an unfinished download?); they are indexed all "
                     "the same")
    if not rows:
        raise UserInputError(
            f"No FaceForensics++ videos found under {root}: the video folders are empty. "
            "Expected files such as 000.mp4 (originals) and 000_003.mp4 (manipulated)."
            + "".join(f" Note: {note}." for note in notes)
        )
    frame = pd.DataFrame(rows).assign(**{SELECTION: compression})
    if frame["label"].nunique() < 2:
        found, absent = ("original", "manipulated") if frame["label"].eq(0).all() else ("manipulated", "original")
        raise UserInputError(
            f"Only {found} videos found under {root} ({len(frame)}), no {absent} one at compression {compression}: "
            f"a detector needs both. Expected {expected}/000.mp4 ... and manipulated_sequences/<Method>/"
            f"{compression}/videos/000_003.mp4 ... for the methods {', '.join(FFPP_METHODS)}."
            + "".join(f" Note: {note}." for note in notes))
    ids = sorted(set(frame["source_id"]) | set(frame["target_id"]) - {""})
    if split == "official":
        assignment = ids_by_split(load_official_pairs(split_dir))
        unknown = sorted(set(ids) - set(assignment))
        if unknown:
            raise UserInputError(
                f"{len(unknown)} id(s) on disk (e.g. {unknown[:3]}) are in none of the "
                f"official split files in {split_dir}; the split files must cover every id."
            )
    elif split == "identity":
        fakes = frame[frame["target_id"] != ""]
        assignment = identity_split(ids, zip(fakes["source_id"], fakes["target_id"]), seed=seed)
    else:
        raise UserInputError(f"Unknown split scheme {split!r}; expected 'official' or 'identity'.")
    frame["split"] = frame["source_id"].map(assignment)
    # each id has one partition, so once every pair lies within one, no id leaks across them
    mismatched = frame[(frame["target_id"] != "") & (frame["target_id"].map(assignment) != frame["split"])]
    if not mismatched.empty:
        first = mismatched.iloc[0]
        raise UserInputError(
            f"{len(mismatched)} manipulated video(s) on disk join ids of two partitions of the "
            f"{split} split, e.g. {first['method']}/{first['video_id']} ({first['source_id']} is in "
            f"{assignment[first['source_id']]}, {first['target_id']} in {assignment[first['target_id']]}): "
            f"{first['path']} is not a pair of the split; remove it or index with --split identity."
        )
    return IndexResult(frame, notes)


def read_celebdf_test_list(path: Path, notes: list[str] | None = None) -> dict[str, int]:
    """Parse ``List_of_testing_videos.txt``: ``<1 real | 0 fake> <folder>/<file>`` per line.

    Returns ``{relative path: label}`` with the project's label convention (1 = fake); a
    line that repeats a video is counted once, and said in ``notes``.
    """
    if not path.is_file():
        raise UserInputError(
            f"The Celeb-DF v2 test list {path} is missing. It ships with the dataset; put it "
            "at the root next to Celeb-real/, or pass --all-videos to mark every video as test."
        )
    listed: dict[str, int] = {}
    raw = path.read_bytes()
    # a Windows editor starts the list with a byte-order mark, and its "Unicode" is UTF-16
    encoding = "utf-16" if raw[:2] in (b"\xff\xfe", b"\xfe\xff") else "utf-8-sig"
    try:
        text = raw.decode(encoding)
    except UnicodeDecodeError as err:
        raise UserInputError(f"{path} is not text in UTF-8 ({err.reason} at byte {err.start}): save the list as "
                             "UTF-8, or use the one that ships with Celeb-DF v2.") from None
    repeated = 0
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        parts = line.strip().split(maxsplit=1)  # a file name may hold a space
        if len(parts) != 2 or parts[0] not in ("0", "1"):
            raise UserInputError(
                f"{path} line {number} reads {line!r}; expected '<1 real | 0 fake> "
                "<folder>/<file>.mp4', such as '1 YouTube-real/00170.mp4'."
            )
        label = 1 - int(parts[0])
        repeated += parts[1] in listed
        if listed.setdefault(parts[1], label) != label:
            raise UserInputError(f"{path} lists {parts[1]} twice with different labels (line {number}).")
    if not listed:
        raise UserInputError(f"The Celeb-DF v2 test list {path} is empty.")
    if repeated and notes is not None:
        notes.append(f"{repeated} line(s) of {path.name} repeat a video listed before; each video is tested once")
    return listed


def index_celebdf(root: Path, *, all_videos: bool = False, allow_missing: bool = False) -> IndexResult:
    """Index Celeb-DF v2 (``Celeb-real``, ``YouTube-real``, ``Celeb-synthesis``).

    By default the manifest holds exactly the videos of the official test list, as
    ``test``: the study never trains on Celeb-DF, so the other videos (about 6,000 of
    6,529) would be decoded and cropped for nothing. With ``all_videos`` every video is
    ``test``. A listed video that is not on disk stops the index, since the test set is
    then no longer the official one; ``allow_missing`` tests on the listed videos that are
    there, and says so.
    """
    root = _require_dir(Path(root), "The Celeb-DF v2 root")
    notes, rows, skipped, unreadable = [], [], [], []
    for folder_name, label in CELEBDF_FOLDERS.items():
        folder = root / folder_name
        if not folder.is_dir():
            notes.append(f"folder {folder_name} not found under {root}")
            continue
        pattern = _CELEB_FAKE if label else _CELEB_YOUTUBE if folder_name == "YouTube-real" else _CELEB_REAL
        videos = _videos(folder, unreadable)
        _one_file_per_video(videos)
        for path in videos:
            match = pattern.match(path.stem)
            if match is None:  # a copy ("id0_0000 (1)"), a macOS "._" file: no Celeb-DF identity
                skipped.append(str(path))
                continue
            ids = match.groups() if label or folder_name != "YouTube-real" else ("",)
            rows.append(
                {
                    "dataset": CELEBDF,
                    "domain": "target",
                    "video_id": path.stem,
                    "path": os.path.abspath(path),  # a linked root keeps its name: the paths must hold on every machine
                    "label": label,
                    "method": folder_name,
                    "relative": f"{folder_name}/{path.name}",
                    "source_id": ids[0],
                    "target_id": ids[1] if len(ids) > 1 else "",
                }
            )
    if skipped:
        notes.append(f"skipped {len(skipped)} file(s) whose names are not Celeb-DF v2 names, e.g. {skipped[0]}")
    _note_unreadable(notes, unreadable)
    if not rows:
        raise UserInputError(
            f"No Celeb-DF v2 videos found under {root}: expected the folders "
            f"{', '.join(CELEBDF_FOLDERS)} holding .mp4 files." + "".join(f" Note: {note}." for note in notes)
        )
    frame = pd.DataFrame(rows).assign(**{SELECTION: CELEBDF_ALL if all_videos else CELEBDF_OFFICIAL})
    if all_videos:
        frame["split"] = "test"
    else:
        listed = read_celebdf_test_list(root / CELEBDF_TEST_LIST, notes)
        on_disk = dict(zip(frame["relative"], frame["label"]))
        by_case = {path.lower(): path for path in on_disk}  # a copy that wrote .MP4 for the list's .mp4
        renamed = {p: by_case[p.lower()] for p in listed if p not in on_disk and p.lower() in by_case}
        if renamed:
            listed = {renamed.get(p, p): label for p, label in listed.items()}
            first = next(iter(renamed))
            notes.append(f"matched {len(renamed)} listed video(s) to files whose names differ only in case, "
                         f"e.g. {first} to {renamed[first]}")
        missing = sorted(set(listed) - set(on_disk))
        if missing and not allow_missing:
            raise UserInputError(
                f"{len(missing)} video(s) of the test list are not on disk under {root}: "
                f"{_some(missing)}; the official test set needs all {len(listed)}. Download them again, "
                "or pass --allow-missing to test on the listed videos that are there."
            )
        if missing:
            notes.append(f"{len(missing)} listed video(s) are not on disk and are left out of the test set: "
                         f"{_some(missing)}")
            listed = {p: label for p, label in listed.items() if p in on_disk}
            if not listed:
                raise UserInputError(f"None of the test list's videos is on disk under {root}.")
        disagree = [p for p, label in listed.items() if on_disk[p] != label]
        if disagree:
            raise UserInputError(
                f"The test list labels {len(disagree)} video(s) against their folder, "
                f"e.g. {disagree[0]}; expected 1 for real folders and 0 for Celeb-synthesis."
            )
        if len(listed) != CELEBDF_OFFICIAL_VIDEOS:  # an edited list is no longer the official test set
            notes.append(f"the test set holds {len(listed)} videos, not the official {CELEBDF_OFFICIAL_VIDEOS}: "
                         "results on it are not comparable with published Celeb-DF v2 numbers")
        left_out = int((~frame["relative"].isin(listed)).sum())
        frame = frame[frame["relative"].isin(listed)].assign(split="test")
        if left_out:
            notes.append(f"left out {left_out} video(s) not on the official test list "
                         "(pass --all-videos to test on every video)")
    if frame["label"].nunique() < 2:
        raise UserInputError(f"Only {'fake' if frame['label'].eq(1).all() else 'real'} videos found under {root}: "
                             f"the cross-domain test needs both, from {', '.join(CELEBDF_FOLDERS)}."
                             + "".join(f" Note: {note}." for note in notes))
    return IndexResult(frame.drop(columns="relative"), notes)
