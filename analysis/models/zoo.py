"""The registry entries of the model cards' detectors (their networks are in
:mod:`analysis.models.networks` and :mod:`analysis.models.anomaly`).

Registered here: card 000's five (``resnet18``, ``efficientnet_b4``, ``vit_b16``,
``r3d18``, ``r3d18_flow``), card 001's one-class scorers (``deep_svdd``, ``autoencoder``,
see :mod:`analysis.models.anomaly`), card 002's ViT (``vit_in21k``) and card 003's
ResNeXt50 + LSTM (``resnext50_lstm``). The ``cpu`` variants keep each family at a size a 2-core CPU
can train in the book's budget and say how they differ.
"""

from __future__ import annotations

from collections.abc import Callable
from importlib import import_module

from analysis.models.registry import (
    IMAGENET_MEAN, IMAGENET_STD, KINETICS_MEAN, KINETICS_STD, ModelSpec, Variant, register_model,
)

VIT_MEAN = VIT_STD = (0.5, 0.5, 0.5)


def _variants(paper: Variant, cpu: Variant) -> dict[str, Variant]:
    """The model card's variant and the one a 2-core CPU trains (profiles pick one by name)."""
    return {"paper": paper, "cpu": cpu}


def _builder(module: str, name: str) -> Callable:
    """The builder ``name`` of ``analysis.models.<module>``, imported when a model is built:
    registering the models then costs no import of timm, torchvision or PyTorch."""
    def build(variant: Variant, weights_dir=None):
        return getattr(import_module(f"analysis.models.{module}"), name)(variant, weights_dir=weights_dir)

    build.__name__ = build.__qualname__ = name
    return build


# dropout before the head of card 000's pooled frame models and pretrained R3Ds (companion code v1, src/models.py)
V1_DROPOUT, V1_VIT_DROPOUT = 0.3, 0.2
_FRAME_CPU_NOTE = "random init, 64 px input"
# 64 px, not less: a source face fills about 77 px of frame, so 64 px reads it at 0.83 of
# its resolution, above the 0.6 at which the source's swaps synthesise it; at 48 px (0.63)
# that loss was at the edge of what the model could see (benchmark chapter, "input size").
_CNN_CPU_NOTE = "random init, 64 px input, channels-last"
# Half width (every stage's channels halved, HALF): on validation, over training seeds 0-2
# on data seed 1, ResNet-18 reached a best AUC of 0.865 (0.843-0.887) against 0.862
# (0.860-0.865) at full width, in 36 % of the training time; R3D-10 0.723 (0.699-0.748)
# against 0.722 (0.699-0.742), in 31 %; ResNeXt-26 + LSTM 0.730 (0.698-0.757) against 0.708
# (0.668-0.742), in 41 % (benchmarks/recipe_candidates_2026-12-06.csv, AMD EPYC AVX-512,
# probe 100 to 106, 2026-12-06). The flow R3D-10, EfficientNet-B0 and the ViT-Tis at half
# width need more epochs to stay level (profiles.py). Few hundred training videos from
# random init do not need the ImageNet-sized widths, and the 2-core build's time (issue
# 24) does.
HALF = 0.5
register_model(ModelSpec(
    name="resnet18", view="spatial", input_kind="frame", schedule="single_stage", card="000",
    builder=_builder("networks", "frame_classifier"),
    pooled_builder=_builder("networks", "pooled_frame_classifier"),
    variants=_variants(
        Variant("resnet18.tv_in1k", 224, 1, IMAGENET_MEAN, IMAGENET_STD, True, head_dropout=V1_DROPOUT),
        Variant("resnet18.tv_in1k", 64, 1, IMAGENET_MEAN, IMAGENET_STD, False,
                "half width (32 to 256 channels); " + _CNN_CPU_NOTE, channels_last=True, width=HALF),
    ),
))
register_model(ModelSpec(
    name="efficientnet_b4", view="spatial", input_kind="frame", schedule="two_stage", card="000",
    builder=_builder("networks", "frame_classifier"),
    pooled_builder=_builder("networks", "pooled_frame_classifier"),
    variants=_variants(
        Variant("efficientnet_b4.ra2_in1k", 224, 1, IMAGENET_MEAN, IMAGENET_STD, True, head_dropout=V1_DROPOUT),
        Variant("efficientnet_b0.ra_in1k", 64, 1, IMAGENET_MEAN, IMAGENET_STD, False,
                "EfficientNet-B0 at half width (16 to 640 channels) instead of B4; " + _CNN_CPU_NOTE,
                channels_last=True, width=HALF),
    ),
))
register_model(ModelSpec(
    name="vit_b16", view="global", input_kind="frame", schedule="two_stage", card="000",
    builder=_builder("networks", "frame_classifier"),
    pooled_builder=_builder("networks", "pooled_frame_classifier"),
    variants=_variants(
        Variant("vit_base_patch16_224.augreg2_in21k_ft_in1k", 224, 1, VIT_MEAN, VIT_STD, True,
                head_dropout=V1_VIT_DROPOUT),
        Variant("vit_tiny_patch16_224.augreg_in21k", 64, 1, VIT_MEAN, VIT_STD, False,
                "ViT-Ti/16 at half width (96-wide tokens) instead of ViT-B/16 (16 patches), convolutional stem; "
                + _FRAME_CPU_NOTE, conv_stem=True, width=HALF),
    ),
))
_CLIP_CPU_NOTE = ("R3D-10 (one residual block per stage) at half width (32 to 256 channels) instead of R3D-18, "
                  "its stem also reading each frame "
                  "minus the clip's mean frame; random init, 8 frames at 32 px (crops cached at 64 px, resized)")
register_model(ModelSpec(
    name="r3d18", view="temporal", input_kind="clip", schedule="two_stage", card="000",
    builder=_builder("networks", "video_classifier"),
    variants=_variants(
        Variant("r3d_18.kinetics400", 112, 16, KINETICS_MEAN, KINETICS_STD, True, head_dropout=V1_DROPOUT),
        Variant("r3d_10", 32, 8, KINETICS_MEAN, KINETICS_STD, False, _CLIP_CPU_NOTE, temporal_residual=True,
                width=HALF),
    ),
))
register_model(ModelSpec(
    name="r3d18_flow", view="temporal", input_kind="flow_clip", schedule="two_stage", card="000",
    builder=_builder("networks", "video_classifier"),
    variants=_variants(
        Variant("r3d_18.kinetics400", 112, 15, KINETICS_MEAN, KINETICS_STD, True,
                "reads the 15 flow-interpolated midpoints between the 16 sampled crops (card 000's code "
                "interleaved 8 native frames with 8 midpoints: the preprocessing chapter says why not)",
                head_dropout=V1_DROPOUT),
        Variant("r3d_10", 32, 7, KINETICS_MEAN, KINETICS_STD, False,
                "R3D-10 at half width (32 to 256 channels) instead of R3D-18, its stem also reading each "
                "midpoint minus the clip's mean; random init, the 7 midpoints between 8 frames at 32 px; OpenCV "
                "flow unless RAFT weights are on disk",
                temporal_residual=True, width=HALF),
    ),
))
register_model(ModelSpec(
    name="vit_in21k", view="global", input_kind="frame", schedule="single_stage", card="002",
    builder=_builder("networks", "frame_classifier"), augmentation="vit_in21k",
    variants=_variants(
        Variant("vit_base_patch16_224.orig_in21k", 224, 1, VIT_MEAN, VIT_STD, True,
                "timm's port of google/vit-base-patch16-224-in21k, the checkpoint the card names"),
        Variant("vit_tiny_patch16_224.augreg_in21k", 64, 1, VIT_MEAN, VIT_STD, False,
                "ViT-Ti/16 at half width (96-wide tokens) instead of ViT-B/16, convolutional stem; "
                + _FRAME_CPU_NOTE, conv_stem=True, width=HALF),
    ),
))
register_model(ModelSpec(
    name="resnext50_lstm", view="temporal", input_kind="sequence", schedule="single_stage", card="003",
    builder=_builder("networks", "sequence_classifier"),
    variants=_variants(
        Variant("resnext50_32x4d.tv_in1k", 224, 20, IMAGENET_MEAN, IMAGENET_STD, True,
                "head on the LSTM outputs averaged over time (the card does not say)", lstm_hidden=2048),
        Variant("resnext26ts.ra2_in1k", 32, 8, IMAGENET_MEAN, IMAGENET_STD, False,
                "ResNeXt-26 (timm resnext26ts) at half width instead of ResNeXt-50, LSTM 256 wide, 8 frames at 32 px "
                "(64 px crops resized), each frame also read minus the clip's mean frame, the LSTM at a tenth "
                "of the learning rate; random init",
                lstm_hidden=256, temporal_residual=True, lstm_lr_scale=0.1, width=HALF),
    ),
))
for name, arch in (("deep_svdd", "deep_svdd_cnn"), ("autoencoder", "conv_autoencoder")):
    register_model(ModelSpec(  # model card 001: both trained from scratch on 128 x 128 crops
        name=name, view="one-class", input_kind="frame", schedule="one_class", card="001",
        builder=_builder("anomaly", name),
        variants=_variants(
            Variant(arch, 128, 1, IMAGENET_MEAN, IMAGENET_STD, False, "trained from scratch on real crops"),
            Variant(arch, 64, 1, IMAGENET_MEAN, IMAGENET_STD, False, "64 px input instead of 128 px, channels-last",
                    channels_last=True),
        ),
    ))
