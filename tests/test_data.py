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


def test_manifests_are_found_as_typed_and_must_be_what_the_profile_names(tmp_path, monkeypatch, tiny_video):
    from analysis.profiles import resolve

    source, target = study_manifests(tiny_video)
    manifests = tmp_path / "manifests"
    write_manifest(pd.DataFrame(source).assign(selection="c40"), tmp_path / "mine" / "ffpp.csv")
    write_manifest(pd.DataFrame(target).assign(selection="all videos"), tmp_path / "mine" / "celebdf.csv")
    monkeypatch.setattr(sources, "MANIFEST_DIR", manifests)
    monkeypatch.chdir(tmp_path)  # names relative to the current folder, as a user types them
    typed = resolve("paper", ["data.manifests=[mine/ffpp.csv,mine/celebdf.csv]"])
    assert sources.real_manifests(typed) == [tmp_path / "mine" / "ffpp.csv", tmp_path / "mine" / "celebdf.csv"]
    with pytest.raises(UserInputError, match=r"holds videos at compression c40, but the paper profile names its source data "
                                             r"'FaceForensics\+\+ C23'.*-o \"data.source_dataset=\.\.\.\""):
        sources.real_videos(typed)
    relabelled = resolve("paper", ["data.manifests=[mine/ffpp.csv,mine/celebdf.csv]",
                                   "data.source_dataset=FaceForensics++ C40"])
    with pytest.raises(UserInputError, match=r"holds every video \(indexed with --all-videos\), but .* names its target data"):
        sources.real_videos(relabelled)
    both = resolve("paper", ["data.manifests=[mine/ffpp.csv,mine/celebdf.csv]", "data.source_dataset=FF++ C40",
                             "data.target_dataset=Celeb-DF v2, all videos"])
    assert len(sources.real_videos(both)) == len(source) + len(target)
    with pytest.raises(UserInputError, match="lists no manifests"):
        sources.real_manifests(resolve("paper", ["data.manifests=[]"]))
    with pytest.raises(UserInputError, match=r"are missing \(a relative name is read under"):
        sources.real_manifests(resolve("paper", ["data.manifests=[a.csv,b.csv]"]))


def test_benchmark_profiles_study_the_benchmark_manifest(tmp_path, monkeypatch):
    monkeypatch.setenv("ANALYSIS_RUNS_DIR", str(tmp_path))
    assert sources.study_manifest("tiny") == sources.benchmark_manifest("tiny") == tmp_path / "tiny" / "benchmark" / "manifest.csv"
    assert sources.study_manifest("paper") == tmp_path / "paper" / "manifest.csv"
