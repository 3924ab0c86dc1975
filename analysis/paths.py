"""Where the project's folders are, so no module hard-codes a path."""

from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent
BOOK_DIR = PROJECT_ROOT / "book"
MANIFEST_DIR = PROJECT_ROOT / "data_manifests"
FFPP_SPLIT_DIR = MANIFEST_DIR / "ffpp_splits"
RUNS_DIR = PROJECT_ROOT / "runs"


def run_dir(profile: str) -> Path:
    """The folder that holds everything one profile's run produces."""
    return RUNS_DIR / profile
