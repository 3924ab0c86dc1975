"""The recipe table: card 000, its companion code, and the paper profile."""

from __future__ import annotations

from analysis.profiles import apply_overrides, get_profile
from analysis.training import card_recipe

ELEMENTS = ("frames and their spacing", "crop sizes", "backbone weights", "head", "input normalisation", "face detector", "split", "class weights and sampler",
            "stages and epochs", "optimiser", "schedule", "early stopping", "batch", "AMP", "augmentation",
            "flow method and flow frames", "per-video aggregation", "checkpoint selection", "test set")


def test_one_row_per_element_with_sources():
    table = card_recipe.recipe_table()
    assert tuple(table["element"]) == ELEMENTS
    assert table["source"].str.len().gt(0).all() and table["this profile"].str.len().gt(0).all()


def test_where_no_departure_is_given_the_profile_does_what_v1_did():
    table = card_recipe.recipe_table().set_index("element")
    reproduced = table[table["departure"] == ""].index
    assert {"stages and epochs", "optimiser", "early stopping", "per-video aggregation", "checkpoint selection",
            "head"} <= set(reproduced)
    mine = table["this profile"]
    assert mine["frames and their spacing"].startswith("16, np.linspace")
    assert mine["stages and epochs"] == ("two-stage 3 + 10, the warm-up's BatchNorm statistics updated; "
                                         "ResNet-18 single-stage 15")
    assert mine["batch"] == "two-stage 8; ResNet-18 16; EfficientNet-B4 in 2 micro-batches"
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


def test_v1s_sampler_selection_amp_and_augmentation_are_followed():
    table = card_recipe.recipe_table().set_index("element")
    assert (table.loc[["class weights and sampler", "schedule", "AMP"], "departure"] == "").all()
    mine = table["this profile"]
    assert "EfficientNet-B4, R3D-18, R3D-18+RAFT, ViT-B/16: class-balanced" in mine["class weights and sampler"]
    assert mine["class weights and sampler"].endswith("ResNet-18: a seeded shuffle")
    assert mine["AMP"] == "EfficientNet-B4, R3D-18, R3D-18+RAFT, ViT-B/16: fp16 autocast + GradScaler; ResNet-18: none"
    assert mine["checkpoint selection"].startswith("EfficientNet-B4, R3D-18, R3D-18+RAFT, ViT-B/16: best validation "
                                                   "accuracy")
    assert "ResNet-18: best validation macro-F1" in mine["checkpoint selection"]
    assert mine["schedule"].endswith("without a better validation macro-F1")
    assert mine["augmentation"] == ("EfficientNet-B4, ViT-B/16: horizontal flip + colour jitter (0.2, 0.2, 0.1); "
                                    "R3D-18, R3D-18+RAFT: horizontal flip; ResNet-18: none")
    # the departure left is one draw per clip (DESIGN rule 4), not a missing option
    assert "one draw per clip" in table.loc["augmentation", "departure"] and "colour" not in table.loc["augmentation", "departure"]


def test_the_new_cells_follow_the_profile():
    changed = apply_overrides(get_profile("paper"), ["per_model.resnet18.amp=true", "per_model.resnet18.augment=[crop]",
                                                     "per_model.vit_b16.select_by=auc",
                                                     "per_model.r3d18.sampler=shuffle"])
    mine = card_recipe.recipe_table(changed).set_index("element")["this profile"]
    assert mine["AMP"].endswith("ResNet-18: fp16 autocast + GradScaler") and "none" not in mine["AMP"]
    assert mine["augmentation"].endswith("ResNet-18: random crop (80-100 % of the area)")
    assert "ViT-B/16: best validation AUC" in mine["checkpoint selection"]
    assert mine["class weights and sampler"].endswith("R3D-18, ResNet-18: a seeded shuffle")
    cpu = card_recipe.recipe_table("cpu").set_index("element")["this profile"]
    assert cpu["AMP"] == "none (CPU)" and cpu["checkpoint selection"] == (
        "EfficientNet-B4, R3D-18, R3D-18+RAFT, ViT-B/16, ResNet-18: best validation AUC")


def test_the_frame_models_pool_per_video_as_v1_did():
    table = card_recipe.recipe_table().set_index("element")
    assert table.loc["per-video aggregation", "departure"] == ""
    assert table.loc["per-video aggregation", "this profile"].startswith(
        "EfficientNet-B4, ViT-B/16, ResNet-18: the frames' backbone features mean-pooled")
    assert table.loc["head", "departure"] == ""
    assert table.loc["head", "this profile"] == ("EfficientNet-B4, R3D-18, R3D-18+RAFT, ResNet-18: dropout 0.3 + linear; "
                                                 "ViT-B/16: dropout 0.2 + linear")
    changed = apply_overrides(get_profile("paper"), ["per_model.vit_b16.aggregation=mean_probability"])
    mine = card_recipe.recipe_table(changed).set_index("element")["this profile"]
    assert "ViT-B/16: single frames in training, the mean of the frames' probabilities" in mine["per-video aggregation"]
    assert mine["head"].endswith("ViT-B/16: linear")
