"""Behaviour is pinned: the tiny profile's scores tables and study CSVs equal the golden
copies in ``tests/golden/tiny/`` (regenerate them with ``python -m tests.tiny_golden``
when a change is meant to move the numbers, and say why in the commit)."""

from __future__ import annotations

import pandas as pd
import pytest

from tests import tiny_golden


@pytest.mark.slow
def test_tiny_profile_outputs_match_the_golden_copies(tmp_path, monkeypatch):
    """Scores within a tolerance (training rounds differently on another CPU), and every
    study table exactly, computed from the golden scores."""
    monkeypatch.setenv("ANALYSIS_RUNS_DIR", str(tmp_path / "runs"))
    golden = {p.name: p for p in tiny_golden.GOLDEN_DIR.glob("*.csv")}
    assert golden, f"no golden tables in {tiny_golden.GOLDEN_DIR}: run `python -m tests.tiny_golden`"
    tables = tiny_golden.build(tmp_path, study_scores=tiny_golden.GOLDEN_DIR)
    assert sorted(tables) == sorted(golden)
    for name, table in tables.items():
        # written and read back as the golden copy was, so dtypes and float text agree
        path = tmp_path / name
        table.to_csv(path, index=False)
        mine, theirs = pd.read_csv(path), pd.read_csv(golden[name])
        # training outputs (the scores, the fit gate's training losses) within the tolerance
        trained = list(mine.columns) if name.startswith("scores_") else [
            c for c in tiny_golden.TRAINING_COLUMNS if c in mine.columns]
        pd.testing.assert_frame_equal(mine[trained], theirs[trained], check_exact=False, rtol=0,
                                      atol=tiny_golden.SCORES_TOLERANCE, obj=name)
        rest = [c for c in mine.columns if c not in trained]
        pd.testing.assert_frame_equal(mine[rest], theirs[rest], check_exact=False, rtol=1e-9, atol=1e-12, obj=name)
