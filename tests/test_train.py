"""The trainer: seeds, resume, the two-stage recipe, class weights, val-only selection."""

from __future__ import annotations

import json
import time
from dataclasses import replace

import numpy as np
import pandas as pd
import pytest
import torch

from analysis.data.manifest import read_manifest, write_manifest
from analysis.preprocess import crop_cache as cache
from analysis.training import crop_datasets as datasets
from analysis.training import trainer
from analysis.training.crop_datasets import StreamedSplit
from analysis.training.scoring import predict
from analysis.models import create_model, get_spec
from analysis.profiles import ONE_CYCLE, PLATEAU, Recipe, get_profile


from tests.conftest import train_config as config, without_batch_statistics


def test_same_seed_same_numbers(prepared, tmp_path):
    runs = [trainer.train(config(prepared, tmp_path / name)) for name in ("a", "b")]
    records = [json.loads((r / "record.json").read_text()) for r in runs]
    strip = lambda h: [{k: v for k, v in e.items() if not k.endswith("seconds")} for e in h]  # noqa: E731
    assert strip(records[0]["history"]) == strip(records[1]["history"])
    scores = [pd.read_csv(r / "scores.csv") for r in runs]
    pd.testing.assert_frame_equal(scores[0], scores[1])


def test_scores_table_covers_every_evaluation_video_at_video_and_frame_level(prepared, tmp_path):
    run = trainer.train(config(prepared, tmp_path / "run"))
    scores = pd.read_csv(run / "scores.csv", dtype={"video_id": str})
    manifest = read_manifest(prepared[0])
    manifest = manifest[manifest["split"] != "train"]
    video = scores[scores["frame_index"] == -1]
    assert len(video) == len(manifest)
    assert not video.duplicated(["dataset", "method", "video_id"]).any()
    assert set(video["domain"]) == {"source", "target"} and set(video["split"]) == {"val", "test"}
    frames = scores[scores["frame_index"] >= 0]
    assert len(frames) == len(manifest) * get_profile("tiny").preprocessing.frames_per_video
    means = frames.groupby(["method", "video_id"])["score"].mean()
    np.testing.assert_allclose(video.set_index(["method", "video_id"])["score"].loc[means.index], means, rtol=1e-5)
    record = json.loads((run / "record.json").read_text())
    assert record["git_commit"] and record["seed"] == 3 and record["history"]
    from analysis.preprocess.pipeline import load_record

    assert record["flow"] == load_record(prepared[1])["flow"]  # the flow that made the crops it read


def test_the_scores_table_keeps_the_best_epochs_validation_scores_as_scoring_again_gives_them(
        prepared, tmp_path, monkeypatch):
    """The final scores table takes the validation videos' scores from the best epoch's
    validation pass and scores only the others: the same table, to the bit, as scoring every
    video again with the best checkpoint."""
    from analysis.training import scoring

    scored_videos = []
    real_predict = scoring.predict

    def counting_predict(model, split, *args):
        scored_videos.append(len(split.videos))
        return real_predict(model, split, *args)

    monkeypatch.setattr(scoring, "predict", counting_predict)
    reused = trainer.train(config(prepared, tmp_path / "reused"))
    manifest = read_manifest(prepared[0])
    val = ((manifest["domain"] == "source") & (manifest["split"] == "val")).sum()
    assert scored_videos[-1] == (manifest["split"] != "train").sum() - val > 0  # validation not scored twice
    real_score_manifest = trainer.score_manifest
    monkeypatch.setattr(trainer, "score_manifest", lambda *args, scored, **kwargs: real_score_manifest(*args, **kwargs))
    again = trainer.train(config(prepared, tmp_path / "again"))
    assert scored_videos[-1] == (manifest["split"] != "train").sum()
    pd.testing.assert_frame_equal(pd.read_csv(reused / "scores.csv"), pd.read_csv(again / "scores.csv"), check_exact=True)


def test_interrupted_run_resumes_to_the_same_result(prepared, tmp_path, monkeypatch):
    reference = trainer.train(config(prepared, tmp_path / "whole", model="r3d18"))  # two-stage: 2 epochs

    original = trainer.epoch_generator

    def crash_at_second_epoch(seed, epoch):
        if epoch == 1:
            raise KeyboardInterrupt("simulated kill after the first epoch")
        return original(seed, epoch)

    monkeypatch.setattr(trainer, "epoch_generator", crash_at_second_epoch)
    with pytest.raises(KeyboardInterrupt):
        trainer.train(config(prepared, tmp_path / "resumed", model="r3d18"))
    assert (tmp_path / "resumed" / "last.pt").is_file() and not (tmp_path / "resumed" / "scores.csv").exists()
    monkeypatch.setattr(trainer, "epoch_generator", original)
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
    model = create_model("efficientnet_b4", get_profile("tiny"))
    trainer.set_stage(model, "warmup")
    trainer.train_mode(model, "warmup")
    trainable = [n for n, p in model.named_parameters() if p.requires_grad]
    assert trainable and all(n.startswith("network.classifier") for n in trainable)
    norms = [m for m in model.modules() if isinstance(m, torch.nn.modules.batchnorm._BatchNorm)]
    assert norms and not any(m.training for m in norms)
    trainer.set_stage(model, "finetune")
    trainer.train_mode(model, "finetune")
    assert all(p.requires_grad for p in model.parameters()) and all(m.training for m in norms)
    trainer.set_stage(model, "warmup")  # v1's warm-up: the weights frozen, the statistics moving
    trainer.train_mode(model, "warmup", frozen_batchnorm=False)
    assert all(m.training for m in norms) and not any(p.requires_grad for p in model.network.conv_stem.parameters())
    assert get_profile("paper").recipe.warmup_frozen_batchnorm is False
    assert get_profile("cpu").recipe.warmup_frozen_batchnorm and get_profile("tiny").recipe.warmup_frozen_batchnorm


def test_ranks_together_see_the_single_process_batches():
    single = list(trainer.BlockSampler(20, 4, seed=1))
    ranks = [list(trainer.BlockSampler(20, 4, seed=1, rank=r, world=2)) for r in (0, 1)]
    rebuilt = [i for b in range(5) for r in (0, 1) for i in ranks[r][2 * b : 2 * b + 2]]
    assert rebuilt == single


@pytest.mark.parametrize("model", ["r3d18", "vit_in21k"])
def test_clip_augmentation_is_the_same_for_every_frame(prepared, model):
    """DESIGN rule 4: a clip of one repeated frame stays one repeated frame after augmentation."""
    manifest_path, cache_dir = prepared
    spec = get_spec(model)
    split = StreamedSplit.load(read_manifest(manifest_path).head(3), cache_dir, spec, get_profile("tiny").variant(model))
    frames = split.items(torch.arange(3))[:, :1].expand(-1, 4, -1, -1, -1).contiguous()  # (N, 4 equal frames, C, H, W)
    batch = datasets.to_model_scale(frames, split.variant)
    augmented = datasets.augment(batch, split.variant, "vit_in21k" if model == "vit_in21k" else "standard",
                                 torch.Generator().manual_seed(0))
    assert not torch.allclose(augmented, batch)  # the augmentation did change the frames
    for t in range(1, augmented.shape[1]):
        torch.testing.assert_close(augmented[:, t], augmented[:, 0])


def test_augmentation_of_a_global_batch_splits_across_processes():
    """Two processes augmenting their halves apply what one process applies to the whole batch."""
    variant = get_profile("tiny").variant("resnet18")
    batch = datasets.to_model_scale(torch.randint(0, 256, (6, 1, 3, 16, 16), dtype=torch.uint8), variant)
    whole = datasets.augment(batch, variant, "standard", torch.Generator().manual_seed(1))
    halves = [datasets.augment(batch[r * 3 : r * 3 + 3], variant, "standard", torch.Generator().manual_seed(1),
                               offset=r * 3, global_size=6) for r in (0, 1)]
    torch.testing.assert_close(torch.cat(halves), whole)


def test_scoring_input_matches_training_input_without_augmentation(prepared):
    """The Detector's per-video input and the trainer's scoring batches are the same tensors."""
    manifest_path, cache_dir = prepared
    videos = read_manifest(manifest_path).head(2)
    for model in ("resnet18", "r3d18_flow", "resnext50_lstm"):
        spec = get_spec(model)
        variant = get_profile("tiny").variant(model)
        split = StreamedSplit.load(videos, cache_dir, spec, variant)
        _, scored = next(split.scoring_batches(rows=10**6))
        field = datasets.cache_field(spec)
        arrays = [cache.load_array(cache_dir, key, field) for key in split.keys()]
        single = torch.cat([datasets.video_input(a, spec, variant) for a in arrays])
        torch.testing.assert_close(scored, single)


@pytest.mark.parametrize("model", ["resnet18", "r3d18", "deep_svdd"])
def test_a_video_scores_the_same_in_any_scoring_batch(prepared, model):
    """Validation and scoring take the training batch's size for speed; a video's scores
    must not depend on it (eval mode: no batch statistics)."""
    manifest_path, cache_dir = prepared
    profile = get_profile("tiny")
    split = StreamedSplit.load(read_manifest(manifest_path).head(5), cache_dir, get_spec(model), profile.variant(model))
    torch.manual_seed(0)
    network = create_model(model, profile)
    network.pre_fit(inputs for _, inputs in split.scoring_batches(10**6))
    one, all_at_once = (predict(network, split, "cpu", amp=False, batch=batch) for batch in (1, 10**6))
    assert len(one) == len(all_at_once) == 5
    np.testing.assert_allclose([s.video for s in one], [s.video for s in all_at_once], rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(np.concatenate([s.frames for s in one]),
                               np.concatenate([s.frames for s in all_at_once]), rtol=1e-5, atol=1e-6)


def test_streamed_items_are_the_cached_crops_at_the_model_size(prepared, tmp_path):
    """A streamed split returns exactly what stacking the resized cache entries in memory
    gives, for single frames and for whole clips; reads outside it are refused."""
    manifest_path, cache_dir = prepared
    videos = read_manifest(manifest_path).head(4)
    for model in ("resnet18", "r3d18"):
        spec, variant = get_spec(model), get_profile("tiny").variant(model)
        split = StreamedSplit.load(videos, cache_dir, spec, variant)
        field = datasets.cache_field(spec)
        stacked = torch.stack([datasets.resize_uint8(datasets.model_frames(cache.load_array(cache_dir, key, field),
                                                                           spec, variant), variant.input_size)
                               for key in split.keys()])
        index = torch.tensor([3, 0, 2, 2])
        expected = stacked.flatten(0, 1)[index].unsqueeze(1) if spec.input_kind == "frame" else stacked[index]
        assert torch.equal(split.items(index), expected)
        _, scored = next(split.scoring_batches(rows=10**6))
        layout = stacked.flatten(0, 1).unsqueeze(1) if spec.input_kind == "frame" else stacked
        torch.testing.assert_close(scored, datasets.model_layout(datasets.to_model_scale(layout, variant), spec),
                                   rtol=0, atol=0)
        with pytest.raises(IndexError, match="outside"):
            split.store.read(np.array([len(split.videos) * split.video_frames]), 1)


def test_training_batch_labels_each_item_with_its_video_label(prepared):
    """A batch's labels are its items' (a frame item's video's), and an index array gives
    the batch a list gives, as the trainer passes its epoch order as an array."""
    manifest_path, cache_dir = prepared
    manifest = read_manifest(manifest_path)
    videos = pd.concat([manifest[manifest["label"] == label].head(3) for label in (0, 1)])
    for model in ("resnet18", "r3d18"):
        spec, variant = get_spec(model), get_profile("tiny").variant(model)
        split = StreamedSplit.load(videos, cache_dir, spec, variant)
        indices = np.array([len(split) - 1, 0, split.per_video, len(split) // 2])
        expected = torch.as_tensor(np.repeat(videos["label"].to_numpy(), split.per_video)[indices])
        inputs, labels = split.training_batch(indices, torch.Generator().manual_seed(0))
        listed, listed_labels = split.training_batch(indices.tolist(), torch.Generator().manual_seed(0))
        assert torch.equal(labels, expected) and set(labels.tolist()) == {0, 1}
        assert torch.equal(inputs, listed) and torch.equal(listed_labels, expected)


def test_scores_rows_list_each_video_then_its_frames():
    """The scores table's rows: per video its score, then each frame score it has at
    frame_index 0, 1, ...; clip models only the video's row; no video, no row."""
    from analysis.evaluation.scores_table import COLUMNS
    from analysis.training.scoring import VideoScores, scores_rows

    videos = pd.DataFrame({"dataset": ["d", "d"], "domain": ["source", "target"], "split": ["val", "test"],
                           "video_id": ["a", "b"], "method": ["m", "n"], "label": [0, 1], "group": ["d/a", "d/b"]})
    scores = [VideoScores(0.5, np.array([0.25, 0.75], np.float32)), VideoScores(0.25, np.array([0.5, 0.0], np.float32))]
    frames = scores_rows(videos, scores, model="x", seed=2)
    assert list(frames.columns) == list(COLUMNS)
    assert frames[["video_id", "group", "frame_index", "score"]].values.tolist() == [
        ["a", "d/a", -1, 0.5], ["a", "d/a", 0, 0.25], ["a", "d/a", 1, 0.75],
        ["b", "d/b", -1, 0.25], ["b", "d/b", 0, 0.5], ["b", "d/b", 1, 0.0]]
    assert frames["label"].tolist() == [0, 0, 0, 1, 1, 1] and frames["domain"].tolist()[2:4] == ["source", "target"]
    assert (frames["model"] == "x").all() and (frames["seed"] == 2).all() and frames["score"].dtype == np.float64
    clips = scores_rows(videos, [VideoScores(0.25, np.zeros(0)), VideoScores(0.5, np.zeros(0))], model="x", seed=2)
    assert clips[["video_id", "frame_index", "score"]].values.tolist() == [["a", -1, 0.25], ["b", -1, 0.5]]
    empty = scores_rows(videos.head(0), [], model="x", seed=2)
    assert empty.empty and list(empty.columns) == list(COLUMNS)


def test_patience_waits_for_the_one_cycle_rate_to_fall():
    one_cycle = Recipe(0, 22, 8, 1e-3, 1e-3, 1e-4, patience=6, train_frames_per_video=None, schedule=ONE_CYCLE)
    counted = [trainer.counts_towards_patience(e, 22, one_cycle) for e in range(22)]
    assert trainer.ONE_CYCLE_WARMUP == 0.2  # the rate peaks 4.4 epochs into 22
    assert counted == [False] * 4 + [True] * 18
    plateau = replace(one_cycle, schedule=PLATEAU)
    assert all(trainer.counts_towards_patience(e, 22, plateau) for e in range(22))


def test_one_cycle_schedule_and_stop_reason_are_recorded(prepared, tmp_path):
    recipe = Recipe(0, 3, 8, 1e-3, 1e-3, 1e-4, patience=5, train_frames_per_video=None, schedule=ONE_CYCLE)
    tiny = replace(get_profile("tiny"), recipe=recipe)
    run = trainer.train(replace(config(prepared, tmp_path / "run"), profile=tiny))
    record = json.loads((run / "record.json").read_text())
    assert record["stop_reason"] == "max_epochs" and len(record["history"]) == 3
    assert record["history"][-1]["lr"] < 1e-3 / 100  # one-cycle anneals to a small fraction of the peak
    hung = replace(tiny, recipe=replace(recipe, hang_guard_seconds=1e-3))
    guarded = trainer.train(replace(config(prepared, tmp_path / "guard"), profile=hung))
    record = json.loads((guarded / "record.json").read_text())
    assert record["stop_reason"] == trainer.HANG_GUARD and len(record["history"]) == 1
    assert record["complete"] is False


TIMINGS = ("fit_seconds", "seconds", "train_seconds", "train_seconds_this_session", "score_seconds")


def _without_timings(record: dict) -> dict:
    kept = {k: v for k, v in record.items() if k not in TIMINGS}
    kept["history"] = [{k: v for k, v in h.items() if k not in TIMINGS} for h in record["history"]]
    return kept


def test_a_slower_machine_gives_the_same_run(prepared, tmp_path, monkeypatch):
    """DESIGN rule 15: a machine three times slower (every batch waits, and the clock runs
    three times as fast) trains the same epochs and writes the same record and scores."""
    recipe = Recipe(0, 3, 8, 1e-3, 1e-3, 1e-4, patience=5, train_frames_per_video=None, schedule=ONE_CYCLE,
                    hang_guard_seconds=600.0)
    tiny = replace(get_profile("tiny"), recipe=recipe)
    fast = trainer.train(replace(config(prepared, tmp_path / "fast"), profile=tiny))
    start, real_clock, real_batch = trainer.clock(), trainer.clock, trainer.StreamedSplit.training_batch

    def slow_batch(self, *args, **kwargs):
        time.sleep(0.02)
        return real_batch(self, *args, **kwargs)

    monkeypatch.setattr(trainer, "clock", lambda: start + 3 * (real_clock() - start))
    monkeypatch.setattr(trainer.StreamedSplit, "training_batch", slow_batch)
    slow = trainer.train(replace(config(prepared, tmp_path / "slow"), profile=tiny))
    fast_record, slow_record = (json.loads((run / "record.json").read_text()) for run in (fast, slow))
    assert slow_record["train_seconds"] > fast_record["train_seconds"]  # the simulation did slow it down
    assert slow_record["stop_reason"] == "max_epochs" and slow_record["complete"]
    for record in (fast_record, slow_record):
        record["config"].pop("out_dir")
    assert _without_timings(slow_record) == _without_timings(fast_record)
    pd.testing.assert_frame_equal(pd.read_csv(slow / "scores.csv"), pd.read_csv(fast / "scores.csv"))


def test_two_processes_match_one(prepared, tmp_path, monkeypatch):
    """torchrun with 2 CPU processes (gloo) running the CLI's ``train`` against one process
    with the same seed: the same batches, averaged gradients, validation and scoring
    sharded over the ranks and gathered, the same decisions. Both on the model without
    BatchNorm (conftest.without_batch_statistics): batch statistics are a process's own,
    so with them two processes train another model, and a near-tie on validation may then
    go the other way. (With micro-batches: tests/test_distributed.py.)"""
    import subprocess
    import sys

    manifest, cache_dir = prepared
    common = ["--model", "vit_b16", "--profile", "tiny", "--cache", str(cache_dir), "--manifest", str(manifest),
              "--seed", "3"]
    monkeypatch.setattr(trainer, "create_model", without_batch_statistics)
    single = trainer.train(config(prepared, tmp_path / "single", model="vit_b16"))
    subprocess.run([sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node=2",
                    "-m", "tests.train_without_batch_statistics", "train", *common, "--out", str(tmp_path / "ddp")],
                   check=True, capture_output=True)
    record = json.loads((tmp_path / "ddp" / "record.json").read_text())
    assert record["world_size"] == 2 and record["micro_batch"] == 4
    reference = json.loads((single / "record.json").read_text())
    assert [h["epoch"] for h in record["history"]] == [h["epoch"] for h in reference["history"]]
    assert (record["best_epoch"], record["stop_reason"]) == (reference["best_epoch"], reference["stop_reason"])
    a, b = (pd.read_csv(p / "scores.csv") for p in (single, tmp_path / "ddp"))
    assert a[["method", "video_id", "frame_index"]].equals(b[["method", "video_id", "frame_index"]])
    # same batches, averaged gradients: equal up to the order of floating-point sums
    assert np.abs(a["score"] - b["score"]).max() < 1e-4


def test_seed_table_has_a_column_per_seed_in_registry_order():
    from analysis.training.run_summary import seed_table

    records = [{"model": m, "seed": s, "best_val_auc": auc}
               for s in (0, 1) for m, auc in (("resnet18", 0.7 + s / 10), ("autoencoder", 0.5 - s / 10))]
    table = seed_table(records)
    assert list(table.columns) == ["model", "seed 0", "seed 1"]
    assert list(table["model"]) == ["resnet18", "autoencoder"]
    assert table.set_index("model").loc["autoencoder", "seed 1"] == pytest.approx(0.4)


def test_unfitted_names_classifiers_whose_loss_stayed_at_ln2():
    from analysis.training.run_summary import unfitted

    def record(losses, schedule="single_stage"):
        return {"schedule": schedule, "history": [{"train_loss": v} for v in losses]}

    records = {"flat": record([0.72, 0.70, 0.694, 0.69]), "fits": record([0.70, 0.66, 0.55]),
               "one_class": record([3.0, 2.9], schedule="one_class")}
    assert unfitted(records) == ["flat"]


def test_guard_text_states_how_far_the_guard_is_above_the_longest_run():
    from analysis.training.run_summary import guard_text

    text = guard_text({"model": "r3d18", "train_seconds": 900.0, "recipe": {"hang_guard_seconds": 3600.0}})
    assert "60 minutes" in text and "15.0 minutes" in text and "4.0 times" in text


def test_a_manifest_without_the_sources_training_videos_is_refused_in_words(prepared, tmp_path):
    from analysis.errors import UserInputError

    manifest = read_manifest(prepared[0])
    target_only = tmp_path / "celebdf.csv"
    write_manifest(manifest[manifest["domain"] == "target"], target_only)
    with pytest.raises(UserInputError, match="holds no train and val video of the source domain"):
        trainer.train(replace(config(prepared, tmp_path / "run"), manifest=str(target_only)))
