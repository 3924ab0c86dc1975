"""Bad videos are counted per split and left out of training, validation and scoring."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from analysis.benchmark.generator import generate
from analysis.data.manifest import read_manifest
from analysis.models import get_spec
from analysis.preprocess.exclusions import (KEPT, NO_FACE, TOO_FEW_FRAMES, UNREADABLE, excluded_per_split,
                                            excluded_videos, exclusion_reasons, usable_videos)
from analysis.preprocess.pipeline import load_record, preprocess
from analysis.preprocess.video import read_video, write_video
from analysis.profiles import get_profile
from analysis.training.crop_datasets import StreamedSplit
from tests.conftest import write_video as write_noise_video

TINY = get_profile("tiny")


def test_each_video_gets_the_first_reason_that_applies():
    report = pd.DataFrame({
        "domain": ["source", "source", "source", "source", "target"],
        "split": ["train", "train", "val", "val", "test"],
        "status": ["ok", "failed", "ok", "ok", "ok"],
        "frames_sampled": [4, 0, 2, 2, 4],
        "frames_decoded": [5, 0, 2, 2, 6],
        "faces_found": [3, 0, 2, 0, 0],
    })
    reasons = exclusion_reasons(report, frames_per_video=4)
    assert reasons.tolist() == [KEPT, UNREADABLE, TOO_FEW_FRAMES, TOO_FEW_FRAMES, NO_FACE]
    # a second, larger sampling (the sequence model's 6 frames) needs 6 decoded frames
    assert exclusion_reasons(report, frames_per_video=4, sequence_frames=6).tolist()[0] == TOO_FEW_FRAMES
    counts = excluded_per_split(report, frames_per_video=4)
    assert counts == {"source/train": {UNREADABLE: 1, TOO_FEW_FRAMES: 0, NO_FACE: 0},
                      "source/val": {UNREADABLE: 0, TOO_FEW_FRAMES: 2, NO_FACE: 0},
                      "target/test": {UNREADABLE: 0, TOO_FEW_FRAMES: 0, NO_FACE: 1}}


@pytest.fixture(scope="module")
def bad_cache(tmp_path_factory):
    """Two good benchmark videos per split, then one unreadable (train), one cut short
    (val) and one faceless (test) video, preprocessed with the tiny profile."""
    root = tmp_path_factory.mktemp("bad")
    generate(root / "bench", profile="tiny", seed=0, workers=2)
    bench = read_manifest(root / "bench" / "manifest.csv")
    source = bench[bench["domain"] == "source"]
    good = pd.concat([source[(source["split"] == s) & (source["label"] == label)].head(1)
                      for s in ("train", "val", "test") for label in (0, 1)])
    template = good.iloc[0].to_dict()
    (root / "garbage.mp4").write_bytes(np.random.default_rng(0).bytes(5000))
    frames = read_video(template["path"])
    write_video(root / "short.mp4", frames[: TINY.preprocessing.frames_per_video - 2], fps=6, crf=23)
    write_noise_video(root / "noise.mp4", frames=6, size=64)
    bad = [{**template, "video_id": name, "split": split, "path": str(root / f"{name}.mp4")}
           for name, split in (("garbage", "train"), ("short", "val"), ("noise", "test"))]
    manifest = pd.concat([good, pd.DataFrame(bad)], ignore_index=True)
    preprocess(manifest, root / "cache", TINY.preprocessing)
    return manifest, root / "cache"


def test_the_record_counts_bad_videos_per_split_with_their_reason(bad_cache):
    manifest, cache = bad_cache
    record = load_record(cache)
    assert record["excluded"]["source/train"][UNREADABLE] == 1
    assert record["excluded"]["source/val"][TOO_FEW_FRAMES] == 1
    assert record["excluded"]["source/test"][NO_FACE] == 1
    assert sum(n for split in record["excluded"].values() for n in split.values()) == 3
    left_out = excluded_videos(cache).set_index("video_id")
    assert left_out["excluded"].to_dict() == {"garbage": UNREADABLE, "short": TOO_FEW_FRAMES, "noise": NO_FACE}
    assert left_out.loc["garbage", "error"]  # the decoder's message is kept


@pytest.mark.parametrize("model", ["resnet18", "r3d18"])
def test_training_validation_and_scoring_read_only_the_usable_videos(bad_cache, model):
    manifest, cache = bad_cache
    kept = usable_videos(manifest, cache)
    assert len(kept) == len(manifest) - 3 and not {"garbage", "short", "noise"} & set(kept["video_id"])
    for split in ("train", "val", "test"):
        rows = manifest[manifest["split"] == split]
        loaded = StreamedSplit.load(rows, cache, get_spec(model), TINY.variant(model))
        assert loaded.keys() == [tuple(k) for k in kept.loc[kept["split"] == split,
                                                            ["dataset", "method", "video_id"]].to_numpy()]
        assert len(loaded.labels) == 2


def test_a_video_the_report_does_not_know_is_kept_and_then_fails_loudly(bad_cache):
    manifest, cache = bad_cache
    stranger = manifest.iloc[[0]].assign(video_id="not_preprocessed")
    assert len(usable_videos(stranger, cache)) == 1
    with pytest.raises(FileNotFoundError, match="not_preprocessed"):
        StreamedSplit.load(stranger, cache, get_spec("resnet18"), TINY.variant("resnet18"))
