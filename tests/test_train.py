"""The trainer: seeds, resume, the two-stage recipe, class weights, val-only selection."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
import torch

from analysis import train as trainer
from analysis.datasets import CacheDataset
from analysis.manifest import read_manifest, write_manifest
from analysis.models import create_model, get_spec
from analysis.profiles import get_profile


from tests.conftest import train_config as config


def test_same_seed_same_numbers(prepared, tmp_path):
    runs = [trainer.train(config(prepared, tmp_path / name)) for name in ("a", "b")]
    records = [json.loads((r / "record.json").read_text()) for r in runs]
    strip = lambda h: [{k: v for k, v in e.items() if k != "seconds"} for e in h]  # noqa: E731
    assert strip(records[0]["history"]) == strip(records[1]["history"])
    scores = [pd.read_csv(r / "scores.csv") for r in runs]
    pd.testing.assert_frame_equal(scores[0], scores[1])


def test_scores_table_covers_every_video_at_video_and_frame_level(prepared, tmp_path):
    run = trainer.train(config(prepared, tmp_path / "run"))
    scores = pd.read_csv(run / "scores.csv", dtype={"video_id": str})
    manifest = read_manifest(prepared[0])
    video = scores[scores["frame_index"] == -1]
    assert len(video) == len(manifest)
    assert not video.duplicated(["dataset", "method", "video_id"]).any()
    assert set(video["domain"]) == {"source", "target"} and set(video["split"]) == {"train", "val", "test"}
    frames = scores[scores["frame_index"] >= 0]
    assert len(frames) == len(manifest) * get_profile("tiny").frames_per_video
    means = frames.groupby(["method", "video_id"])["score"].mean()
    np.testing.assert_allclose(video.set_index(["method", "video_id"])["score"].loc[means.index], means, rtol=1e-5)
    record = json.loads((run / "record.json").read_text())
    assert record["git_commit"] and record["seed"] == 3 and record["history"]


def test_interrupted_run_resumes_to_the_same_result(prepared, tmp_path, monkeypatch):
    reference = trainer.train(config(prepared, tmp_path / "whole", model="r3d18"))  # two-stage: 2 epochs

    original = CacheDataset.set_epoch

    def crash_at_second_epoch(self, epoch):
        if epoch == 1:
            raise KeyboardInterrupt("simulated kill after the first epoch")
        original(self, epoch)

    monkeypatch.setattr(CacheDataset, "set_epoch", crash_at_second_epoch)
    with pytest.raises(KeyboardInterrupt):
        trainer.train(config(prepared, tmp_path / "resumed", model="r3d18"))
    assert (tmp_path / "resumed" / "last.pt").is_file() and not (tmp_path / "resumed" / "scores.csv").exists()
    monkeypatch.setattr(CacheDataset, "set_epoch", original)
    resumed = trainer.train(config(prepared, tmp_path / "resumed", model="r3d18"))
    pd.testing.assert_frame_equal(pd.read_csv(reference / "scores.csv"), pd.read_csv(resumed / "scores.csv"))


def test_target_domain_never_influences_training_or_selection(prepared, tmp_path):
    manifest_path, cache_dir = prepared
    manifest = read_manifest(manifest_path)
    source_only = write_manifest(manifest[manifest["domain"] == "source"], tmp_path / "source_only.csv")
    with_target = trainer.train(config(prepared, tmp_path / "with"))
    without = trainer.train(trainer.TrainConfig(**{**config(prepared, tmp_path / "without").__dict__,
                                                   "manifest": str(source_only)}))
    history = [json.loads((r / "record.json").read_text())["history"] for r in (with_target, without)]
    assert [h["val_auc"] for h in history[0]] == [h["val_auc"] for h in history[1]]


def test_class_weights_balance_the_classes():
    weights = trainer.class_weights(np.array([0, 1, 1, 1]))
    assert weights.tolist() == pytest.approx([2.0, 2 / 3])
    with pytest.raises(ValueError, match="both classes"):
        trainer.class_weights(np.array([1, 1]))


def test_warmup_trains_only_the_head_with_frozen_batchnorm():
    model = create_model("efficientnet_b4", "tiny")
    trainer.set_stage(model, "warmup")
    trainer.train_mode(model, "warmup")
    trainable = [n for n, p in model.named_parameters() if p.requires_grad]
    assert trainable and all(n.startswith("classifier") for n in trainable)
    norms = [m for m in model.modules() if isinstance(m, torch.nn.modules.batchnorm._BatchNorm)]
    assert norms and not any(m.training for m in norms)
    trainer.set_stage(model, "finetune")
    trainer.train_mode(model, "finetune")
    assert all(p.requires_grad for p in model.parameters()) and all(m.training for m in norms)


def test_ranks_together_see_the_single_process_batches():
    single = list(trainer.BlockSampler(20, 4, seed=1))
    ranks = [list(trainer.BlockSampler(20, 4, seed=1, rank=r, world=2)) for r in (0, 1)]
    rebuilt = [i for b in range(5) for r in (0, 1) for i in ranks[r][2 * b : 2 * b + 2]]
    assert rebuilt == single


def test_clip_augmentation_is_the_same_for_every_frame(prepared):
    manifest_path, cache_dir = prepared
    videos = read_manifest(manifest_path).head(3)
    spec = get_spec("r3d18")
    dataset = CacheDataset(videos, cache_dir, spec, spec.variant("tiny"), train=True, seed=0)
    still = np.repeat(dataset._array(0)[:1], len(dataset._array(0)), axis=0)  # a clip of one repeated frame
    dataset._memory[0] = still
    clip, _ = dataset[0]  # (C, T, H, W)
    for t in range(1, clip.shape[1]):
        torch.testing.assert_close(clip[:, t], clip[:, 0])


def test_two_processes_match_one(prepared, tmp_path):
    """torchrun with 2 CPU processes (gloo) against one process with the same seed."""
    import subprocess
    import sys

    manifest, cache_dir = prepared
    common = ["--model", "vit_b16", "--profile", "tiny", "--cache", str(cache_dir), "--manifest", str(manifest),
              "--seed", "3", "--device", "cpu"]
    single = trainer.train(config(prepared, tmp_path / "single", model="vit_b16"))  # LayerNorm only
    subprocess.run([sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node=2",
                    "-m", "analysis", "train", *common, "--out", str(tmp_path / "ddp")],
                   check=True, capture_output=True)
    record = json.loads((tmp_path / "ddp" / "record.json").read_text())
    assert record["world_size"] == 2
    a, b = (pd.read_csv(p / "scores.csv") for p in (single, tmp_path / "ddp"))
    assert a[["method", "video_id", "frame_index"]].equals(b[["method", "video_id", "frame_index"]])
    # same batches, averaged gradients: equal up to the order of floating-point sums
    assert np.abs(a["score"] - b["score"]).max() < 1e-4
