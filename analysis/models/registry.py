"""The model registry: name -> builder plus what the rest of the study needs to know.

Each entry says which anomaly view the detector watches, what it reads (single frames,
clips of frames, clips of flow-interpolated frames, or frame sequences; a frame model
whose recipe pools reads whole videos, :data:`VIDEO`), and, per
profile, the architecture variant, input size, frames and normalisation. Builders are
registered with :func:`register_model`, which refuses a duplicate name.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from analysis.errors import UserInputError

if TYPE_CHECKING:  # the registry is read without importing PyTorch (models.zoo)
    from torch import nn

# VIDEO: every cached frame of a video as one item, for a frame model whose recipe pools
# its frames' features (never registered: models.spec_for derives it)
VIDEO = "video"
INPUT_KINDS = ("frame", "clip", "flow_clip", "sequence", VIDEO)
TWO_STAGE, SINGLE_STAGE, ONE_CLASS = "two_stage", "single_stage", "one_class"
SCHEDULES = (TWO_STAGE, SINGLE_STAGE, ONE_CLASS)  # model card 000's two, and model card 001's
IMAGENET_MEAN, IMAGENET_STD = (0.485, 0.456, 0.406), (0.229, 0.224, 0.225)
KINETICS_MEAN, KINETICS_STD = (0.43216, 0.394666, 0.37645), (0.22803, 0.22145, 0.216989)


@dataclass(frozen=True)
class Variant:
    """One profile's version of a model."""

    arch: str  # timm or torchvision architecture, with ``.tag`` naming its pretrained weights
    input_size: int
    frames: int  # frames per clip or sequence (1 for frame models)
    mean: tuple[float, float, float]
    std: tuple[float, float, float]
    pretrained: bool
    note: str = ""  # how this variant differs from the model card
    lstm_hidden: int = 0  # sequence models: width of the LSTM
    channels_last: bool = False  # train and score in channels-last memory order (faster for these convolutions)
    conv_stem: bool = False  # ViT: a convolutional stem instead of the patchify layer (random init only)
    # R3D and sequence CNN: the first layer also reads the clip's change over time (random init only)
    temporal_residual: bool = False
    lstm_lr_scale: float = 1.0  # sequence models: the LSTM's learning rate as a fraction of the stage's
    # dropout before the new head of a pooling frame model or a pretrained R3D (card 000's v1)
    head_dropout: float = 0.0
    # every stage's channels times this (random init only; the ResNets, R3Ds, ResNeXt-26,
    # EfficientNet-B0 and ViT-Ti: networks.narrowing_kwargs): a narrower stand-in for a 2-core CPU
    width: float = 1.0


def check_width(variant: Variant, narrowable: bool) -> None:
    """Refuse a width other than 1 where the builder cannot narrow the architecture, or
    where pretrained weights fix it."""
    if variant.width == 1.0:
        return
    if variant.pretrained or not narrowable:
        raise UserInputError(f"width={variant.width} narrows a ResNet, ResNeXt-26, EfficientNet-B0, ViT-Ti or "
                             f"R3D trained from random init, not {variant.arch} (pretrained={variant.pretrained}).")
    if not 0 < variant.width <= 1:
        raise UserInputError(f"width={variant.width}: give a multiplier of the stage widths in (0, 1].")


@dataclass(frozen=True)
class ModelSpec:
    name: str
    view: str  # spatial, global, temporal
    input_kind: str
    schedule: str  # one of SCHEDULES (one_class: trained on reals, scores anomalies)
    card: str  # which model card it reproduces
    builder: Callable[..., nn.Module]
    variants: dict[str, Variant] = field(default_factory=dict)
    augmentation: str = "standard"  # "standard" or "vit_in21k" (card 002's recipe)
    # frame models: the builder of the model that reads a whole video and pools its frames'
    # features before the head (Recipe.aggregation); None: the model cannot pool
    pooled_builder: Callable[..., nn.Module] | None = None

    @property
    def one_class(self) -> bool:
        return self.schedule == ONE_CLASS

    def variant(self, name: str) -> Variant:
        """The variant called ``name`` ("paper" or "cpu"); a profile picks one and may
        shrink it (:meth:`analysis.profiles.Profile.variant`)."""
        try:
            return self.variants[name]
        except KeyError:
            raise UserInputError(f"Model {self.name!r} has no variant {name!r}; choose one of {sorted(self.variants)}.") from None


_REGISTRY: dict[str, ModelSpec] = {}


def register_model(spec: ModelSpec) -> ModelSpec:
    if spec.name in _REGISTRY:
        raise ValueError(f"a model named {spec.name!r} is already registered")
    if spec.input_kind not in INPUT_KINDS or spec.input_kind == VIDEO:
        raise ValueError(f"{spec.name}: input kind {spec.input_kind!r} is not one of {INPUT_KINDS[:-1]}")
    if spec.pooled_builder is not None and spec.input_kind != "frame":
        raise ValueError(f"{spec.name}: only frame models pool a video's frames, not {spec.input_kind} models")
    if spec.schedule not in SCHEDULES:
        raise ValueError(f"{spec.name}: schedule {spec.schedule!r} is not one of {SCHEDULES}")
    _REGISTRY[spec.name] = spec
    return spec


def list_models(include: str = "*", exclude: str | None = None, *, card: str | None = None,
                view: str | None = None, schedule: str | None = None) -> list[str]:
    """Registered names matching the glob ``include`` and not ``exclude``, and the given
    card, view or schedule, in registration order (the model cards' order).

    >>> list_models(card="001")
    ['deep_svdd', 'autoencoder']
    """
    names = [n for n in _REGISTRY if fnmatch.fnmatch(n, include) and not (exclude and fnmatch.fnmatch(n, exclude))]
    wanted = {"card": card, "view": view, "schedule": schedule}
    return [n for n in names if all(v is None or getattr(_REGISTRY[n], k) == v for k, v in wanted.items())]


def get_spec(name: str) -> ModelSpec:
    try:
        return _REGISTRY[name]
    except KeyError:
        raise UserInputError(f"Unknown model {name!r}; choose one of {', '.join(list_models())}.") from None
