"""Pairwise diversity measures on hand-counted cases, and the study tables on real runs."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from analysis import diversity, study


def test_pair_measures_on_counted_cases():
    labels = np.array([1, 1, 1, 1, 0, 0, 0, 0, 1, 0])
    a = np.array([1, 1, 1, 0, 0, 0, 1, 0, 0, 1]).astype(bool)  # right on 0,1,2,4,5,7
    b = np.array([1, 1, 0, 1, 0, 1, 1, 0, 0, 0]).astype(bool)  # right on 0,1,3,4,7,9
    m = diversity.pair_measures(a, b, labels, a.astype(float), b.astype(float))
    # both right: 0,1,4,7 (4); both wrong: 6,8 (2); only a: 2,5 (2); only b: 3,9 (2)
    assert m["disagreement"] == pytest.approx(0.4)
    assert m["double fault"] == pytest.approx(0.2)
    assert m["Yule's Q"] == pytest.approx((4 * 2 - 2 * 2) / (4 * 2 + 2 * 2))
    # verdicts agree on 6 of 10; chance agreement p_e = 0.5*0.5 + 0.5*0.5
    assert m["Cohen's kappa"] == pytest.approx((0.6 - 0.5) / 0.5)


def test_identical_detectors_never_disagree():
    labels = np.array([0, 1, 0, 1, 1])
    verdicts = np.array([0, 1, 1, 1, 0]).astype(bool)
    m = diversity.pair_measures(verdicts, verdicts, labels, np.arange(5.0), np.arange(5.0))
    assert m["disagreement"] == 0 and m["Cohen's kappa"] == 1.0 and m["score correlation"] == pytest.approx(1.0)


def test_matrix_is_symmetric_with_an_empty_diagonal():
    pairs = pd.DataFrame({"model a": ["x", "x", "y"], "model b": ["y", "z", "z"], "disagreement": [0.1, 0.2, 0.3]})
    matrix = diversity.as_matrix(pairs, "disagreement")
    assert matrix.loc["z", "y"] == matrix.loc["y", "z"] == 0.3 and np.isnan(np.diag(matrix)).all()
    assert diversity.mean_pairwise(pairs, ["x", "y", "z"]) == pytest.approx(0.2)


def test_study_tables_from_trained_runs(trained_runs, tmp_path):
    result = study.load_study("tiny", n_resamples=200, models_dir=trained_runs)
    assert result.models == ["resnet18", "r3d18", "deep_svdd", "autoencoder"]
    assert result.one_class == ["deep_svdd", "autoencoder"]
    zoo = "soft_vote(autoencoder+deep_svdd+r3d18+resnet18)"
    assert result.members[zoo] == ("resnet18", "r3d18", "deep_svdd", "autoencoder")
    assert "mean_z(autoencoder+deep_svdd)" in result.members
    gaps = study.gap_table(result)
    assert set(gaps["name"]) == set(result.members)
    for column in ("in-domain AUC", "cross-domain AUC", "gap"):
        assert (gaps[f"{column} low"] <= gaps[column] + 1e-12).all() and (gaps[column] <= gaps[f"{column} high"] + 1e-12).all()
    row = gaps.set_index("name").loc[zoo]
    assert row["best member"] in result.members[zoo]
    assert row["gap"] == pytest.approx(row["in-domain AUC"] - row["cross-domain AUC"])
    path = study.save_table(gaps, tmp_path, "gap")
    assert pd.read_csv(tmp_path / "gap.csv").shape == gaps.shape and path is gaps
    pairs, agreement = study.diversity_tables(result, result.models)
    assert len(pairs) == 6 and 0 <= agreement <= 1
    methods = study.method_auc_table(result, result.models)
    assert set(methods["domain"]) == {"source", "target"} and methods[result.models].notna().all().all()
