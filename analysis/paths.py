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


def runs_root() -> Path:
    """``runs/``, or ``$ANALYSIS_RUNS_DIR`` when set, as the chapter smoke tests do. A
    relative ``$ANALYSIS_RUNS_DIR`` is read from the project's root, so a notebook's kernel,
    which starts in the notebook's folder, finds the same runs as the shell that set it."""
    return PROJECT_ROOT / (os.environ.get("ANALYSIS_RUNS_DIR") or RUNS_DIR)


def run_dir(profile: str) -> Path:
    """The folder that holds everything one profile's run produces (under :func:`runs_root`)."""
    return runs_root() / profile


def shown_path(text: str) -> str:
    """``text`` with the machine's own folders written as any clone names them: the runs
    folder as ``runs/`` (or ``$ANALYSIS_RUNS_DIR/`` when it is set), the project's
    files relative to its root."""
    shown = "runs/" if runs_root().resolve() == RUNS_DIR else "$ANALYSIS_RUNS_DIR/"
    return text.replace(f"{runs_root()}/", shown).replace(f"{PROJECT_ROOT}/", "")


# Everything under runs/<profile>/, by the stage that writes it (ARCHITECTURE.md); no other
# module spells out a path under runs/<profile>/.
PROFILE_FILE = "profile.json"  # the resolved profile of the last `run`, overrides included
LOG_FILE = "run.log"  # everything `run` printed
SPEED_PROBE_FILE = "speed_probe.json"  # `run`'s speed probe (analysis.training.speed_probe)
STAGE_TIMES_FILE = "stage_times.json"  # wall-clock seconds of each stage when it last built
BOOK_LOG, BOOK_STATUS = "book.log", "book_status.json"  # `book`: the chapters' stderr; each one's pass or fail
BENCHMARK, CACHE, MODELS = "benchmark", "cache", "models"  # data, preprocess and train stages
MANIFEST_FILE = "manifest.csv"  # the benchmark's manifest; a REAL profile's combined study manifest
FAKE_CHANGES_FILE = "artefacts/fake_changes.csv"  # in the benchmark's folder (analysis.benchmark.changes)
FACE_COUNTS_FILE = "face_counts.csv"  # MTCNN's per-video counts on the benchmark (benchmark chapter)
BENCHMARK_FACES = "benchmark_faces"  # a REAL profile's MTCNN pass over the benchmark, kept between builds
SCORES_FILE = "scores.csv"  # scores stage: every run's scores in one validated table
RESULTS, SUMMARY = "results", "summary"  # results stage: every table of the book; the results page's
# one training run's folder, models/<model>/seed<N>/ (its contract: analysis.training.run_record)
RECORD_FILE, RUN_SCORES_FILE = "record.json", "scores.csv"  # the run record; the run's own scores table
BEST_CHECKPOINT, LAST_CHECKPOINT = "best.pt", "last.pt"  # the kept checkpoint; the one a resumed run starts from
TRAIN_LOG = "train.log"  # the run's own output when runs go side by side
RUN_FOLDER = "seed{seed}"  # a run's folder inside its model's folder


def profile_file(profile: str) -> Path:
    return run_dir(profile) / PROFILE_FILE


def stage_times_file(profile: str) -> Path:
    return run_dir(profile) / STAGE_TIMES_FILE


def book_log(profile: str) -> Path:
    """Where the chapters' stderr goes when ``make book`` executes them."""
    return run_dir(profile) / BOOK_LOG


def book_status_file(profile: str) -> Path:
    return run_dir(profile) / BOOK_STATUS


def benchmark_dir(profile: str) -> Path:
    """The embedded benchmark of a profile (a REAL profile has one too: the book shows it)."""
    return run_dir(profile) / BENCHMARK


def benchmark_manifest(profile: str) -> Path:
    return benchmark_dir(profile) / MANIFEST_FILE


def combined_manifest(profile: str) -> Path:
    """A REAL profile's study manifest: FF++ and Celeb-DF combined by the data stage."""
    return run_dir(profile) / MANIFEST_FILE


def face_counts_file(profile: str) -> Path:
    return benchmark_dir(profile) / FACE_COUNTS_FILE


def benchmark_faces_dir(profile: str) -> Path:
    return run_dir(profile) / BENCHMARK_FACES


def probes_file(profile: str) -> Path:
    """The benchmark's shortcut probes, fitted once by the data stage (the benchmark chapter reads them)."""
    return benchmark_dir(profile) / "probes" / "probe_aucs.csv"


def fake_changes_file(profile: str) -> Path:
    """How much every manipulated video of the benchmark changes its source video, measured
    by the generator (the benchmark chapter reads it)."""
    return benchmark_dir(profile) / FAKE_CHANGES_FILE


def input_size_artefacts_file(profile: str) -> Path:
    """How strong every method's artefact is at each model's input size, measured once on
    the crop cache's boxes by the preprocess stage (the benchmark chapter reads it)."""
    return benchmark_dir(profile) / "input_sizes" / "artefact_by_input_size.csv"


def cache_dir(profile: str) -> Path:
    return run_dir(profile) / CACHE


def models_dir(profile: str) -> Path:
    """Every training run of a profile, one folder per model and training seed."""
    return run_dir(profile) / MODELS


def run_folder(profile: str, model: str, seed: int) -> Path:
    """Where the run of ``model`` with training seed ``seed`` lives."""
    return models_dir(profile) / model / RUN_FOLDER.format(seed=seed)


def model_run_folders(profile: str, model: str) -> list[Path]:
    """The folders of every training seed's run of ``model`` there is."""
    return sorted((models_dir(profile) / model).glob(RUN_FOLDER.format(seed="*")))


def scores_file(profile: str) -> Path:
    return run_dir(profile) / SCORES_FILE


def results_dir(profile: str) -> Path:
    return run_dir(profile) / RESULTS


def summary_dir(profile: str) -> Path:
    return results_dir(profile) / SUMMARY
