"""Which manifest a profile studies."""

import pytest

from analysis import data
from analysis.errors import UserInputError


def test_paper_profile_without_real_manifests_says_what_to_run(tmp_path, monkeypatch):
    monkeypatch.setattr(data, "REAL_MANIFESTS", {"ffpp": tmp_path / "ffpp.csv", "celebdf": tmp_path / "celebdf.csv"})
    with pytest.raises(UserInputError, match="python -m analysis index ffpp ROOT"):
        data.study_manifest("paper", seed=0)


def test_paper_profile_combines_ffpp_and_celebdf(tmp_path, monkeypatch):
    import pandas as pd

    from analysis.manifest import read_manifest, write_manifest

    def one(dataset, domain, method, label):
        return {"dataset": dataset, "domain": domain, "video_id": "000", "path": "/v.mp4", "label": label,
                "method": method, "split": "test", "source_id": "000", "target_id": ""}

    paths = {
        "ffpp": write_manifest(pd.DataFrame([one("ffpp", "source", "original", 0)]), tmp_path / "ffpp.csv"),
        "celebdf": write_manifest(pd.DataFrame([one("celebdf", "target", "Celeb-real", 0)]), tmp_path / "celebdf.csv"),
    }
    monkeypatch.setattr(data, "REAL_MANIFESTS", paths)
    monkeypatch.setattr(data, "run_dir", lambda profile: tmp_path / profile)
    combined = read_manifest(data.study_manifest("paper", seed=0))
    assert sorted(combined["dataset"]) == ["celebdf", "ffpp"]


def test_benchmark_face_counts_come_from_the_study_preprocessing(monkeypatch, tmp_path):
    """On the embedded benchmark the face rate reuses the preprocessing cache, so MTCNN
    runs once per sampled frame in the whole book."""
    from analysis import preprocess
    from analysis.profiles import get_profile

    monkeypatch.setenv("ANALYSIS_RUNS_DIR", str(tmp_path))
    counts = data.benchmark_face_detections("tiny", seed=0, frames_per_video=99)
    report = preprocess.load_report(tmp_path / "tiny" / "cache")
    assert len(counts) == len(report[report["status"] == "ok"])
    assert (counts["frames"] == get_profile("tiny").frames_per_video).all()
    assert (counts["faces"] <= counts["frames"]).all() and counts["faces"].sum() > 0
    assert {"domain", "method", "label"} <= set(counts.columns)
