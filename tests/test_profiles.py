"""Profiles: one object per name, overrides from the command line, no silent fallback."""

from __future__ import annotations

from dataclasses import replace

import pytest

from analysis.errors import UserInputError
from analysis.profiles import (
    PROFILES, ModelSettings, apply_overrides, get_profile, profile_from_dict, resolve,
)


def test_unknown_profile_names_the_choices():
    with pytest.raises(UserInputError, match=r"Unknown profile 'gpu'; choose one of \['cpu', 'paper', 'tiny'\]"):
        get_profile("gpu")


def test_overrides_change_one_field_and_keep_the_rest():
    cpu = get_profile("cpu")
    changed = resolve("cpu", ["recipe.epochs=5", "seeds=[0, 1]", "data.benchmark.train_pairs=3",
                              "models.pretrained=false", "per_model.vit_in21k.lr=1e-6", "device=cuda"])
    assert changed.recipe.epochs == 5 and changed.recipe.batch_size == cpu.recipe.batch_size
    assert changed.seeds == (0, 1)
    assert changed.data.benchmark.train_pairs == 3 and changed.data.benchmark.frames == cpu.data.benchmark.frames
    assert changed.recipe_for("vit_in21k").lr == 1e-6 and changed.recipe_for("resnet18").lr == cpu.recipe.lr
    assert changed.device == "cuda"
    assert get_profile("cpu") == cpu  # the registered profile is untouched


def test_bad_overrides_say_what_is_wrong():
    with pytest.raises(UserInputError, match="not one of"):
        resolve("cpu", ["recipe.epoch=5"])
    with pytest.raises(UserInputError, match="expected int"):
        resolve("cpu", ["recipe.epochs=many"])
    with pytest.raises(UserInputError, match="key=value"):
        resolve("cpu", ["recipe.epochs"])
    with pytest.raises(UserInputError, match="Unknown model 'resnet19'"):
        resolve("cpu", ["per_model.resnet19.lr=0.1"])


def test_model_sizes_come_from_the_profile():
    tiny = get_profile("tiny")
    assert tiny.variant("resnet18").input_size == 32
    assert tiny.variant("r3d18").frames == 4  # cpu's 8 frames, at most 4
    assert tiny.variant("resnet18").frames == 1
    assert get_profile("paper").variant("r3d18").frames == 16
    shrunk = apply_overrides(get_profile("paper"), ["models.input_size=32", "models.pretrained=false"])
    assert shrunk.variant("vit_b16").input_size == 32 and not shrunk.variant("vit_b16").pretrained


def test_per_model_settings_change_only_what_they_set():
    paper = get_profile("paper")
    assert paper.model_settings("vit_in21k") == ModelSettings(variant="paper", lr=1e-6, epochs=100, weight_decay=0.0,
                                                              patience=100)
    assert paper.model_settings("resnext50_lstm") == ModelSettings(variant="paper", grad_accumulation=4)
    assert paper.recipe_for("resnext50_lstm") == replace(paper.recipe, grad_accumulation=4)
    assert paper.model_settings("deep_svdd") == ModelSettings(variant="paper")


def test_paper_recipes_are_card_000s_v1_and_card_002s():
    """Card 000's companion code at 4b477d3: two-stage Adam at a constant rate, batch 8, no
    early stopping (ViT at 5e-4 / 5e-5); ResNet-18 single-stage, 15 epochs, the rate halved
    after 3 flat epochs, batch 16. Card 002: 100 epochs at 1e-6, batch 32."""
    paper = get_profile("paper")
    for model in ("efficientnet_b4", "r3d18", "r3d18_flow", "vit_b16"):
        recipe = paper.recipe_for(model)
        assert (recipe.warmup_epochs, recipe.epochs, recipe.batch_size, recipe.weight_decay) == (3, 10, 8, 0.0)
        assert recipe.patience >= recipe.epochs and recipe.plateau_patience >= recipe.epochs  # constant, all run
    assert (paper.recipe_for("vit_b16").head_lr, paper.recipe_for("vit_b16").lr) == (5e-4, 5e-5)
    assert (paper.recipe_for("r3d18").head_lr, paper.recipe_for("r3d18").lr) == (1e-3, 1e-4)
    resnet = paper.recipe_for("resnet18")
    assert (resnet.epochs, resnet.batch_size, resnet.plateau_patience, resnet.lr, resnet.weight_decay) == (
        15, 16, 3, 1e-4, 1e-4)
    assert resnet.patience >= resnet.epochs
    vit = paper.recipe_for("vit_in21k")
    assert (vit.epochs, vit.lr, vit.batch_size) == (100, 1e-6, 32) and vit.patience >= vit.epochs
    assert paper.variant("vit_in21k").arch == "vit_base_patch16_224.orig_in21k"
    assert paper.preprocessing.frames_per_video == 16 and paper.preprocessing.sequence_frames == 20
    assert paper.variant("resnext50_lstm").frames == 20 and paper.preprocessing.flow == "raft"


@pytest.mark.parametrize("name", sorted(PROFILES))
def test_a_stored_profile_reads_back_as_the_same_object(name):
    profile = resolve(name, ["seeds=[2]"])
    assert profile_from_dict(profile.as_dict()) == profile


def test_the_results_settings_refuse_an_unknown_combiner_and_a_negative_seed_when_the_override_is_read():
    from analysis.evaluation import ensembles
    from analysis.profiles import COMBINERS

    assert COMBINERS == ensembles.KINDS
    with pytest.raises(UserInputError, match=r"analysis.combiner='stackng': choose one of"):
        resolve("cpu", ["analysis.combiner=stackng"])
    with pytest.raises(UserInputError, match="analysis.seed=-1: expected a non-negative integer"):
        resolve("cpu", ["analysis.seed=-1"])
    with pytest.raises(UserInputError, match="analysis.n_resamples=0: expected a positive integer"):
        resolve("cpu", ["analysis.n_resamples=0"])
    assert resolve("cpu", ["analysis.combiner=stacking"]).analysis.combiner == "stacking"
