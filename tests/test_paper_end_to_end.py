"""The paper profile end to end, on what it will meet: FF++ and Celeb-DF trees of tiny
real videos of rendered faces, among them an unreadable, a truncated and a faceless one,
indexed, then ``python -m analysis run --profile paper`` with overrides that shrink every
size and allow random initialisation, training also under ``torchrun``, and the analysis
chapters executed on the result."""

from __future__ import annotations

import json
import zlib

import pandas as pd
import pytest

from analysis.cli import main
from analysis.data.splits import load_official_pairs
from analysis.errors import UserInputError
from analysis.data.manifest import KEY_COLUMNS, read_manifest
from analysis.preprocess.exclusions import NO_FACE, TOO_FEW_FRAMES, UNREADABLE, excluded_videos
from analysis.preprocess.pipeline import load_record
from tests.conftest import write_face_video, write_video

MODELS = ("resnet18", "r3d18", "deep_svdd", "autoencoder")  # a frame, a clip and both one-class models


def shrink(manifests: list[str]) -> list[str]:
    return [
        "device=cpu", "models.pretrained=false", "models.input_size=32", "models.max_frames=4",
        "preprocessing.frames_per_video=4", "preprocessing.crop_size=32", "preprocessing.clip_crop_size=32",
        "recipe.warmup_epochs=1", "recipe.epochs=1", "recipe.batch_size=4", "recipe.train_frames_per_video=2",
        "per_model.resnet18.epochs=1", "per_model.resnet18.batch_size=4", "per_model.r3d18.batch_size=4",
        "preprocessing.sequence_frames=5", "preprocessing.flow=farneback",  # no RAFT weights here: chosen
        "data.benchmark.train_pairs=4", "data.benchmark.val_pairs=2", "data.benchmark.test_pairs=2",
        "data.benchmark.target_pairs=1", "data.benchmark.frames=6",
        f"train_models=[{','.join(MODELS)}]", f"data.manifests=[{','.join(manifests)}]",
    ]


def write_videos(root, folder: str, stems) -> None:
    """A distinct tiny video of a face per name, so that detectors' scores differ between
    videos; its seed comes from its place in the tree, not from pytest's temporary folder."""
    for stem in stems:
        write_face_video(root / folder / f"{stem}.mp4", frames=6, size=64, seed=zlib.crc32(f"{folder}/{stem}".encode()))


# the bad videos real downloads hold, each where its split can spare one: (dataset, file, reason)
BAD_VIDEOS = {
    UNREADABLE: ("ffpp", "manipulated_sequences/Deepfakes/c23/videos/{train_fake}.mp4"),
    TOO_FEW_FRAMES: ("ffpp", "manipulated_sequences/FaceSwap/c23/videos/{val_fake}.mp4"),
    NO_FACE: ("celebdf", "Celeb-real/id2_0000.mp4"),
}


def spoil(root, pairs) -> dict[str, tuple[str, str]]:
    """Overwrite one video per reason with a bad one; return ``{reason: (dataset, video_id)}``."""
    names = {"train_fake": "_".join(pairs["train"][0]), "val_fake": "_".join(pairs["val"][0])}
    spoiled = {}
    for reason, (dataset, pattern) in BAD_VIDEOS.items():
        path = root / dataset / pattern.format(**names)
        if reason == UNREADABLE:
            path.write_bytes(b"\x00not a video" * 400)
        elif reason == TOO_FEW_FRAMES:  # two frames where the profile samples four
            write_face_video(path, frames=2, size=64, seed=1)
        else:
            write_video(path, frames=6, size=64, seed=2)  # random colours: no face
        spoiled[reason] = (dataset, path.stem)
    return spoiled


@pytest.fixture(scope="module")
def real_trees(tmp_path_factory):
    """Two official FF++ pairs of each split with two methods, and a small Celeb-DF."""
    root = tmp_path_factory.mktemp("datasets")
    official = load_official_pairs()
    pairs = [p for split_pairs in official.values() for p in split_pairs[:2]]
    write_videos(root, "ffpp/original_sequences/youtube/c23/videos", sorted({i for p in pairs for i in p}))
    for method in ("Deepfakes", "FaceSwap"):
        write_videos(root, f"ffpp/manipulated_sequences/{method}/c23/videos",
                     [f"{a}_{b}" for a, b in pairs] + [f"{b}_{a}" for a, b in pairs])
    celebdf = root / "celebdf"
    write_videos(root, "celebdf/Celeb-real", ["id0_0000", "id1_0000", "id2_0000"])
    write_videos(root, "celebdf/YouTube-real", ["00000"])
    write_videos(root, "celebdf/Celeb-synthesis", ["id0_id1_0000", "id1_id0_0000", "id2_id0_0000"])
    (celebdf / "List_of_testing_videos.txt").write_text(
        "1 Celeb-real/id0_0000.mp4\n1 YouTube-real/00000.mp4\n0 Celeb-synthesis/id1_id0_0000.mp4\n"
        "0 Celeb-synthesis/id2_id0_0000.mp4\n1 Celeb-real/id2_0000.mp4\n")
    spoiled = spoil(root, official)
    manifests = [str(root / "ffpp.csv"), str(root / "celebdf.csv")]
    assert main(["index", "ffpp", str(root / "ffpp"), "--out", manifests[0]]) == 0
    assert main(["index", "celebdf", str(celebdf), "--out", manifests[1]]) == 0
    return manifests, spoiled


def test_without_weights_it_stops_at_once_naming_files_and_weights_dir(real_trees, tmp_path, monkeypatch, capsys):
    real_trees, _ = real_trees
    monkeypatch.setenv("ANALYSIS_RUNS_DIR", str(tmp_path / "runs"))
    status = main(["run", "--profile", "paper", "--weights-dir", str(tmp_path), "-o", "device=cpu",
                   "-o", f"data.manifests=[{','.join(real_trees)}]"])
    error = capsys.readouterr().err
    assert status == 2
    assert "resnet18.tv_in1k.safetensors" in error and "r3d_18.kinetics400" in error and "--weights-dir" in error
    assert "raft_small_C_T_V2-01064c6d.pth" in error  # the flow view's weights too, never a silent fallback
    assert not (tmp_path / "runs" / "paper" / "cache").exists()  # nothing was built first


@pytest.mark.slow
def test_paper_profile_runs_end_to_end_with_shrunk_sizes(real_trees, tmp_path, monkeypatch):
    from analysis.book import build as book_build

    real_trees, spoiled = real_trees
    runs = tmp_path / "runs"
    monkeypatch.setenv("ANALYSIS_RUNS_DIR", str(runs))
    overrides = [arg for item in shrink(real_trees) for arg in ("-o", item)]
    assert main(["run", "--profile", "paper", *overrides]) == 0
    scores = pd.read_csv(runs / "paper" / "scores.csv", dtype={"video_id": str})
    assert set(scores["model"]) == set(MODELS)
    assert set(scores["dataset"]) == {"ffpp", "celebdf"} and scores["group"].notna().all()

    # the three bad videos: counted per split with their reason, and in no scores table
    cache = runs / "paper" / "cache"
    excluded = load_record(cache)["excluded"]
    assert excluded["source/train"][UNREADABLE] == 1 and excluded["source/val"][TOO_FEW_FRAMES] == 1
    assert excluded["target/test"][NO_FACE] == 1
    assert sum(n for counts in excluded.values() for n in counts.values()) == 3
    left_out = excluded_videos(cache)
    assert {(r.dataset, r.video_id, r.excluded) for r in left_out.itertuples()} == {
        (dataset, video_id, reason) for reason, (dataset, video_id) in spoiled.items()}
    manifest = read_manifest(runs / "paper" / "manifest.csv")
    evaluated = set(map(tuple, manifest.loc[manifest["split"] != "train", list(KEY_COLUMNS)].to_numpy()))
    for model, table in scores.groupby("model"):  # every other validation and test video is scored
        assert set(map(tuple, table[list(KEY_COLUMNS)].to_numpy())) == evaluated - set(
            map(tuple, left_out[list(KEY_COLUMNS)].to_numpy())), model
    assert "excluded" in (runs / "paper" / "run.log").read_text()
    record = json.loads((runs / "paper" / "models" / "resnet18" / "seed0" / "record.json").read_text())
    assert record["config"]["profile"]["name"] == "paper" and record["config"]["profile"]["recipe"]["epochs"] == 1
    assert not record["pretrained"] and record["input_size"] == 32
    # v1's per-video frame model: 4 frames (shrunk from 16) pooled into one item, one score per video
    assert (record["input_kind"], record["frames"], record["recipe"]["aggregation"]) == ("video", 4, "mean_features")
    assert record["flow"] == "OpenCV Farneback (chosen)"
    assert "preprocess" in (runs / "paper" / "run.log").read_text()

    # the same training under torchrun with two processes, into its own run folder
    assert main(["run", "--profile", "paper", "--only", "train:resnet18", "--nproc", "2", *overrides]) == 0
    ddp = json.loads((runs / "paper" / "models" / "resnet18" / "seed0" / "record.json").read_text())
    assert ddp["world_size"] == 2 and ddp["input_kind"] == "video"

    assert (runs / "paper" / "results" / "summary" / "gap.csv").is_file()  # the results stage's
    monkeypatch.setattr(book_build, "EXECUTED_DIR", tmp_path / "notebooks")
    for chapter in ("anomaly", "diversity", "gap"):  # they read the stage's tables
        book_build.execute_chapter(chapter, {"profile": "paper"})
