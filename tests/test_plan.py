"""The plan before the work (``run --dry-run``) and preprocessing in shards across machines."""

from __future__ import annotations

import pandas as pd
import pytest

from analysis import plan, run
from analysis.cli import main
from analysis.preprocess.pipeline import load_record, load_report, shard
from analysis.profiles import apply_overrides, get_profile
from tests.conftest import link_videos

PAPER = get_profile("paper")


def manifest(rows: list[tuple[str, str, int, int]]) -> pd.DataFrame:
    """(domain, split, label, videos) -> one manifest row per video."""
    out = [{"dataset": "d", "method": "m", "video_id": f"{domain}{split}{label}_{k}", "domain": domain,
            "split": split, "label": label} for domain, split, label, n in rows for k in range(n)]
    return pd.DataFrame(out)


VIDEOS = manifest([("source", "train", 0, 10), ("source", "train", 1, 40), ("source", "val", 0, 2),
                   ("source", "val", 1, 8), ("source", "test", 0, 3), ("source", "test", 1, 6),
                   ("target", "test", 0, 4), ("target", "train", 1, 7)])


def test_videos_per_split_counts_real_and_fake():
    table = plan.videos_per_split(VIDEOS)
    assert table.loc[("source", "train")].to_dict() == {"real": 10, "fake": 40, "videos": 50}
    assert table["videos"].sum() == len(VIDEOS)


def test_cache_disk_is_every_array_of_every_video():
    raw, stored = plan.cache_gigabytes(PAPER, 1000)
    p = PAPER.preprocessing
    one = 3 * (16 * 224**2 + 16 * 112**2 + 15 * 112**2 + 20 * 224**2)  # faces, clip, flow, sequence
    assert (p.frames_per_video, p.crop_size, p.clip_crop_size, p.sequence_frames) == (16, 224, 112, 20)
    assert raw == pytest.approx(1000 * one / 1e9) and stored == pytest.approx(raw * plan.STORED_SHARE)


def test_samples_per_run_follow_the_model_kind_and_the_recipe():
    frames = PAPER.preprocessing.frames_per_video
    assert plan.model_items(PAPER, "resnet18", VIDEOS) == {"train": 50 * frames, "val": 10 * frames,
                                                           "score": 23 * frames}
    assert plan.model_items(PAPER, "r3d18", VIDEOS) == {"train": 50, "val": 10, "score": 23}
    assert plan.model_items(PAPER, "deep_svdd", VIDEOS)["train"] == 10 * frames  # reals only
    tiny = get_profile("tiny")  # two frames per video and epoch
    assert plan.model_items(tiny, "resnet18", VIDEOS)["train"] == 50 * 2


def test_streamed_split_files_hold_every_video_a_run_reads_at_its_input_size():
    used = 50 + 10 + 23  # source train and val, then every validation and test video scored
    assert plan.split_files_gigabytes(PAPER, "r3d18", VIDEOS) == pytest.approx(used * 16 * 3 * 112**2 / 1e9)
    frames = PAPER.preprocessing.frames_per_video
    assert plan.split_files_gigabytes(PAPER, "resnet18", VIDEOS) == pytest.approx(used * frames * 3 * 224**2 / 1e9)


def test_hours_add_every_epoch_its_validation_and_the_scoring():
    costs = pd.DataFrame([["r3d18", "paper", "cpu", 10.0, 2.0, "measured"],
                          ["r3d18", "paper", "cuda", 100.0, 20.0, "gpu"]],
                         columns=["name", "profile", "device", "forward_per_second", "train_per_second", "source"])
    hours, row = plan.training_hours(PAPER, "r3d18", VIDEOS, costs, "cuda")
    epochs = PAPER.recipe.warmup_epochs + PAPER.recipe.epochs  # two-stage
    assert row.source == "gpu" and hours == pytest.approx((epochs * (50 / 20 + 10 / 100) + 23 / 100) / 3600)
    assert plan.training_hours(PAPER, "r3d18", VIDEOS, costs, "tpu")[1].device == "cpu"  # the row it has
    assert plan.training_hours(PAPER, "resnet18", VIDEOS, costs, "cuda") is None


def test_the_committed_cost_table_covers_every_paper_model_with_a_source():
    costs = plan.read_costs()
    paper = costs[costs["profile"] == "paper"]
    assert set(PAPER.model_names()) | {plan.PREPROCESS_ROW} <= set(paper["name"])
    assert (paper["forward_per_second"] > 0).all() and paper["source"].str.len().gt(0).all()
    models = paper[paper["name"] != plan.PREPROCESS_ROW]
    assert (models["train_per_second"] > 0).all()


@pytest.fixture
def indexed(tiny_video, tmp_path):
    """Manifests of a small FF++ tree and Celeb-DF tree (indexing reads no pixels)."""
    from analysis.data.splits import load_official_pairs

    pairs = [p for split in load_official_pairs().values() for p in split[:2]]
    root = tmp_path / "data"
    link_videos(tiny_video, root / "ffpp/original_sequences/youtube/c23/videos", sorted({i for p in pairs for i in p}))
    link_videos(tiny_video, root / "ffpp/manipulated_sequences/Deepfakes/c23/videos", [f"{a}_{b}" for a, b in pairs])
    link_videos(tiny_video, root / "celebdf/Celeb-real", ["id0_0000", "id1_0000"])
    link_videos(tiny_video, root / "celebdf/Celeb-synthesis", ["id0_id1_0000"])
    (root / "celebdf/List_of_testing_videos.txt").write_text("1 Celeb-real/id0_0000.mp4\n0 Celeb-synthesis/id0_id1_0000.mp4\n")
    paths = [str(tmp_path / "ffpp.csv"), str(tmp_path / "celebdf.csv")]
    assert main(["index", "ffpp", str(root / "ffpp"), "--out", paths[0]]) == 0
    assert main(["index", "celebdf", str(root / "celebdf"), "--out", paths[1]]) == 0
    return paths


def test_dry_run_prints_the_plan_and_builds_nothing(indexed, tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("ANALYSIS_RUNS_DIR", str(tmp_path / "runs"))
    status = main(["run", "--profile", "paper", "--dry-run", "-o", f"data.manifests=[{','.join(indexed)}]"])
    printed = capsys.readouterr().out
    assert status == 0
    videos = sum(len(pd.read_csv(path)) for path in indexed)
    assert "videos per split" in printed and "target" in printed and f"crop cache: {videos} videos" in printed
    for stage in run.STAGES:
        assert f"  {stage} " in printed
    assert list(plan.stage_states(PAPER)) == list(run.STAGES)  # every stage, in the order they run
    for model in PAPER.model_names():
        assert f"train {model}" in printed
    assert "preprocess" in printed and "sources of the figures" in printed and " h " in printed
    size = PAPER.data.benchmark  # the benchmark chapter's work is named too: CPU minutes beside the GPU hours
    pairs = size.train_pairs + size.val_pairs + size.test_pairs + 3 * size.target_pairs
    assert f"the embedded benchmark ({pairs} identity pairs" in printed and "MTCNN's faces" in printed
    assert not (tmp_path / "runs").exists()  # nothing written, no speed probe, no log


def test_dry_run_with_only_says_which_stages_it_leaves_alone(indexed, tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("ANALYSIS_RUNS_DIR", str(tmp_path / "runs"))
    manifests = f"data.manifests=[{','.join(indexed)}]"
    assert main(["run", "--profile", "paper", "--dry-run", "--only", "results", "-o", manifests]) == 0
    printed = capsys.readouterr().out
    assert "  data        not run (--only results)" in printed and "  train       not run (--only results)" in printed
    assert "  results     rebuilt from the runs" in printed and "--only results runs only its own rows" in printed
    assert main(["run", "--profile", "paper", "--dry-run", "--only", "train:resnet18", "-o", manifests]) == 0
    assert f"  train       {len(PAPER.seeds)} run(s) of resnet18 only" in capsys.readouterr().out


@pytest.mark.parametrize("change, message", [
    ("twice", "not unique"),  # the FF++ manifest listed twice
    ("source only", "no real or fake video in the target domain's test split"),
    ("moved", "are not on this machine"),  # indexed elsewhere, or the disk not mounted
])
def test_dry_run_refuses_manifests_that_cannot_carry_the_study(indexed, tmp_path, monkeypatch, capsys, change,
                                                              message):
    """As the data stage would, before anything is built: the dry run is where a user
    learns that a run would fail."""
    monkeypatch.setenv("ANALYSIS_RUNS_DIR", str(tmp_path / "runs"))
    manifests = {"twice": [indexed[0], indexed[0], indexed[1]], "source only": indexed[:1], "moved": indexed}[change]
    if change == "moved":
        frame = pd.read_csv(indexed[1], dtype=str, keep_default_na=False)
        frame.loc[0, "path"] = str(tmp_path / "elsewhere.mp4")
        frame.to_csv(indexed[1], index=False)
    assert main(["run", "--profile", "paper", "--dry-run", "-o", f"data.manifests=[{','.join(manifests)}]"]) == 2
    assert message in capsys.readouterr().err
    assert not (tmp_path / "runs").exists()


def test_machine_shards_cover_every_video_once_whatever_their_processes():
    videos = VIDEOS.assign(video_id=[f"v{k:03d}" for k in range(len(VIDEOS))])
    for processes in ((1, 1), (4, 2), (3, 1), (2, 4, 3)):
        machines = len(processes)
        taken = [v for i, p in enumerate(processes, start=1) for spec in run.local_shards((i, machines), p)
                 for v in shard(videos, *spec)["video_id"]]
        assert sorted(taken) == sorted(videos["video_id"]), processes
    assert run.local_shards((1, 1), 2) == [(1, 2), (2, 2)]  # one machine: the shards it always used


@pytest.mark.slow
def test_shards_on_two_machines_then_one_finishing_run_give_one_report(tmp_path, monkeypatch):
    monkeypatch.setenv("ANALYSIS_RUNS_DIR", str(tmp_path / "runs"))
    monkeypatch.setattr(run.os, "cpu_count", lambda: 1)  # one process per machine, in this process
    profile = apply_overrides(get_profile("tiny"), ["data.benchmark.train_pairs=2", "data.benchmark.val_pairs=1",
                                                         "data.benchmark.test_pairs=1"])
    monkeypatch.setattr(run, "resolve", lambda name, overrides: profile)
    probe = {"samples_per_second": {"resnet18": 1.0, "r3d18": 1.0}, "processes": 1}  # no time spent probing
    monkeypatch.setattr(run.speed_probe, "measure", lambda processes: probe)
    run.run("tiny", only="data")
    cache = run.cache_dir(profile.name)
    for machine in ((1, 2), (2, 2)):
        run.run("tiny", shard=machine)
        assert (cache / run.BUILDING).is_file() and not (cache / run.STAMP).is_file()  # not finished
    halves = load_report(cache)
    run.run("tiny", only="preprocess")
    assert (cache / run.STAMP).is_file()
    record, report = load_record(cache), load_report(cache)
    assert record["videos"] == record["reused_from_cache"] == len(report) == len(halves)
    assert not report.duplicated(["dataset", "method", "video_id"]).any()
    with pytest.raises(Exception, match="--only preprocess"):
        run.run("tiny", only="train", shard=(1, 2))
