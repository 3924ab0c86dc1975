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


# Everything under runs/<profile>/, by the stage that writes it (ARCHITECTURE.md). Training
# runs live under models/<model>/seed<N>/ (analysis.training.run_record names their files).
PROFILE_FILE = "profile.json"  # the resolved profile of the last `run`, overrides included
LOG_FILE = "run.log"  # everything `run` printed
BENCHMARK, CACHE, MODELS = "benchmark", "cache", "models"  # data, preprocess and train stages
SCORES_FILE = "scores.csv"  # scores stage: every run's scores in one validated table
RESULTS, SUMMARY = "results", "summary"  # results stage: every table of the book; the results page's


def profile_file(profile: str) -> Path:
    return run_dir(profile) / PROFILE_FILE


def benchmark_dir(profile: str) -> Path:
    """The embedded benchmark of a profile (a REAL profile has one too: the book shows it)."""
    return run_dir(profile) / BENCHMARK


def probes_file(profile: str) -> Path:
    """The benchmark's shortcut probes, fitted once by the data stage (the benchmark chapter reads them)."""
    return benchmark_dir(profile) / "probes" / "probe_aucs.csv"


def cache_dir(profile: str) -> Path:
    return run_dir(profile) / CACHE


def scores_file(profile: str) -> Path:
    return run_dir(profile) / SCORES_FILE


def results_dir(profile: str) -> Path:
    return run_dir(profile) / RESULTS


def summary_dir(profile: str) -> Path:
    return results_dir(profile) / SUMMARY
