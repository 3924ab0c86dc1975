"""Card 000's recipe three ways: the model card's text, its companion code, and this profile.

The card's numbers were produced by the companion code (github.com/abraraltaf92/
deepfake-detection) at commit :data:`V1` ("v1": its configs match the card's table); its
HEAD, :data:`HEAD`, changed the schedule ("v2"). Each row is one element of the recipe
with where each fact was read, and why the profile departs where it does: to fix a defect
a DESIGN rule names, or because the trainer cannot yet express the original (said so).
The profile's column is computed from the profile itself, so it cannot drift from it.
The training chapter shows :func:`recipe_table`.
"""

from __future__ import annotations

import pandas as pd

from analysis.models import spec_for
from analysis.models.registry import VIDEO
from analysis.profiles import AUC, BALANCED, COLOUR, CROP, FLIP, MEAN_FEATURES, Profile, get_profile

V1, HEAD = "4b477d3", "492e9a7"
CODE = f"companion code v1 ({V1})"
FIVE = ("efficientnet_b4", "r3d18", "r3d18_flow", "vit_b16")  # card 000's two-stage models
FRAME_MODELS = ("efficientnet_b4", "vit_b16", "resnet18")  # card 000's frame models
NAMES = {"resnet18": "ResNet-18", "efficientnet_b4": "EfficientNet-B4", "r3d18": "R3D-18",
         "r3d18_flow": "R3D-18+RAFT", "vit_b16": "ViT-B/16"}  # card 000's models, as it names them
METRICS = {"auc": "AUC", "accuracy": "accuracy", "macro_f1": "macro-F1"}
PARTS = {CROP: "random crop (80-100 % of the area)", FLIP: "horizontal flip",
         COLOUR: "colour jitter (0.2, 0.2, 0.1)"}
COLUMNS = ("element", "model card 000", CODE, f"companion code HEAD ({HEAD})", "this profile", "source", "departure")

# element -> (card text, v1, HEAD, source, departure: "" where the profile reproduces v1)
_ROWS = {
    "frames and their spacing": (
        "16 frames per video",
        "16, np.linspace over the frame count, floored (src/preprocessing.py); a video with fewer frames padded "
        "with its last (src/datasets.py)", "as v1",
        "card: Training Recipe; src/preprocessing.py extract_face_frames",
        "the frame nearest each of 16 instants spread evenly in time (at most one frame from v1's floored index; "
        "a variable frame rate stays even in time); a video that decodes fewer than 16 frames is left out and "
        "counted (every model reads the same frames from every video)"),
    "crop sizes": (
        "MTCNN face crop at 224 x 224 (R3D models at 112 x 112)",
        "224 px crops; R3D resizes them to 112 (notebooks/05 eval_tfm_112)", "as v1",
        "card: Training Recipe; src/preprocessing.py get_mtcnn; notebooks/05_model_advanced",
        "R3D's 112 px faces are cropped at 112 px with the margin scaled (10 px), the same framing as v1's 224 px "
        "crop resized to 112, in one resampling instead of two: the pixels differ by interpolation only"),
    "backbone weights": (
        "ResNet-18, EfficientNet-B4, ViT-B/16 (timm), R3D-18",
        "torchvision ResNet-18 and EfficientNet-B4 (DEFAULT: ImageNet-1k), timm vit_base_patch16_224 (its "
        "default tag), torchvision R3D-18 (Kinetics-400)", "as v1", "src/models.py",
        "EfficientNet-B4 is timm's ImageNet-1k checkpoint (ra2), not torchvision's: the registry builds 2-D "
        "backbones with timm, and torchvision's B4 has no timm port"),
    "head": (
        "not stated",
        "dropout 0.3 (ViT 0.2) and a linear layer on every model", "as v1", "src/models.py; notebooks/04", ""),
    "input normalisation": (
        "not stated",
        "ImageNet mean and std for every 2-D model, the ViT included; Kinetics' for R3D (notebooks/05)",
        "as v1", "notebooks/05_model_advanced",
        "each backbone's own statistics (the ViT's weights expect 0.5 and 0.5, so mean and std come "
        "from the model's configuration)"),
    "face detector": (
        "MTCNN",
        "facenet-pytorch MTCNN per frame (margin 20), centre crop where no face", "as v1",
        "src/preprocessing.py",
        "boxes found per video and smoothed in time, a faceless frame borrows the nearest box: a per-frame box "
        "puts the detector's jitter into every clip, real or fake (preprocessing chapter)"),
    "split": (
        "identity-component split 4200/900/900 (70/15/15)",
        "components of the swap graph shuffled (Python random, seed 42), 70/15/15 of components",
        "as v1", "card: Training Recipe; notebooks/01_data_ingestion",
        "the FF++ manifest decides: the README's `index ffpp` makes the official split (720/140/140 ids), "
        "comparable across papers; `--split identity` deals components 70/15/15 as the card did, but the card's "
        "own partition is not rebuilt"),
    "class weights and sampler": (
        "class-weighted cross-entropy, w_c = N_train / (2 N_c)",
        "w_c = N / (2 N_c) for all; two-stage models also a class-balanced WeightedRandomSampler (with "
        "replacement, one epoch's worth of draws); ResNet-18 a plain shuffle",
        "as v1", "card: Training Recipe; src/datasets.py build_weighted_sampler; notebooks/04, 05", ""),
    "stages and epochs": (
        "two-stage: 3 head-only + 10 full epochs; ResNet-18 single-stage",
        "two-stage 3 + 10, the warm-up in training mode (BatchNorm statistics update); ResNet-18 single-stage 15",
        "two-stage 10 + 10; ResNet-18 two-stage 10 + 10",
        "configs/experiments.py at both commits", ""),
    "optimiser": (
        "ResNet-18: AdamW (file table)",
        "two-stage: Adam at 1e-3 then 1e-4 (ViT 5e-4 then 5e-5); ResNet-18 AdamW 1e-4, weight decay 1e-4",
        "as v1 (ResNet-18 two-stage Adam 1e-3 / 1e-4)", "src/training.py; configs/experiments.py", ""),
    "schedule": (
        "ResNet-18: ReduceLROnPlateau (file table)",
        "two-stage: constant rate; ResNet-18: halve after 3 epochs without a better validation macro-F1",
        "as v1", "src/training.py train_single_stage, train_two_stage", ""),
    "early stopping": (
        "not stated", "none: every epoch runs, the best kept", "as v1", "src/training.py", ""),
    "batch": (
        "not stated", "two-stage 8 items; ResNet-18 16 (an item a video of 16 frames for the frame models, a clip "
        "for R3D)", "as v1", "configs/experiments.py; src/datasets.py",
        "EfficientNet-B4 steps in 2 micro-batches of 4 videos with the loss of all 8 (the memory estimate of a "
        "24 GB card, book/stored/paper_memory.csv), so its BatchNorm sees 64 frames at a time, not v1's 128; an "
        "epoch's last partial batch is dropped, where v1 trained on it (every step has the card's batch, and the "
        "processes of a distributed run equal slices of it)"),
    "AMP": (
        "mixed precision (fp16) on CUDA",
        "two-stage: fp16 autocast + GradScaler on CUDA; ResNet-18: none", "as v1",
        "card: Training Recipe; src/training.py",
        ""),
    "augmentation": (
        "not stated",
        "two-stage at 224 px: horizontal flip + colour jitter (0.2, 0.2, 0.1), at 112 px: flip; drawn per frame; "
        "ResNet-18: none", "as v1", "notebooks/05_model_advanced, 04_model_baseline; src/datasets.py",
        "R3D: one draw per clip, the same for all its frames (v1 flipped the frames of one clip "
        "independently, which makes clips flicker); the frame models draw per frame, as v1 (their mean of "
        "features has no order to flicker)"),
    "flow method and flow frames": (
        "RAFT optical-flow interpolated frames",
        "raft_small at 256 x 256 on whole frames; 9 frames -> 8 native + 8 midpoints (first frame warped by "
        "+flow/2) interleaved, each then cropped by MTCNN", "as v1", "src/preprocessing.py "
        "extract_face_frames_interpolated",
        "15 midpoints between the 16 crops, warped from both sides toward t = 0.5 (v1's sign "
        "moves content away from the midpoint), one shared box per pair; RAFT required"),
    "per-video aggregation": (
        "not stated",
        "frame models: backbone features of the 16 frames mean-pooled, dropout 0.3 (ViT 0.2) and one linear head "
        "per video, trained per video; R3D one clip per video",
        "as v1", "src/models.py; src/datasets.py",
        ""),
    "checkpoint selection": (
        "best checkpoint (file names *_best.pth)",
        "two-stage: best validation accuracy; ResNet-18: best validation macro-F1 (argmax of two logits)", "as v1",
        "src/training.py", ""),
    "test set": (
        "FF++ C23 test (900 videos); Celeb-DF v2, 6528 videos",
        "its identity split's 900 test videos; every Celeb-DF v2 video (R3D-18+RAFT scored on plain MTCNN "
        "crops)", "as v1", "notebooks/03_preprocessing, 06_evaluation",
        "Celeb-DF's official 518-video test list, each detector on its own input"),
}


def _grouped(texts: dict[str, str]) -> str:
    """A text per model, those alike grouped: "A, B: x; C: y"."""
    groups: dict[str, list[str]] = {}
    for model, text in texts.items():
        groups.setdefault(text, []).append(NAMES[model])
    return "; ".join(f"{', '.join(models)}: {text}" for text, models in groups.items())


def _per_model(profile: Profile, describe, models: tuple[str, ...] = (*FIVE, "resnet18")) -> str:
    """``describe(recipe)`` of card 000's ``models``, grouped (:func:`_grouped`)."""
    return _grouped({model: describe(profile.recipe_for(model)) for model in models})


def _head(profile: Profile, model: str) -> str:
    """The head the profile builds for ``model``: v1's dropout where the builder adds it
    (a pooling frame model, an R3D), else the backbone's own linear classifier."""
    dropout = profile.variant(model).head_dropout
    if dropout and spec_for(model, profile).input_kind in (VIDEO, "clip", "flow_clip"):
        return f"dropout {dropout:g} + linear"
    return "linear"


def _aggregation(recipe) -> str:
    """How a frame model of ``recipe`` scores a video, in the table's words."""
    if recipe.aggregation == MEAN_FEATURES:
        return "the frames' backbone features mean-pooled, dropout and one head, trained per video"
    return "single frames in training, the mean of the frames' probabilities"


def _profile_column(profile: Profile) -> dict[str, str]:
    """What ``profile`` does for each element, read from its settings."""
    p, two, resnet = profile.preprocessing, profile.recipe_for(FIVE[0]), profile.recipe_for("resnet18")
    vit = profile.recipe_for("vit_b16")
    constant = all(profile.recipe_for(m).plateau_patience >= profile.recipe_for(m).epochs for m in FIVE)
    every_epoch = all(profile.recipe_for(m).patience >= profile.recipe_for(m).epochs for m in (*FIVE, "resnet18"))
    return {
        "frames and their spacing": f"{p.frames_per_video}, np.linspace over time"
                                    + (f"; {p.sequence_frames} of their own for ResNeXt50 + LSTM"
                                       if p.sequence_frames else ""),
        "crop sizes": f"{p.crop_size} px; {p.clip_crop_size} px for R3D",
        "backbone weights": ", ".join(profile.variant(m).arch for m in ("resnet18", "efficientnet_b4", "vit_b16",
                                                                        "r3d18")),
        "head": _grouped({m: _head(profile, m) for m in (*FIVE, "resnet18")}),
        "input normalisation": "; ".join(f"{m}: mean {profile.variant(m).mean}" for m in ("resnet18", "vit_b16",
                                                                                          "r3d18")),
        "face detector": "facenet-pytorch MTCNN, one batch per video, boxes smoothed in time",
        "split": "the FF++ manifest's (README: official)",
        "class weights and sampler": "w_c = N / (2 N_c) for all; " + _per_model(
            profile, lambda r: "class-balanced draws with replacement, seeded per epoch" if r.sampler == BALANCED
            else "a seeded shuffle"),
        "stages and epochs": f"two-stage {two.warmup_epochs} + {two.epochs}, the warm-up's BatchNorm statistics "
                             + ("frozen" if two.warmup_frozen_batchnorm else "updated")
                             + f"; ResNet-18 single-stage {resnet.epochs}",
        "optimiser": (f"two-stage: AdamW, weight decay {two.weight_decay:g}, at {two.head_lr:g} then {two.lr:g} "
                      f"(ViT {vit.head_lr:g} then {vit.lr:g}); ResNet-18 AdamW {resnet.lr:g}, weight decay "
                      f"{resnet.weight_decay:g}"),
        "schedule": (f"two-stage: {'constant' if constant else 'plateau'}; ResNet-18: halve after "
                     f"{resnet.plateau_patience} epochs without a better validation {METRICS[resnet.select_by]}"),
        "early stopping": "none: every epoch runs, the best kept" if every_epoch else
                          f"after {two.patience} epochs without a better validation {METRICS[two.select_by]}",
        "batch": f"two-stage {two.batch_size}; ResNet-18 {resnet.batch_size}" + "".join(
            f"; {NAMES[m]} in {profile.recipe_for(m).grad_accumulation} micro-batches"
            for m in (*FIVE, "resnet18") if profile.recipe_for(m).grad_accumulation > 1),
        "AMP": _per_model(profile, lambda r: "fp16 autocast + GradScaler" if r.amp else "none")
        if profile.device == "cuda" else "none (CPU)",
        "augmentation": _per_model(profile, lambda r: " + ".join(PARTS[p] for p in r.augment) or "none"),
        "flow method and flow frames": f"{p.flow}; the {p.frames_per_video - 1} midpoints between the "
                                       f"{p.frames_per_video} crops at {p.clip_crop_size} px",
        "per-video aggregation": _per_model(profile, _aggregation, FRAME_MODELS) + "; R3D-18, R3D-18+RAFT: one clip per video",
        "checkpoint selection": _per_model(profile, lambda r: f"best validation {METRICS[r.select_by]}"
                                           + (" (video probability > 0.5)" if r.select_by != AUC else "")),
        "test set": f"FF++ test of the manifest's split; {profile.data.target_dataset}",
    }


def recipe_table(profile: str | Profile = "paper") -> pd.DataFrame:
    """One row per recipe element: card, companion code v1 and HEAD, the profile, the
    sources, and the reason where the profile departs from v1 (empty where it does not)."""
    profile = get_profile(profile) if isinstance(profile, str) else profile
    mine = _profile_column(profile)
    rows = [(element, card, v1, head, mine[element], source, departure)
            for element, (card, v1, head, source, departure) in _ROWS.items()]
    return pd.DataFrame(rows, columns=list(COLUMNS))


def card_002_table(profile: str | Profile = "paper") -> pd.DataFrame:
    """Card 002's ViT recipe as its card writes it, and the profile's (read from it)."""
    profile = get_profile(profile) if isinstance(profile, str) else profile
    recipe, variant = profile.recipe_for("vit_in21k"), profile.variant("vit_in21k")
    rows = [
        ("backbone", "google/vit-base-patch16-224-in21k", variant.arch, ""),
        ("optimiser", "AdamW, lr 1e-6", f"AdamW, lr {recipe.lr:g}, weight decay {recipe.weight_decay:g}", ""),
        ("epochs", "100", f"{recipe.epochs}, no early stopping" if recipe.patience >= recipe.epochs else
         f"{recipe.epochs}, early stopping after {recipe.patience}", ""),
        ("batch", "32", str(recipe.batch_size), ""),
        ("augmentation", "random rotation (+-90 degrees), random sharpness, random resizing and cropping",
         "rotation up to 90 degrees, sharpness (p 0.5), random crop of 60-100 % of the area, and a horizontal flip",
         "the flip is not in the card; it stays because the cpu profile's pinned numbers use the same "
         "augmentation code"),
        ("input", "frames of Celeb-DF v2 (its training data)", "face crops of FF++ C23 frames (the study's source "
         "domain)", "the study trains every detector on FF++ and tests it on Celeb-DF"),
    ]
    return pd.DataFrame(rows, columns=["element", "model card 002", "this profile", "departure"])
