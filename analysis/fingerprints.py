"""Fingerprint-and-skip, the one rule every stage of ``python -m analysis run`` (and the
``results`` stage of the study) follows: an output folder carries the fingerprint of its
code, inputs and settings (:data:`STAMP`); an unchanged one is kept, a stale one rebuilt, an
interrupted one with the same fingerprint resumed (:data:`BUILDING`)."""

from __future__ import annotations

import hashlib
import json
import shutil
from collections.abc import Callable, Iterable
from pathlib import Path

STAMP, BUILDING = "fingerprint.txt", "building.txt"
BUILT: list[Path] = []  # every folder build_if_stale built in this process (a stage's timing reads it)


def fingerprint(files: Iterable[Path], settings: dict) -> str:
    """What an output depends on: the bytes of ``files`` (code and inputs) and ``settings``."""
    digest = hashlib.sha256()
    for path in files:
        path = Path(path)
        digest.update(path.name.encode())
        digest.update(path.read_bytes() if path.is_file() else b"missing")
    digest.update(json.dumps(settings, sort_keys=True, default=str).encode())
    return digest.hexdigest()[:16]


def build_if_stale(out_dir: Path, expected: str, build: Callable[[], object], *,
                   outputs: tuple[str, ...] = ()) -> bool:
    """Run ``build`` unless ``out_dir`` holds a finished build with fingerprint ``expected``
    (and every file of ``outputs``). A folder built from anything else is removed first;
    one whose interrupted build had the same fingerprint is kept, so the build resumes.
    Returns whether it built."""
    out_dir = Path(out_dir)
    stamp, building = out_dir / STAMP, out_dir / BUILDING
    if stamp.is_file() and stamp.read_text() == expected and all((out_dir / o).exists() for o in outputs):
        return False
    resumable = building.is_file() and building.read_text() == expected
    if out_dir.exists() and not resumable:
        shutil.rmtree(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    stamp.unlink(missing_ok=True)
    building.write_text(expected)
    build()
    stamp.write_text(expected)
    building.unlink()
    BUILT.append(out_dir)
    return True


def resume_shard(out_dir: Path, expected: str, build: Callable[[], object]) -> None:
    """Build one shard of a folder that several machines fill: like :func:`build_if_stale`
    but the folder stays unfinished (``building.txt``), so the shards of other machines,
    copied in, and a finishing run without a shard all resume it."""
    out_dir = Path(out_dir)
    stamp, building = out_dir / STAMP, out_dir / BUILDING
    if stamp.is_file() and stamp.read_text() == expected:
        return
    if out_dir.exists() and not (building.is_file() and building.read_text() == expected):
        shutil.rmtree(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    stamp.unlink(missing_ok=True)
    building.write_text(expected)
    build()
