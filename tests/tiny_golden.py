"""The tiny profile's outputs, pinned: every model's scores table and the study's CSVs.

A refactor must leave these identical (``tests/test_pin.py`` rebuilds them and compares).
Training is bitwise repeatable on one kind of CPU only: another CPU (another MKL and
oneDNN code path) rounds differently from the first step, which moved the tiny scores by
up to 5e-4 between two of the project's build machines (2026-12-02) and, through rank
flips on a handful of videos, the study's tables far more. So the pin compares the scores
within a tolerance far below what any change of recipe moves, and the study's tables
exactly, recomputed from the golden scores: given its scores the study is exact anywhere
(its linear combinations are summed in a fixed order, not by BLAS, and ``tests/test_pin.py``
reruns it with another CPU's kernels to check).
A change that is meant to move the numbers (the benchmark, the recipe, the statistics)
regenerates them with

    .venv/bin/python -m tests.tiny_golden               (everything: a change to training)
    .venv/bin/python -m tests.tiny_golden --study-only  (the study's tables, from the pinned scores)

and commits the new ``tests/golden/tiny/`` alongside the change that explains it.
"""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
from pathlib import Path

import pandas as pd

GOLDEN_DIR = Path(__file__).parent / "golden" / "tiny"
PROFILE = "tiny"
SEED = 0


SCORES_TOLERANCE = 5e-3  # absolute, on scores in [0, 1] or anomaly scores of order 1 (see above)
TRAINING_COLUMNS = ("lowest training loss",)  # study columns read from run records, not from scores


def build(root: Path, study_scores: Path | None = None) -> dict[str, pd.DataFrame]:
    """Build the tiny profile under ``root`` with ``python -m analysis run``'s stages (the
    chapters only read what they wrote); return ``{file name: table}`` for every run's
    scores table and every table of the results stage. With ``study_scores`` (a folder of ``scores_<model>.csv``),
    the study reads those scores instead of the ones its runs wrote."""
    from analysis.paths import models_dir
    from analysis.run import run
    from analysis.training.run_record import SCORES_FILE, read_runs

    os.environ["ANALYSIS_RUNS_DIR"] = str(root / "runs")  # the chapters' kernels inherit it
    overrides = [f"data.seed={SEED}", f"seeds=[{SEED}]"]
    run(PROFILE, overrides)
    runs = read_runs(models_dir(PROFILE))
    tables = {f"scores_{r.model}.csv": pd.read_csv(r.path / SCORES_FILE) for r in runs}
    if study_scores is not None:
        for r in runs:
            shutil.copyfile(Path(study_scores) / f"scores_{r.model}.csv", r.path / SCORES_FILE)
        run(PROFILE, overrides, only="scores")  # the one table the results stage reads, from the runs' scores
        run(PROFILE, overrides, only="results")  # its fingerprint covers that table
    results = root / "runs" / PROFILE / "results"
    for path in sorted(results.rglob("*.csv")):  # every table of the book: the results stage writes them all
        tables["results_" + "_".join(path.relative_to(results).parts)] = pd.read_csv(path)
    return tables


def main(argv: list[str]) -> int:
    """Regenerate every golden table, or with ``--study-only`` only the study's, recomputed
    from the golden scores (a change to the statistics or the study that leaves training
    alone: the scores stay pinned as they are)."""
    study_only = "--study-only" in argv
    with tempfile.TemporaryDirectory() as scratch:
        tables = build(Path(scratch), study_scores=GOLDEN_DIR if study_only else None)
    if study_only:
        tables = {name: table for name, table in tables.items() if not name.startswith("scores_")}
        for old in GOLDEN_DIR.glob("results_*.csv"):
            old.unlink()
    elif GOLDEN_DIR.exists():
        shutil.rmtree(GOLDEN_DIR)
    GOLDEN_DIR.mkdir(parents=True, exist_ok=True)
    for name, table in tables.items():
        table.to_csv(GOLDEN_DIR / name, index=False)
    print(f"wrote {len(tables)} tables to {GOLDEN_DIR}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
