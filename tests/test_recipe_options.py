"""Recipe options that let the paper profile follow card 000's companion code v1: a
class-balanced sampler, checkpoint selection by accuracy or macro-F1, AMP per model,
and the augmentation's parts (colour jitter among them)."""

from __future__ import annotations

import json
from dataclasses import replace

import numpy as np
import pytest
import torch

from analysis.errors import UserInputError
from analysis.profiles import (ACCURACY, AUC, BALANCED, COLOUR, CROP, FLIP, MACRO_F1, SHUFFLE, get_profile,
                               profile_from_dict, resolve)
from analysis.training import crop_datasets as datasets
from analysis.training import trainer
from tests.conftest import train_config

TINY = get_profile("tiny").recipe


def test_balanced_sampler_draws_both_classes_equally_often():
    labels = np.array([1] * 30 + [0] * 10)  # three fakes per real
    sampler = trainer.BalancedBlockSampler(labels, batch_size=8, seed=2)
    drawn = []
    for epoch in range(50):
        sampler.set_epoch(epoch)
        drawn += list(sampler)
    share = labels[drawn].mean()
    assert len(drawn) == 50 * 40 and 0.45 < share < 0.55  # a shuffle would give 0.75
    assert len(set(drawn)) == 40  # every item is drawn at some point


def test_balanced_sampler_is_seeded_per_epoch_and_shards_like_the_shuffle():
    labels = np.array([1] * 14 + [0] * 6)
    orders = {}
    for seed, epoch in ((1, 0), (1, 1), (2, 0)):
        sampler = trainer.BalancedBlockSampler(labels, 4, seed=seed)
        sampler.set_epoch(epoch)
        orders[seed, epoch] = list(sampler)
        assert list(sampler) == orders[seed, epoch]  # the same draws when asked again
    assert orders[1, 0] != orders[1, 1] and orders[1, 0] != orders[2, 0]
    ranks = [trainer.BalancedBlockSampler(labels, 4, seed=1, rank=r, world=2) for r in (0, 1)]
    parts = [list(r) for r in ranks]
    assert [i for b in range(5) for r in (0, 1) for i in parts[r][2 * b : 2 * b + 2]] == orders[1, 0]
    assert len(ranks[0]) == len(parts[0]) == 10


def test_make_sampler_follows_the_recipe():
    labels = np.array([0, 1] * 8)
    assert type(trainer.make_sampler(TINY, labels, 0)) is trainer.BlockSampler
    assert isinstance(trainer.make_sampler(replace(TINY, sampler=BALANCED), labels, 0), trainer.BalancedBlockSampler)


def test_validation_scores_by_each_metric():
    labels = np.array([0, 0, 1, 1])
    # ranked perfectly, but every video called fake: AUC 1, accuracy 1/2
    probabilities = np.array([0.6, 0.7, 0.85, 0.95])
    assert trainer.validation_scores(labels, probabilities, AUC) == (1.0, 1.0)
    assert trainer.validation_scores(labels, probabilities, ACCURACY) == (1.0, 0.5)
    auc, f1 = trainer.validation_scores(labels, probabilities, MACRO_F1)
    assert auc == 1.0 and f1 == pytest.approx((0 + 2 / 3) / 2)  # F1 of "real" 0, of "fake" 2/3
    # a video at exactly 0.5 is called real, as the argmax of two equal logits
    assert trainer.validation_scores(np.array([0, 1]), np.array([0.5, 0.9]), ACCURACY)[1] == 1.0


def test_amp_only_on_cuda_and_only_where_the_recipe_keeps_it():
    assert trainer.uses_amp("cuda", TINY) and trainer.uses_amp("cuda:1", TINY)
    assert not trainer.uses_amp("cuda", replace(TINY, amp=False))
    assert not trainer.uses_amp("cpu", TINY)


def test_recipe_rejects_unknown_choices():
    for override in ("recipe.sampler=weighted", "recipe.select_by=loss", "recipe.augment=[flip,blur]"):
        with pytest.raises(UserInputError, match="choose"):
            resolve("tiny", [override])
    assert resolve("tiny", ["per_model.resnet18.augment=[]"]).recipe_for("resnet18").augment == ()


def test_cpu_and_tiny_keep_todays_recipe_and_paper_sets_v1s():
    for name in ("cpu", "tiny"):
        profile = get_profile(name)
        for model in profile.model_names():
            recipe = profile.recipe_for(model)
            assert (recipe.sampler, recipe.select_by, recipe.amp, recipe.augment) == (SHUFFLE, AUC, True, (CROP, FLIP))
    paper = get_profile("paper")
    resnet = paper.recipe_for("resnet18")
    assert (resnet.sampler, resnet.select_by, resnet.amp, resnet.augment) == (SHUFFLE, MACRO_F1, False, ())
    for model, augment in (("efficientnet_b4", (FLIP, COLOUR)), ("vit_b16", (FLIP, COLOUR)), ("r3d18", (FLIP,)),
                           ("r3d18_flow", (FLIP,))):
        recipe = paper.recipe_for(model)
        assert (recipe.sampler, recipe.select_by, recipe.amp, recipe.augment) == (BALANCED, ACCURACY, True, augment)
    # a run record stores the profile as JSON; read back, the augmentations are tuples again
    assert profile_from_dict(json.loads(json.dumps(paper.as_dict()))) == paper


def _batch(n=6, frames=1, size=16, seed=0):
    variant = get_profile("tiny").variant("resnet18")
    pixels = torch.randint(0, 256, (n, frames, 3, size, size), dtype=torch.uint8, generator=torch.Generator().manual_seed(seed))
    return datasets.to_model_scale(pixels, variant), variant


def test_without_parts_the_batch_is_left_as_it_is_and_flip_only_flips():
    batch, variant = _batch()
    untouched = datasets.augment(batch, variant, "standard", torch.Generator().manual_seed(0), parts=())
    torch.testing.assert_close(untouched, batch, rtol=0, atol=0)
    flipped = datasets.augment(batch, variant, "standard", torch.Generator().manual_seed(0), parts=(FLIP,))
    mirrored = batch.flip(-1)
    is_flip = [torch.allclose(f, m, atol=1e-5) for f, m in zip(flipped, mirrored)]
    is_same = [torch.allclose(f, b, atol=1e-5) for f, b in zip(flipped, batch)]
    assert all(a != b for a, b in zip(is_flip, is_same)) and any(is_flip)  # each item flipped or not, nothing else


def test_colour_jitter_changes_colours_within_range_the_same_for_every_frame():
    batch, variant = _batch(n=8)
    clip = batch.expand(-1, 4, -1, -1, -1).contiguous()  # 4 equal frames per item
    jittered = datasets.augment(clip, variant, "standard", torch.Generator().manual_seed(0), parts=(COLOUR,))
    for t in range(1, 4):
        torch.testing.assert_close(jittered[:, t], jittered[:, 0])  # DESIGN rule 4
    mean, std = torch.tensor(variant.mean).view(3, 1, 1), torch.tensor(variant.std).view(3, 1, 1)
    images, originals = jittered[:, 0] * std + mean, clip[:, 0] * std + mean
    assert images.min() >= -1e-5 and images.max() <= 1 + 1e-5
    assert all(not torch.allclose(a, b, atol=1e-3) for a, b in zip(images, originals))
    # brightness, contrast and saturation factors of at most 1.2 bound how far the mean moves
    ratio = images.mean(dim=(1, 2, 3)) / originals.mean(dim=(1, 2, 3))
    assert ((ratio > 0.8 * 0.8 * 0.9 - 1e-3) & (ratio < 1.2 * 1.2 * 1.1 + 1e-3)).all()


def test_colour_jitter_of_a_global_batch_splits_across_processes():
    batch, variant = _batch(n=6)
    parts = (FLIP, CROP, COLOUR)
    whole = datasets.augment(batch, variant, "standard", torch.Generator().manual_seed(1), parts=parts)
    halves = [datasets.augment(batch[r * 3 : r * 3 + 3], variant, "standard", torch.Generator().manual_seed(1),
                               offset=r * 3, global_size=6, parts=parts) for r in (0, 1)]
    torch.testing.assert_close(torch.cat(halves), whole)


def test_v1_options_train_end_to_end_and_select_by_their_metric(prepared, tmp_path):
    profile = resolve("tiny", ["recipe.sampler=balanced", "recipe.select_by=macro_f1", "recipe.amp=false",
                               "recipe.augment=[flip,colour]"])
    out = trainer.train(replace(train_config(prepared, tmp_path / "run"), profile=profile))
    record = json.loads((out / "record.json").read_text())
    assert (record["recipe"]["sampler"], record["recipe"]["select_by"]) == (BALANCED, MACRO_F1)
    history = record["history"]
    assert all("val_macro_f1" in h and "val_auc" in h for h in history)
    best = max(range(len(history)), key=lambda i: (history[i]["val_macro_f1"], -i))  # first of the best
    assert record["best_epoch"] == history[best]["epoch"]
    assert record["best_val_auc"] == history[best]["val_auc"]


def test_one_class_models_cannot_select_by_a_threshold_metric(prepared, tmp_path):
    profile = resolve("tiny", ["recipe.select_by=accuracy"])
    with pytest.raises(UserInputError, match="anomal"):
        trainer.train(replace(train_config(prepared, tmp_path / "svdd", model="deep_svdd"), profile=profile))


def test_the_training_pages_recipe_table_names_the_schedule_that_ran_and_no_weights_for_a_random_init():
    from analysis.training import run_summary
    record = {"model": "vit_b16", "arch": "vit_tiny_patch16_224.augreg_in21k", "pretrained": False, "frames": 1,
              "input_size": 64, "schedule": "two_stage", "input_kind": "frame", "train_items": 1800,
              "recipe": {"warmup_epochs": 0, "epochs": 8, "schedule": "one_cycle", "lr": 2e-4, "batch_size": 64,
                         "train_frames_per_video": 2},
              "history": [{}] * 8, "best_epoch": 7, "best_val_auc": 0.74, "parameters": 5.6e6,
              "train_seconds": 200.0, "device": "cpu", "threads": 1, "seed": 0}
    table = run_summary.recipe_table(record)["vit_b16"]
    assert table["schedule"] == "one-cycle learning rate, 8 epochs (the card's head warm-up skipped)"
    assert table["architecture"] == "vit_tiny_patch16_224"
    assert table["training items per epoch"] == "1800 (2 frames of each training video)"
    assert table["learning rate"] == "0.0002 (one-cycle peak)"
    one_class = {**record, "schedule": "one_class", "train_items": 600}
    assert run_summary.recipe_table(one_class)["vit_b16"]["training items per epoch"] == (
        "600 (2 frames of each real training video)")
    clip = {**record, "input_kind": "clip", "train_items": 900}
    assert run_summary.recipe_table(clip)["vit_b16"]["training items per epoch"] == "900 (one clip of each training video)"
    warmed = {**record, "pretrained": True, "recipe": {**record["recipe"], "warmup_epochs": 2, "schedule": "plateau"}}
    table = run_summary.recipe_table(warmed)["vit_b16"]
    assert table["schedule"] == "plateau learning rate, 2 warm-up + 8 epochs"
    assert table["architecture"] == "vit_tiny_patch16_224.augreg_in21k"
