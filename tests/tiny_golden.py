"""The tiny profile's outputs, pinned: every model's scores table and the study's CSVs.

A refactor must leave these identical (``tests/test_pin.py`` rebuilds them and compares).
A change that is meant to move the numbers (the benchmark, the recipe, the statistics)
regenerates them with

    .venv/bin/python -m tests.tiny_golden

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
N_RESAMPLES = 50  # bootstrap resamples of the analysis chapters: enough to exercise them
ANALYSIS_CHAPTERS = ("anomaly", "diversity", "gap")


def build(root: Path) -> dict[str, pd.DataFrame]:
    """Build the tiny profile under ``root`` with ``python -m analysis run``'s stages and
    execute the analysis chapters; return ``{file name: table}`` for every run's scores
    table and every study CSV."""
    from analysis.book import build as book_build
    from analysis.run import run
    from analysis.training.run_record import models_dir, read_runs

    os.environ["ANALYSIS_RUNS_DIR"] = str(root / "runs")  # the chapters' kernels inherit it
    run(PROFILE, [f"data.seed={SEED}", f"seeds=[{SEED}]"])
    tables = {f"scores_{r.model}.csv": pd.read_csv(r.path / "scores.csv") for r in read_runs(models_dir(PROFILE))}
    book_build.EXECUTED_DIR = root / "notebooks"
    for chapter in ANALYSIS_CHAPTERS:
        book_build.execute_chapter(chapter, {"profile": PROFILE, "n_resamples": N_RESAMPLES})
    results = root / "runs" / PROFILE / "results"
    for path in sorted(results.rglob("*.csv")):  # the chapters' tables and the results stage's summary
        tables["results_" + "_".join(path.relative_to(results).parts)] = pd.read_csv(path)
    return tables


def main() -> int:
    with tempfile.TemporaryDirectory() as scratch:
        tables = build(Path(scratch))
    if GOLDEN_DIR.exists():
        shutil.rmtree(GOLDEN_DIR)
    GOLDEN_DIR.mkdir(parents=True)
    for name, table in tables.items():
        table.to_csv(GOLDEN_DIR / name, index=False)
    print(f"wrote {len(tables)} tables to {GOLDEN_DIR}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
