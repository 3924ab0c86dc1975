"""The crop cache: one entry per ``(dataset, method, video_id)``, written atomically.

An entry is an ``.npz`` of uint8 arrays at ``<root>/<dataset>/<method>/<video_id>.npz``,
zlib-compressed where the profile says so (:attr:`analysis.profiles.Preprocessing.compress`;
lossless either way: the crops read back bit for bit; at the paper sizes, 16 face crops of
224 px, 16 clip crops and 15 flow midpoints of 112 px and the sequence model's 20 face
crops, it is 6.6 MB per video uncompressed and 5.0 MB compressed for crops of a
photograph, `benchmarks/cache_size.py`; each run reads an entry once, so decompressing
costs little, :mod:`analysis.training.crop_datasets`), plus a
completion marker ``<video_id>.done.json`` holding the video's preprocessing report row.
Both are written to a temporary file and renamed, so a process killed at any moment
leaves either a whole entry or none; a video counts as finished only when its marker
exists, and a re-run skips finished videos.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from analysis.atomic_files import atomic_write

Key = tuple[str, str, str]  # (dataset, method, video_id)
# an entry of a profile without a separate sequence sampling (Preprocessing.sequence_frames
# None) holds the sequence model's frames in its face crops
SAME_AS = {"sequence": "faces"}


def _safe(part: str) -> str:
    if not part or "/" in part or "\\" in part or part in (".", ".."):
        raise ValueError(f"{part!r} cannot be part of a cache key (no slashes, not empty)")
    return part


def entry_path(root: Path, key: Key) -> Path:
    dataset, method, video_id = (_safe(p) for p in key)
    return Path(root) / dataset / method / f"{video_id}.npz"


def marker_path(root: Path, key: Key) -> Path:
    return entry_path(root, key).with_suffix(".done.json")


def write_entry(root: Path, key: Key, arrays: dict[str, np.ndarray], report: dict, compress: bool = True) -> Path:
    """Store a video's arrays (zlib-compressed if ``compress``), then its completion marker
    (the report row)."""
    path = entry_path(root, key)
    save = np.savez_compressed if compress else np.savez
    atomic_write(path, lambda handle: save(handle, **arrays))
    atomic_write(marker_path(root, key), lambda handle: handle.write(json.dumps(report).encode()))
    return path


def remove_stale_temporaries(root: Path, key: Key) -> int:
    """Delete half-written files of one entry left by a killed run; return how many.

    Only this key's files are touched, so shards working on other keys of the same
    cache at the same time are safe.
    """
    entry = entry_path(root, key)
    stale = list(entry.parent.glob(f".{entry.stem}.*.tmp")) if entry.parent.is_dir() else []
    for path in stale:
        path.unlink(missing_ok=True)
    return len(stale)


def is_complete(root: Path, key: Key) -> bool:
    return marker_path(root, key).is_file() and entry_path(root, key).is_file()


def read_marker(root: Path, key: Key) -> dict:
    return json.loads(marker_path(root, key).read_text())


def load_entry(root: Path, key: Key) -> dict[str, np.ndarray]:
    """Load every array of a finished entry."""
    if not is_complete(root, key):
        raise FileNotFoundError(
            f"No finished cache entry for {key} under {root}; run `python -m analysis preprocess` first."
        )
    with np.load(entry_path(root, key)) as data:
        return {name: data[name] for name in data.files}


def load_array(root: Path, key: Key, name: str) -> np.ndarray:
    """Load one array of a finished entry (the trainer reads only the one its model needs)."""
    if not is_complete(root, key):
        raise FileNotFoundError(
            f"No finished cache entry for {key} under {root}; run `python -m analysis preprocess` first."
        )
    with np.load(entry_path(root, key)) as data:
        return data[name if name in data.files else SAME_AS.get(name, name)]
