"""The dataset indexers on small fake trees that follow the real layouts."""

from __future__ import annotations

import json
import shutil

import pandas as pd
import pytest

from analysis.cli import main
from analysis.data.manifest import read_manifest
from analysis.paths import FFPP_SPLIT_DIR
from analysis.data.splits import identity_components, identity_groups, load_official_pairs
from tests.conftest import assert_identity_disjoint, link_videos

ORIGINALS = "original_sequences/youtube/c23/videos"


def manipulated(method: str) -> str:
    return f"manipulated_sequences/{method}/c23/videos"


@pytest.fixture(scope="module")
def ffpp_root(tmp_path_factory, tiny_video):
    """All 1000 originals and both directions of every official pair for two methods."""
    root = tmp_path_factory.mktemp("ffpp")
    pairs = [p for split_pairs in load_official_pairs().values() for p in split_pairs]
    ids = sorted({i for p in pairs for i in p})
    link_videos(tiny_video, root / ORIGINALS, ids)
    fakes = [f"{a}_{b}" for a, b in pairs] + [f"{b}_{a}" for a, b in pairs]
    for method in ("Deepfakes", "FaceSwap"):
        link_videos(tiny_video, root / manipulated(method), fakes)
    return root


def run_index(*args) -> int:
    return main(["index", *map(str, args)])


def ids_per_split(manifest: pd.DataFrame) -> dict[str, int]:
    return manifest.groupby("split")["source_id"].nunique().to_dict()


def test_ffpp_official_split(ffpp_root, tmp_path, capsys):
    out = tmp_path / "ffpp.csv"
    assert run_index("ffpp", ffpp_root, "--out", out) == 0
    manifest = read_manifest(out)
    assert len(manifest) == 1000 + 2 * 1000
    assert ids_per_split(manifest) == {"train": 720, "val": 140, "test": 140}
    assert set(manifest["method"]) == {"original", "Deepfakes", "FaceSwap"}
    assert manifest.groupby("label").size().to_dict() == {0: 1000, 1: 2000}
    assert_identity_disjoint(manifest)
    # a fake name repeats across methods: the key is (dataset, method, video_id)
    assert manifest["video_id"].duplicated().any()
    assert not manifest.duplicated(["dataset", "method", "video_id"]).any()
    printed = capsys.readouterr().out
    assert "method Face2Face not found" in printed
    assert "train 720" in printed and "test 140" in printed


def test_ffpp_identity_split_is_seeded(ffpp_root, tmp_path):
    manifests = {}
    for seed in (0, 0, 1):
        out = tmp_path / f"identity_{seed}.csv"
        assert run_index("ffpp", ffpp_root, "--out", out, "--split", "identity", "--seed", seed) == 0
        manifests.setdefault(seed, []).append(read_manifest(out))
    first, again = manifests[0]
    pd.testing.assert_frame_equal(first, again)
    assert ids_per_split(first) == {"train": 700, "val": 150, "test": 150}
    assert_identity_disjoint(first)
    assert not first["split"].equals(manifests[1][0]["split"])


def test_ffpp_errors(tmp_path, ffpp_root, capsys):
    assert run_index("ffpp", tmp_path / "nowhere", "--out", tmp_path / "m.csv") == 2
    assert "nowhere" in capsys.readouterr().err

    empty = tmp_path / "empty"
    (empty / ORIGINALS).mkdir(parents=True)
    assert run_index("ffpp", empty, "--out", tmp_path / "m.csv") == 2
    err = capsys.readouterr().err
    assert "No FaceForensics++ videos" in err and "Traceback" not in err

    assert run_index("ffpp", tmp_path, "--out", tmp_path / "m.csv") == 2
    assert ORIGINALS in capsys.readouterr().err


@pytest.mark.parametrize(
    "mutate, message",
    [
        (lambda d: (d / "val.json").write_text("{not json"), "not valid JSON"),
        (lambda d: (d / "val.json").write_text('[["001", "002", "003"]]'), "malformed"),
        (lambda d: (d / "test.json").unlink(), "is missing"),
    ],
)
def test_malformed_split_files(tmp_path, ffpp_root, capsys, mutate, message):
    from analysis.data.indexing import index_ffpp
    from analysis.errors import UserInputError

    split_dir = tmp_path / "splits"
    shutil.copytree(FFPP_SPLIT_DIR, split_dir)
    mutate(split_dir)
    with pytest.raises(UserInputError, match=message):
        index_ffpp(ffpp_root, split_dir=split_dir)


def test_split_with_one_id_in_two_partitions(tmp_path, ffpp_root):
    from analysis.data.indexing import index_ffpp
    from analysis.errors import UserInputError

    split_dir = tmp_path / "splits"
    shutil.copytree(FFPP_SPLIT_DIR, split_dir)
    train = json.loads((split_dir / "train.json").read_text())
    test = json.loads((split_dir / "test.json").read_text())
    test.append([train[0][0], "999"])
    (split_dir / "test.json").write_text(json.dumps(test))
    with pytest.raises(UserInputError, match=f"id '{train[0][0]}' in both 'train' and 'test'"):
        index_ffpp(ffpp_root, split_dir=split_dir)


@pytest.fixture
def celebdf_root(tmp_path, tiny_video):
    root = tmp_path / "Celeb-DF-v2"
    link_videos(tiny_video, root / "Celeb-real", ["id0_0000", "id0_0001", "id1_0000"])
    link_videos(tiny_video, root / "YouTube-real", ["00000", "00001"])
    link_videos(tiny_video, root / "Celeb-synthesis", ["id0_id1_0000", "id1_id0_0000", "id0_id1_0001"])
    (root / "List_of_testing_videos.txt").write_text(
        "1 Celeb-real/id0_0000.mp4\n1 YouTube-real/00001.mp4\n0 Celeb-synthesis/id1_id0_0000.mp4\n"
    )
    return root


def test_celebdf_official_test_list(celebdf_root, tmp_path):
    out = tmp_path / "celebdf.csv"
    assert run_index("celebdf", celebdf_root, "--out", out) == 0
    manifest = read_manifest(out)
    assert set(manifest["split"]) == {"test"}  # only the listed videos: nothing else is preprocessed
    test = manifest
    assert sorted(test["video_id"]) == ["00001", "id0_0000", "id1_id0_0000"]
    assert test.set_index("video_id")["label"].to_dict() == {"00001": 0, "id0_0000": 0, "id1_id0_0000": 1}
    fake = manifest[manifest["video_id"] == "id1_id0_0000"].iloc[0]
    assert (fake["source_id"], fake["target_id"]) == ("id1", "id0")

    assert run_index("celebdf", celebdf_root, "--out", out, "--all-videos") == 0
    every = read_manifest(out)
    assert set(every["split"]) == {"test"} and len(every) == 8


def test_celebdf_errors(celebdf_root, tmp_path, capsys):
    out = tmp_path / "celebdf.csv"
    (celebdf_root / "YouTube-real" / "00001.mp4").unlink()
    assert run_index("celebdf", celebdf_root, "--out", out) == 2
    err = capsys.readouterr().err
    assert "YouTube-real/00001.mp4" in err and "--allow-missing" in err

    assert run_index("celebdf", celebdf_root, "--out", out, "--allow-missing") == 0
    assert "1 listed video(s) are not on disk" in capsys.readouterr().out
    assert sorted(read_manifest(out)["video_id"]) == ["id0_0000", "id1_id0_0000"]  # the two listed that are there

    (celebdf_root / "List_of_testing_videos.txt").write_text("real Celeb-real/id0_0000.mp4\n")
    assert run_index("celebdf", celebdf_root, "--out", out) == 2
    assert "line 1" in capsys.readouterr().err

    (celebdf_root / "List_of_testing_videos.txt").unlink()
    assert run_index("celebdf", celebdf_root, "--out", out) == 2
    assert "List_of_testing_videos.txt" in capsys.readouterr().err

    empty = tmp_path / "empty"
    (empty / "Celeb-real").mkdir(parents=True)
    assert run_index("celebdf", empty, "--out", out) == 2
    assert "No Celeb-DF v2 videos" in capsys.readouterr().err


def test_celebdf_groups_follow_the_real_video_not_the_swap_graph(tmp_path, tiny_video):
    """A Celeb-DF tree named as the dataset names its files, whose swap graph is one
    connected component (every celebrity's face is swapped into the next one's videos,
    round a ring): the components would make one group of all celebrity videos; the
    bootstrap groups are one per celebrity (of the real video a fake was made from) plus
    one per YouTube-real video."""
    celebs = [f"id{i}" for i in range(6)]
    reals = [f"{c}_{n:04d}" for c in celebs for n in range(2)]
    fakes = [f"{a}_{b}_{n:04d}" for a, b in zip(celebs, celebs[1:] + celebs[:1]) for n in range(2)]
    fakes += [f"{a}_{b}_0000" for a, b in zip(celebs, celebs[2:] + celebs[:2])]  # denser: each face twice
    youtube = [f"{n:05d}" for n in (3, 17, 250, 301)]
    root = tmp_path / "Celeb-DF-v2"
    link_videos(tiny_video, root / "Celeb-real", reals)
    link_videos(tiny_video, root / "Celeb-synthesis", fakes)
    link_videos(tiny_video, root / "YouTube-real", youtube)
    listed = ([f"1 Celeb-real/{v}.mp4" for v in reals] + [f"1 YouTube-real/{v}.mp4" for v in youtube]
              + [f"0 Celeb-synthesis/{v}.mp4" for v in fakes])
    (root / "List_of_testing_videos.txt").write_text("\n".join(listed) + "\n")
    out = tmp_path / "celebdf.csv"
    assert run_index("celebdf", root, "--out", out) == 0
    manifest = read_manifest(out)
    edges = [(s, t) for s, t in zip(manifest["source_id"], manifest["target_id"]) if t]
    assert len(identity_components(celebs, edges)) == 1  # the swap graph is connected

    manifest["group"] = identity_groups(manifest)
    by_label = manifest.groupby("label")["group"].nunique().to_dict()
    assert by_label == {0: len(celebs) + len(youtube), 1: len(celebs)}
    assert manifest["group"].nunique() == len(celebs) + len(youtube)
    fake = manifest.set_index("video_id").loc["id2_id3_0001"]
    assert fake["group"] == manifest.set_index("video_id").loc["id2_0000", "group"] == "celebdf/id2"
    assert manifest.set_index("video_id").loc["00017", "group"] == "celebdf/youtube-00017"


def small_ffpp(root, tiny_video, methods=("Deepfakes",), compression="c23"):
    """The official pairs' first two of each split, as the download script lays them out."""
    pairs = [p for split in load_official_pairs().values() for p in split[:2]]
    link_videos(tiny_video, root / f"original_sequences/youtube/{compression}/videos", sorted({i for p in pairs for i in p}))
    for method in methods:
        link_videos(tiny_video, root / f"manipulated_sequences/{method}/{compression}/videos", [f"{a}_{b}" for a, b in pairs])
    return root


def test_ffpp_without_its_fakes_is_refused_not_indexed(tmp_path, tiny_video, capsys):
    """Originals at c23 and fakes downloaded at c40: a manifest of reals only would train nothing."""
    root = small_ffpp(tmp_path / "ffpp", tiny_video, methods=())
    assert run_index("ffpp", root, "--out", tmp_path / "m.csv") == 2
    err = capsys.readouterr().err
    assert "Only original videos" in err and "manipulated_sequences/<Method>/c23" in err
    assert not (tmp_path / "m.csv").exists()


def test_ffpp_names_both_files_of_one_video_and_the_folders_it_leaves_out(tmp_path, tiny_video, capsys):
    root = small_ffpp(tmp_path / "ffpp", tiny_video)
    (root / "manipulated_sequences/DeepFakeDetection/c23/videos").mkdir(parents=True)
    (root / "original_sequences/actors/c23/videos").mkdir(parents=True)
    assert run_index("ffpp", root, "--out", tmp_path / "m.csv") == 0
    assert ("not indexed, not among the study's methods: manipulated_sequences/DeepFakeDetection, "
            "original_sequences/actors") in capsys.readouterr().out
    videos = root / ORIGINALS
    first = sorted(videos.iterdir())[0]
    (videos / f"{first.stem}.avi").write_bytes(first.read_bytes())
    assert run_index("ffpp", root, "--out", tmp_path / "m.csv") == 2
    err = capsys.readouterr().err
    assert "more than one file" in err and str(first) in err and f"{videos / first.stem}.avi" in err


def test_ffpp_raw_is_also_c0(tmp_path, tiny_video):
    root = small_ffpp(tmp_path / "ffpp", tiny_video, compression="raw")
    assert run_index("ffpp", root, "--out", tmp_path / "m.csv", "--compression", "c0") == 0
    assert all("/raw/videos/" in p for p in read_manifest(tmp_path / "m.csv")["path"])


def test_a_linked_dataset_root_keeps_its_name_in_the_manifest(tmp_path, tiny_video):
    """Machines share a run by putting the datasets at the same path, often a link to
    where each machine keeps them: the manifest must name the link, not this machine's target."""
    target = small_ffpp(tmp_path / "disk" / "ffpp", tiny_video)
    (tmp_path / "datasets").mkdir()
    (tmp_path / "datasets" / "ffpp").symlink_to(target)
    assert run_index("ffpp", tmp_path / "datasets" / "ffpp", "--out", tmp_path / "m.csv") == 0
    paths = read_manifest(tmp_path / "m.csv")["path"]
    assert all(p.startswith(str(tmp_path / "datasets" / "ffpp") + "/") for p in paths)


def test_out_must_be_a_csv_file_and_never_overwrites_another_kind(celebdf_root, tmp_path, capsys):
    listed = celebdf_root / "List_of_testing_videos.txt"
    before = listed.read_text()
    assert run_index("celebdf", celebdf_root, "--out", listed) == 2
    assert listed.read_text() == before and "name one ending in .csv" in capsys.readouterr().err
    assert run_index("celebdf", celebdf_root, "--out", tmp_path) == 2
    assert f"such as {tmp_path / 'celebdf.csv'}" in capsys.readouterr().err


def test_a_file_this_user_may_not_read_is_a_one_line_error(celebdf_root, tmp_path, capsys, monkeypatch):
    from analysis.data import indexing

    def denied(*args, **kwargs):
        raise PermissionError(13, "Permission denied", str(celebdf_root / "List_of_testing_videos.txt"))

    monkeypatch.setattr(indexing, "index_celebdf", denied)
    assert run_index("celebdf", celebdf_root, "--out", tmp_path / "c.csv") == 2
    err = capsys.readouterr().err
    assert err.startswith(f"error: {celebdf_root / 'List_of_testing_videos.txt'}: Permission denied")
    assert "Traceback" not in err


def test_an_unfinished_ffpp_download_is_noted_and_a_wrong_compression_says_what_is_there(tmp_path, tiny_video,
                                                                                         capsys):
    root = small_ffpp(tmp_path / "ffpp", tiny_video)
    (root / "manipulated_sequences/FaceSwap/c23/videos").mkdir(parents=True)  # made, never filled
    first = sorted((root / ORIGINALS).iterdir())[0]
    first.unlink()  # its fakes stay
    assert run_index("ffpp", root, "--out", tmp_path / "m.csv") == 0
    out = capsys.readouterr().out
    assert "method FaceSwap: its folder holds no videos (an unfinished download?)" in out
    assert f"have no original on disk, e.g. {first.stem}_" in out and f"without original {first.stem}" in out
    assert set(read_manifest(tmp_path / "m.csv")["selection"]) == {"c23"}
    assert run_index("ffpp", root, "--out", tmp_path / "m.csv", "--compression", "C40") == 2
    assert "Found c23: pass --compression c23." in capsys.readouterr().err
    assert run_index("ffpp", root, "--out", tmp_path / "m.csv", "--compression", "c50") == 2
    assert "released as raw, c23, c40" in capsys.readouterr().err
    assert run_index("ffpp", tmp_path, "--out", tmp_path / "m.csv") == 2  # the root one level too high
    assert f"Did you mean {root}?" in capsys.readouterr().err


def test_a_celebdf_list_saved_as_utf16_or_with_repeated_lines_is_read(celebdf_root, tmp_path, capsys):
    listed = celebdf_root / "List_of_testing_videos.txt"
    text = listed.read_text()
    listed.write_text(text + text.splitlines()[0] + "\n", encoding="utf-16")  # Notepad's "Unicode", a line twice
    assert run_index("celebdf", celebdf_root, "--out", tmp_path / "c.csv") == 0
    assert "1 line(s) of List_of_testing_videos.txt repeat a video listed before" in capsys.readouterr().out
    manifest = read_manifest(tmp_path / "c.csv")
    assert len(manifest) == 3 and set(manifest["selection"]) == {"official test list"}
    listed.write_bytes(b"1 Celeb-real/id0_0000.mp4\n\xff\xfe\x00")
    assert run_index("celebdf", celebdf_root, "--out", tmp_path / "c.csv") == 2
    assert "is not text in UTF-8" in capsys.readouterr().err


def test_a_celebdf_list_line_whose_file_name_holds_a_space_is_named_as_the_video_it_lists(celebdf_root, tmp_path,
                                                                                          capsys):
    listed = celebdf_root / "List_of_testing_videos.txt"
    listed.write_text(listed.read_text() + "0 Celeb-synthesis/id0_id1_0001 copy.mp4\n")
    assert run_index("celebdf", celebdf_root, "--out", tmp_path / "c.csv") == 2
    err = capsys.readouterr().err
    assert "id0_id1_0001 copy.mp4" in err and "expected '<1 real | 0 fake>" not in err


def test_a_celebdf_list_that_is_not_the_official_518_says_so(celebdf_root, tmp_path, capsys):
    assert run_index("celebdf", celebdf_root, "--out", tmp_path / "c.csv") == 0
    assert "the test set holds 3 videos, not the official 518" in capsys.readouterr().out
