"""Behaviour is pinned: the tiny profile's scores tables and study CSVs equal the golden
copies in ``tests/golden/tiny/`` (regenerate them with ``python -m tests.tiny_golden``
when a change is meant to move the numbers, and say why in the commit)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys

import pandas as pd
import pytest

from tests import tiny_golden

# Another CPU's arithmetic, on this one: OpenBLAS's kernel for a CPU without AVX and
# numpy's loops without AVX, AVX2 or AVX-512 (names this CPU lacks are ignored).
OTHER_CPU = {"OPENBLAS_CORETYPE": "Nehalem",
             "NPY_DISABLE_CPU_FEATURES": "AVX512F AVX512CD AVX512_SKX AVX2 FMA3 F16C AVX"}


@pytest.fixture(scope="module")
def tiny_build(tmp_path_factory):
    """The tiny profile built once, its study read from the golden scores."""
    root = tmp_path_factory.mktemp("tiny")
    before = os.environ.get("ANALYSIS_RUNS_DIR")
    try:
        yield root, tiny_golden.build(root, study_scores=tiny_golden.GOLDEN_DIR)
    finally:
        if before is None:
            os.environ.pop("ANALYSIS_RUNS_DIR", None)
        else:
            os.environ["ANALYSIS_RUNS_DIR"] = before


def _as_written(table: pd.DataFrame, path) -> pd.DataFrame:
    """Written and read back as the golden copies were, so dtypes and float text agree."""
    table.to_csv(path, index=False)
    return pd.read_csv(path)


@pytest.mark.slow
def test_tiny_profile_outputs_match_the_golden_copies(tiny_build, tmp_path):
    """Scores within a tolerance (training rounds differently on another CPU), and every
    study table exactly, computed from the golden scores."""
    golden = {p.name: p for p in tiny_golden.GOLDEN_DIR.glob("*.csv")}
    assert golden, f"no golden tables in {tiny_golden.GOLDEN_DIR}: run `python -m tests.tiny_golden`"
    _, tables = tiny_build
    assert sorted(tables) == sorted(golden)
    for name, table in tables.items():
        mine, theirs = _as_written(table, tmp_path / name), pd.read_csv(golden[name])
        # training outputs (the scores, the fit gate's training losses) within the tolerance
        trained = list(mine.columns) if name.startswith("scores_") else [
            c for c in tiny_golden.TRAINING_COLUMNS if c in mine.columns]
        pd.testing.assert_frame_equal(mine[trained], theirs[trained], check_exact=False, rtol=0,
                                      atol=tiny_golden.SCORES_TOLERANCE, obj=name)
        rest = [c for c in mine.columns if c not in trained]
        pd.testing.assert_frame_equal(mine[rest], theirs[rest], check_exact=False, rtol=1e-9, atol=1e-12, obj=name)


@pytest.mark.slow
def test_the_study_gives_the_same_tables_with_another_cpus_arithmetic(tiny_build, tmp_path):
    """Given its scores the study is the same on any machine: the results stage run again
    with other BLAS and numpy kernels (which sum in other orders) writes the same tables.
    Before the study summed its linear combinations in a fixed order and let resamples
    within rounding of the estimate tie with it, nine tables differed here, intervals by up
    to 0.25."""
    root, tables = tiny_build
    runs = tmp_path / "runs"
    shutil.copytree(root / "runs", runs)
    shutil.rmtree(runs / tiny_golden.PROFILE / "results")
    env = {**os.environ, **OTHER_CPU, "ANALYSIS_RUNS_DIR": str(runs)}
    subprocess.run([sys.executable, "-m", "analysis", "results", "--profile", tiny_golden.PROFILE],
                   env=env, check=True, capture_output=True)
    results = runs / tiny_golden.PROFILE / "results"
    other = {"results_" + "_".join(p.relative_to(results).parts): p for p in results.rglob("*.csv")}
    assert sorted(other) == sorted(n for n in tables if n.startswith("results_"))
    for name, path in other.items():
        pd.testing.assert_frame_equal(_as_written(tables[name], tmp_path / name), pd.read_csv(path),
                                      check_exact=False, rtol=1e-9, atol=1e-12, obj=name)
