"""Where the project's folders are, so no module hard-codes a path."""

import os
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent
BOOK_DIR = PROJECT_ROOT / "book"
STORED_DIR = BOOK_DIR / "stored"  # measurements stored with the book (chapters read, never make, them)
EXECUTED_DIR = BOOK_DIR / "notebooks"  # the chapters as `make book` executed them
MANIFEST_DIR = PROJECT_ROOT / "data_manifests"
FFPP_SPLIT_DIR = MANIFEST_DIR / "ffpp_splits"
RUNS_DIR = PROJECT_ROOT / "runs"


def run_dir(profile: str) -> Path:
    """The folder that holds everything one profile's run produces (under ``runs/``, or
    under ``$ANALYSIS_RUNS_DIR`` when set, as the chapter smoke tests do)."""
    return Path(os.environ.get("ANALYSIS_RUNS_DIR") or RUNS_DIR) / profile
