"""Card 000's companion code v1 pools a video's frame features before one head
(``Recipe.aggregation = mean_features``): the model, the profiles that use it, and the
trainer and scorer on a tiny pooled model."""

from __future__ import annotations

import json
from dataclasses import replace

import numpy as np
import pandas as pd
import pytest
import torch

from analysis.errors import UserInputError
from analysis.models import create_model, get_spec, item_frames, list_models, spec_for
from analysis.models.registry import VIDEO
from analysis.models.networks import PooledFrames, pooled_frame_classifier
from analysis.models.zoo import V1_DROPOUT, V1_VIT_DROPOUT
from analysis.profiles import MEAN_FEATURES, MEAN_PROBABILITY, get_profile, resolve
from analysis.training import gpu_memory, trainer
from analysis.training.crop_datasets import StreamedSplit, to_model_scale
from analysis.training.scoring import predict
from tests.conftest import train_config

POOLED = ["per_model.resnet18.aggregation=mean_features"]


def _pooled_tiny_model(seed: int = 0) -> PooledFrames:
    torch.manual_seed(seed)
    return create_model("resnet18", resolve("tiny", POOLED)).eval()


def test_the_head_reads_the_mean_of_the_frames_features():
    model = _pooled_tiny_model()
    videos = torch.randn(3, 4, 3, 32, 32)
    with torch.no_grad():
        by_frame = torch.stack([model.backbone(videos[:, t]) for t in range(4)], dim=1)  # (3, 4, F)
        expected = model.head(by_frame.mean(dim=1))
        logits = model(videos)
        shuffled = model(videos[:, [2, 0, 3, 1]])
    assert logits.shape == (3, 2)
    torch.testing.assert_close(logits, expected)
    torch.testing.assert_close(shuffled, logits)  # a mean: the frames' order does not matter
    other = videos.clone()
    other[0, 1] += 1.0  # one frame of the first video changed: its logits move, the others' do not
    with torch.no_grad():
        moved = model(other)
    assert not torch.allclose(moved[0], logits[0])
    torch.testing.assert_close(moved[1:], logits[1:])


def test_frame_outputs_are_the_model_on_each_frame_alone_and_average_to_the_video():
    model = _pooled_tiny_model()
    videos = torch.randn(2, 4, 3, 32, 32)
    with torch.no_grad():
        video, frames = model.frame_and_video_outputs(videos)
        alone = torch.stack([model(videos[:, t : t + 1]) for t in range(4)], dim=1)
    assert video.shape == (2, 2) and frames.shape == (2, 4, 2)
    torch.testing.assert_close(video, model(videos))
    torch.testing.assert_close(frames, alone)
    torch.testing.assert_close(frames.mean(dim=1), video)  # the head is linear


def test_a_pooled_model_refuses_single_frames_and_trains_its_head_in_warm_up():
    model = _pooled_tiny_model()
    with pytest.raises(ValueError, match=r"\(B, T, C, H, W\)"):
        model(torch.randn(2, 3, 32, 32))
    trainer.set_stage(model, "warmup")
    trainable = {id(p) for p in model.parameters() if p.requires_grad}
    assert trainable == {id(p) for p in model.head.parameters()} and len(trainable) == 2


def test_v1s_dropout_before_the_head():
    paper = get_profile("paper")
    assert [paper.variant(m).head_dropout for m in ("resnet18", "efficientnet_b4", "vit_b16")] == [
        V1_DROPOUT, V1_DROPOUT, V1_VIT_DROPOUT] == [0.3, 0.3, 0.2]
    variant = replace(get_profile("tiny").variant("resnet18"), head_dropout=0.3)
    model = pooled_frame_classifier(variant)
    assert isinstance(model.head[0], torch.nn.Dropout) and model.head[0].p == 0.3
    videos = torch.randn(2, 4, 3, 32, 32)
    model.train()
    torch.manual_seed(1)
    a = model(videos)
    torch.manual_seed(2)
    assert not torch.allclose(a, model(videos))  # dropout is on in training
    model.eval()
    torch.testing.assert_close(model(videos), model(videos))


def test_the_paper_profile_pools_card_000s_frame_models_and_cpu_and_tiny_do_not():
    paper = get_profile("paper")
    for model in ("resnet18", "efficientnet_b4", "vit_b16"):
        assert paper.recipe_for(model).aggregation == MEAN_FEATURES
        spec = spec_for(model, paper)
        assert spec.input_kind == VIDEO and spec.builder is get_spec(model).pooled_builder
        assert spec.builder.__name__ == pooled_frame_classifier.__name__  # imported when it builds
        assert item_frames(spec, paper.variant(model), paper) == 16  # v1's num_frames, the cache's 16
    for model in ("r3d18", "r3d18_flow", "vit_in21k", "resnext50_lstm", "deep_svdd", "autoencoder"):
        assert spec_for(model, paper).input_kind != VIDEO
    for name in ("cpu", "tiny"):
        profile = get_profile(name)
        for model in list_models():
            assert profile.recipe_for(model).aggregation == MEAN_PROBABILITY
            assert spec_for(model, profile).input_kind != VIDEO


def test_only_models_with_a_pooled_builder_can_pool():
    for model in ("r3d18", "deep_svdd", "resnext50_lstm"):
        profile = resolve("tiny", [f"per_model.{model}.aggregation=mean_features"])
        with pytest.raises(UserInputError, match="resnet18, efficientnet_b4, vit_b16"):
            spec_for(model, profile)
    with pytest.raises(UserInputError, match="choose"):
        resolve("tiny", ["recipe.aggregation=median"])


def test_a_pooled_sample_keeps_every_frames_activations():
    """A pooled item is a video: the backbone keeps the activations of each of its frames,
    so the memory per sample is the frames' (the paper rows of paper_memory.csv)."""
    size = ["models.input_size=64"]  # one frame at 32 px leaves ResNet's last BatchNorm one value
    frame = gpu_memory.measure("resnet18", resolve("tiny", size), steps=1)
    video = gpu_memory.measure("resnet18", resolve("tiny", POOLED + size), steps=1)
    frames = get_profile("tiny").preprocessing.frames_per_video
    assert (frame["input"], video["input"]) == ("64", f"{frames}x64")
    assert video["activation_mib_per_sample"] == pytest.approx(frames * frame["activation_mib_per_sample"], rel=0.02)


def test_pooled_training_reads_videos_and_scores_each_video_once(prepared, tmp_path):
    profile = resolve("tiny", POOLED)
    out = trainer.train(replace(train_config(prepared, tmp_path / "pooled"), profile=profile))
    record = json.loads((out / "record.json").read_text())
    manifest = pd.read_csv(prepared[0], dtype={"video_id": str})
    train_videos = ((manifest["domain"] == "source") & (manifest["split"] == "train")).sum()
    frames = profile.preprocessing.frames_per_video
    assert (record["input_kind"], record["frames"], record["recipe"]["aggregation"]) == (VIDEO, frames, MEAN_FEATURES)
    assert record["train_items"] == train_videos  # one item per video, not per frame
    assert all(h["items"] == train_videos // 8 * 8 for h in record["history"])  # whole batches of 8 videos

    scores = pd.read_csv(out / "scores.csv", dtype={"video_id": str})
    video, frame = scores[scores["frame_index"] == -1], scores[scores["frame_index"] >= 0]
    key = ["dataset", "method", "video_id"]
    assert not video.duplicated(key).any() and len(video) == (manifest["split"] != "train").sum()
    assert (frame.groupby(key).size() == frames).all()
    # the scorer gives the same video scores as the trained model on the streamed split
    model = create_model("resnet18", profile)
    model.load_state_dict(torch.load(out / "best.pt", weights_only=False)["model"])
    evaluated = manifest[manifest["split"] != "train"]
    split = StreamedSplit.load(evaluated, prepared[1], spec_for("resnet18", profile), profile.variant("resnet18"))
    scored = predict(model, split, "cpu", amp=False, batch=3)  # not the trainer's batch: any batch scores alike
    assert len(scored) == len(split.videos) and all(len(s.frames) == frames for s in scored)
    ids = list(zip(split.videos["dataset"], split.videos["method"], split.videos["video_id"]))
    np.testing.assert_allclose([s.video for s in scored], video.set_index(key)["score"].loc[ids], atol=1e-6)
    frame_rows = frame.set_index([*key, "frame_index"])["score"]
    np.testing.assert_allclose(np.concatenate([s.frames for s in scored]),
                               frame_rows.loc[[(*i, t) for i in ids for t in range(frames)]], atol=1e-6)
    # a video's score is the model's on the whole video, a frame's the model's on that frame alone
    _, inputs = next(split.scoring_batches(64))
    with torch.no_grad():
        whole = model.score(model(inputs)).numpy()
        alone = model.score(model(inputs[:, :1])).numpy()
    np.testing.assert_allclose([s.video for s in scored[: len(inputs)]], whole, atol=1e-6)
    np.testing.assert_allclose([s.frames[0] for s in scored[: len(inputs)]], alone, atol=1e-6)


def test_pooled_training_is_seeded(prepared, tmp_path):
    profile = resolve("tiny", POOLED)
    a, b = (trainer.train(replace(train_config(prepared, tmp_path / name), profile=profile)) for name in "ab")
    pd.testing.assert_frame_equal(pd.read_csv(a / "scores.csv"), pd.read_csv(b / "scores.csv"))


def test_a_pooled_video_is_augmented_frame_by_frame_and_splits_across_processes(prepared):
    """v1 drew its flip and colour jitter per frame; the draws of a global batch are the
    same whichever process takes which videos."""
    profile = resolve("tiny", POOLED)
    manifest = pd.read_csv(prepared[0], dtype={"video_id": str})
    split = StreamedSplit.load(manifest[manifest["split"] == "train"], prepared[1], spec_for("resnet18", profile),
                               profile.variant("resnet18"))
    plain = to_model_scale(split.items(torch.arange(8)), split.variant)
    generator = lambda: torch.Generator().manual_seed(5)  # noqa: E731
    flipped, _ = split.training_batch(list(range(8)), generator(), parts=("flip",))
    is_flip = [[torch.allclose(flipped[b, t], plain[b, t].flip(-1)) for t in range(plain.shape[1])] for b in range(8)]
    kept = [[torch.allclose(flipped[b, t], plain[b, t]) for t in range(plain.shape[1])] for b in range(8)]
    assert all(f or k for fs, ks in zip(is_flip, kept) for f, k in zip(fs, ks))  # each frame flipped or not
    assert any(any(fs) and not all(fs) for fs in is_flip)  # some video has flipped and unflipped frames
    halves = [split.training_batch(list(range(4 * r, 4 * r + 4)), generator(), offset=4 * r, global_size=8,
                                   parts=("flip", "colour"))[0] for r in (0, 1)]
    whole, _ = split.training_batch(list(range(8)), generator(), parts=("flip", "colour"))
    torch.testing.assert_close(torch.cat(halves), whole)


def test_v1s_dropout_before_the_r3d_heads_and_none_on_the_cpu_variants():
    paper = get_profile("paper")
    for model in ("r3d18", "r3d18_flow"):
        head = create_model(model, resolve("paper", ["models.pretrained=false"])).network.fc  # no weights needed
        assert paper.variant(model).head_dropout == V1_DROPOUT
        assert isinstance(head[0], torch.nn.Dropout) and head[0].p == 0.3
        assert isinstance(create_model(model, get_profile("cpu")).network.fc, torch.nn.Linear)


def test_the_detector_scores_files_with_a_pooled_run(prepared, tmp_path):
    """``Detector`` rebuilds a pooled run as it was trained: a video's raw score is the
    run's own video-level score, and an image is a video of one frame."""
    from PIL import Image

    from analysis import Detector
    from analysis.data.manifest import read_manifest
    from analysis.preprocess.video import read_frames

    out = trainer.train(replace(train_config(prepared, tmp_path / "pooled"), profile=resolve("tiny", POOLED)))
    detector = Detector.from_run(out, device="cpu")
    assert detector.members["resnet18"].spec.input_kind == VIDEO
    manifest = read_manifest(prepared[0])  # paths resolved
    row = manifest[(manifest["domain"] == "source") & (manifest["split"] == "test")].iloc[0]
    scores = pd.read_csv(out / "scores.csv", dtype={"video_id": str})
    own = scores[(scores["video_id"] == row["video_id"]) & (scores["method"] == row["method"])
                 & (scores["frame_index"] == -1)]["score"].item()
    assert detector.predict(row["path"]).raw_scores["resnet18"] == pytest.approx(own, abs=1e-5)
    still = tmp_path / "face.png"
    Image.fromarray(read_frames(row["path"], 1)[0]).save(still)
    image = detector.predict(still)
    assert not image.skipped and 0 < image.raw_scores["resnet18"] < 1
