"""Which manifest a profile studies, and the data stage that writes it."""

import pandas as pd
import pytest

from analysis.data import sources
from analysis.data.manifest import read_manifest, write_manifest
from analysis.errors import UserInputError
from analysis.profiles import get_profile
from tests.conftest import study_manifests


def test_paper_profile_without_real_manifests_says_what_to_run(tmp_path, monkeypatch):
    monkeypatch.setattr(sources, "MANIFEST_DIR", tmp_path)
    with pytest.raises(UserInputError, match="python -m analysis index ffpp ROOT"):
        sources.real_manifests(get_profile("paper"))


def test_paper_profile_combines_ffpp_and_celebdf(tmp_path, monkeypatch, tiny_video):
    source, target = study_manifests(tiny_video)
    write_manifest(pd.DataFrame(source), tmp_path / "ffpp_c23.csv")
    write_manifest(pd.DataFrame(target), tmp_path / "celebdf_v2.csv")
    monkeypatch.setattr(sources, "MANIFEST_DIR", tmp_path)
    monkeypatch.setenv("ANALYSIS_RUNS_DIR", str(tmp_path / "runs"))
    paper = get_profile("paper")
    combined = read_manifest(sources.combine_real_manifests(paper, sources.study_manifest(paper)))
    assert combined["dataset"].value_counts().to_dict() == {"ffpp": 6, "celebdf": 2}


def test_benchmark_profiles_study_the_benchmark_manifest(tmp_path, monkeypatch):
    monkeypatch.setenv("ANALYSIS_RUNS_DIR", str(tmp_path))
    assert sources.study_manifest("tiny") == sources.benchmark_manifest("tiny") == tmp_path / "tiny" / "benchmark" / "manifest.csv"
    assert sources.study_manifest("paper") == tmp_path / "paper" / "manifest.csv"
