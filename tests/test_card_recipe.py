"""The recipe table: card 000, its companion code, and the paper profile."""

from __future__ import annotations

from analysis.profiles import apply_overrides, get_profile
from analysis.training import card_recipe

ELEMENTS = ("frames and their spacing", "crop sizes", "backbone weights", "input normalisation", "face detector", "split", "class weights and sampler",
            "stages and epochs", "optimiser", "schedule", "early stopping", "batch", "AMP", "augmentation",
            "flow method and flow frames", "per-video aggregation", "checkpoint selection", "test set")


def test_one_row_per_element_with_sources():
    table = card_recipe.recipe_table()
    assert tuple(table["element"]) == ELEMENTS
    assert table["source"].str.len().gt(0).all() and table["this profile"].str.len().gt(0).all()


def test_where_no_departure_is_given_the_profile_does_what_v1_did():
    table = card_recipe.recipe_table().set_index("element")
    reproduced = table[table["departure"] == ""].index
    assert {"frames and their spacing", "stages and epochs", "optimiser", "early stopping", "batch"} <= set(reproduced)
    mine = table["this profile"]
    assert mine["frames and their spacing"].startswith("16, np.linspace")
    assert mine["stages and epochs"] == "two-stage 3 + 10; ResNet-18 single-stage 15"
    assert mine["batch"] == "two-stage 8; ResNet-18 16"
    assert mine["early stopping"].startswith("none") and "two-stage: constant" in mine["schedule"]
    assert "at 0.001 then 0.0001 (ViT 0.0005 then 5e-05)" in mine["optimiser"] and "weight decay 0," in mine["optimiser"]


def test_the_profile_column_follows_the_profile():
    changed = apply_overrides(get_profile("paper"), ["preprocessing.flow=farneback",
                                                     "recipe.warmup_epochs=10"])
    mine = card_recipe.recipe_table(changed).set_index("element")["this profile"]
    assert mine["stages and epochs"].startswith("two-stage 10 + 10")
    assert mine["flow method and flow frames"].startswith("farneback")
    card_002 = card_recipe.card_002_table().set_index("element")["this profile"]
    assert card_002["backbone"] == "vit_base_patch16_224.orig_in21k" and card_002["epochs"].startswith("100")
