"""Inputs nobody prepared for: broken links and stray names in dataset trees, a video on
disk that is not a pair of the split, a Celeb-DF test list saved with a byte-order mark,
a video cut short at a packet boundary, a re-indexed dataset after the data stage, and
bad process counts."""

from __future__ import annotations

import os
from pathlib import Path

import av
import numpy as np
import pandas as pd
import pytest

from analysis import plan
from analysis.cli import main
from analysis.data import sources
from analysis.data.manifest import read_manifest, write_manifest
from analysis.data.indexing import index_celebdf
from analysis.data.splits import load_official_pairs
from analysis.errors import UserInputError
from analysis.preprocess import exclusions, flow, pipeline
from analysis.profiles import get_profile
from analysis.run import run
from tests.conftest import link_videos, study_manifests

ORIGINALS = "original_sequences/youtube/c23/videos"


def _ffpp(root: Path, template: Path, pairs) -> Path:
    link_videos(template, root / ORIGINALS, sorted({i for p in pairs for i in p}))
    link_videos(template, root / "manipulated_sequences/Deepfakes/c23/videos", [f"{a}_{b}" for a, b in pairs])
    return root


def _pairs():
    official = load_official_pairs()
    return official["train"][:2] + official["test"][:1]


def test_a_broken_link_in_a_video_folder_is_counted(tmp_path, tiny_video, capsys):
    root = _ffpp(tmp_path / "ffpp", tiny_video, _pairs())
    os.symlink(tmp_path / "nowhere.mp4", root / ORIGINALS / "999.mp4")
    assert main(["index", "ffpp", str(root), "--out", str(tmp_path / "m.csv")]) == 0
    assert "skipped 1 entr(ies) named like videos that are not readable files" in capsys.readouterr().out


def test_a_video_that_is_not_a_pair_of_the_split_is_named(tmp_path, tiny_video, capsys):
    (a, _), (test_id, _) = _pairs()[0], _pairs()[2]
    root = _ffpp(tmp_path / "ffpp", tiny_video, _pairs())
    link_videos(tiny_video, root / "manipulated_sequences/Deepfakes/c23/videos", [f"{a}_{test_id}"])
    assert main(["index", "ffpp", str(root), "--out", str(tmp_path / "m.csv")]) == 2
    err = capsys.readouterr().err
    assert f"Deepfakes/{a}_{test_id}" in err and "not a pair of the split" in err


def test_celebdf_skips_names_that_are_not_celebdf_names_and_reads_a_bom(tmp_path, tiny_video, capsys):
    root = tmp_path / "cdf"
    link_videos(tiny_video, root / "Celeb-real", ["id0_0000", "id0_0000 (1)", "._id0_0000"])
    link_videos(tiny_video, root / "Celeb-synthesis", ["id0_id1_0000"])
    link_videos(tiny_video, root / "YouTube-real", ["00000"])
    listed = "1 Celeb-real/id0_0000.mp4\r\n0 Celeb-synthesis/id0_id1_0000.mp4\r\n1 YouTube-real/00000.mp4\r\n"
    (root / "List_of_testing_videos.txt").write_bytes(b"\xef\xbb\xbf" + listed.encode())
    out = tmp_path / "c.csv"
    assert main(["index", "celebdf", str(root), "--out", str(out)]) == 0
    assert len(read_manifest(out)) == 3
    assert main(["index", "celebdf", str(root), "--out", str(out), "--all-videos"]) == 0
    manifest = read_manifest(out)
    assert sorted(manifest["video_id"]) == ["00000", "id0_0000", "id0_id1_0000"]
    assert "skipped 2 file(s) whose names are not Celeb-DF v2 names" in capsys.readouterr().out
    (root / "List_of_testing_videos.txt").write_text(listed + "0 Celeb-real/id0_0000.mp4\n")
    assert main(["index", "celebdf", str(root), "--out", str(out)]) == 2
    assert "twice with different labels" in capsys.readouterr().err


def _faststart_video(path: Path, frames: int) -> Path:
    with av.open(str(path), "w", options={"movflags": "faststart"}) as container:
        stream = container.add_stream("libx264", rate=25)
        stream.width, stream.height, stream.pix_fmt = 64, 48, "yuv420p"
        for i in range(frames):
            image = np.full((48, 64, 3), (i * 4) % 256, np.uint8)
            container.mux(stream.encode(av.VideoFrame.from_ndarray(image, format="rgb24")))
        container.mux(stream.encode())
    return path


class _NoFace:
    def detect(self, images):
        return [None] * len(images), [None] * len(images)


def test_a_video_cut_short_at_a_packet_boundary_is_left_out(tmp_path):
    whole = _faststart_video(tmp_path / "whole.mp4", 40)
    with av.open(str(whole)) as container:
        packets = [(p.pos, p.size) for p in container.demux(container.streams.video[0]) if p.size]
    cut = tmp_path / "cut.mp4"
    cut.write_bytes(whole.read_bytes()[: packets[19][0] + packets[19][1]])  # the first 20 packets, whole
    settings = get_profile("tiny").preprocessing
    rows = []
    for path in (whole, cut):
        _, counts = pipeline.process_video(str(path), settings, _NoFace(), flow.farneback_flow)
        rows.append({"status": "ok", "domain": "source", "split": "train", **counts, "faces_found": 4})
    assert rows[0]["error"] == ""
    assert rows[1]["frames_sampled"] == settings.frames_per_video  # enough frames: nothing else would notice
    assert rows[1]["error"].startswith("cut short: the header declares 40 frames, the file holds 20")
    reasons = exclusions.exclusion_reasons(pd.DataFrame(rows), settings.frames_per_video)
    assert reasons.tolist() == [exclusions.KEPT, exclusions.TOO_FEW_FRAMES]


def test_the_plan_reads_the_manifests_as_indexed_now(tmp_path, monkeypatch, tiny_video):
    monkeypatch.setattr(sources, "MANIFEST_DIR", tmp_path)
    monkeypatch.setenv("ANALYSIS_RUNS_DIR", str(tmp_path / "runs"))
    paper = get_profile("paper")
    source, target = study_manifests(tiny_video)
    write_manifest(pd.DataFrame(source), tmp_path / "ffpp_c23.csv")
    write_manifest(pd.DataFrame(target), tmp_path / "celebdf_v2.csv")
    sources.combine_real_manifests(paper, sources.study_manifest(paper))  # the data stage, then a re-index:
    write_manifest(pd.DataFrame(study_manifests(tiny_video, ("900", "901"))[0]), tmp_path / "ffpp_c23.csv")
    assert len(plan.study_videos(paper)) == len(source) + 2 + len(target)


@pytest.mark.parametrize("nproc", ["0", "-2", "two"])
def test_a_bad_process_count_is_refused_on_the_command_line(nproc, capsys):
    with pytest.raises(SystemExit) as stop:
        main(["run", "--profile", "paper", "--nproc", nproc, "--only", "train"])
    assert stop.value.code == 2 and "--nproc" in capsys.readouterr().err


@pytest.mark.parametrize("nproc", [0, -2])
def test_a_bad_process_count_is_refused_from_python(nproc):
    with pytest.raises(UserInputError, match="at least one process"):
        run("paper", nproc=nproc)


def test_a_dry_run_checks_the_shard_too(capsys):
    assert main(["run", "--profile", "paper", "--dry-run", "--shard", "0/3"]) == 2
    assert "--shard '0/3'" in capsys.readouterr().err


def test_an_empty_celebdf_tree_says_which_folders_are_missing(tmp_path, tiny_video):
    root = tmp_path / "cdf"
    link_videos(tiny_video, root / "Youtube-real", ["00000"])  # the wrong case: Celeb-DF spells it YouTube-real
    with pytest.raises(UserInputError, match="folder YouTube-real not found"):
        index_celebdf(root, all_videos=True)


def test_a_listed_celebdf_video_whose_name_differs_only_in_case_is_matched(tmp_path, tiny_video):
    root = tmp_path / "cdf"
    link_videos(tiny_video, root / "Celeb-real", ["id0_0000"])
    link_videos(tiny_video, root / "Celeb-synthesis", ["id0_id1_0000"])
    (root / "Celeb-real" / "id0_0000.mp4").rename(root / "Celeb-real" / "id0_0000.MP4")
    (root / "List_of_testing_videos.txt").write_text("1 Celeb-real/id0_0000.mp4\n0 Celeb-synthesis/id0_id1_0000.mp4\n")
    result = index_celebdf(root)
    assert sorted(result.manifest["video_id"]) == ["id0_0000", "id0_id1_0000"]
    assert any("differ only in case" in note for note in result.notes)


@pytest.mark.parametrize("arguments, said", [
    (["synth", "--out", "x", "--seed", "-1"], "argument --seed: -1 is less than 0"),
    (["synth", "--out", "x", "--workers", "0"], "argument --workers: 0 is less than 1"),
    (["train", "resnet18", "--out", "x", "--seed", "one"], "argument --seed: 'one' is not a whole number"),
    (["results", "--n-resamples", "0"], "argument --n-resamples: 0 is less than 1"),
    (["predict", "face.png", "--run", ""], "argument --run: an empty path"),
    (["synth", "--out", " "], "argument --out: an empty path"),
])
def test_a_negative_seed_a_count_below_one_or_an_empty_path_is_refused_before_any_work(arguments, said, capsys):
    with pytest.raises(SystemExit) as stopped:
        main(arguments)
    assert stopped.value.code == 2 and said in capsys.readouterr().err
