"""The detectors' networks, built from timm and torchvision backbones.

The registry entries (:mod:`analysis.models.zoo`) name these builders; they are imported
only when a model is built, so that reading the registry (the chapters, the results stage,
the command line) does not import timm, torchvision or PyTorch.
"""

from __future__ import annotations

from pathlib import Path

import timm
import torch
from timm.layers import PatchEmbed
from timm.models.efficientnet import _gen_efficientnet  # behind every B-variant; see narrow_efficientnet
from torch import nn
from torchvision.models import video as video_models

from analysis.errors import UserInputError
from analysis.models.base import Classifier, DetectorModel
from analysis.models.registry import Variant, check_width


def _local_weights(arch: str, weights_dir: Path | None) -> Path | None:
    if weights_dir is None:
        return None
    for suffix in (".safetensors", ".pth", ".pt", ".bin"):
        candidate = Path(weights_dir) / f"{arch}{suffix}"
        if candidate.is_file():
            return candidate
    return None


def _missing_weights(arch: str, weights_dir: Path | None, err: Exception) -> UserInputError:
    where = f"in {weights_dir}" if weights_dir else "(no --weights-dir given)"
    return UserInputError(
        f"Pretrained weights for {arch} are needed and could not be downloaded ({type(err).__name__}), "
        f"and no local file was found {where}. Put {arch}.safetensors or {arch}.pth (a state dict) "
        "in a folder and pass it with --weights-dir."
    )


class ConvStemPatchEmbed(PatchEmbed):
    """timm's patch embedding with its one 16 x 16 stride-16 convolution replaced by four
    3 x 3 stride-2 convolutions (batch norm, ReLU) and a 1 x 1 projection: the same 16 px
    patches and tokens, but the early convolutions that make a ViT trained from scratch
    optimise stably (Xiao et al., 2021). From random init on the benchmark, the patchify
    ViT-Ti stayed at a training loss of ln 2 under every setting tried."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.patch_size != (16, 16):
            raise ValueError(f"the convolutional stem makes 16 px patches, not {self.patch_size}")
        dim = self.proj.out_channels
        widths = [self.proj.in_channels, dim // 8, dim // 4, dim // 2, dim]
        layers: list[nn.Module] = []
        for width_in, width_out in zip(widths[:-1], widths[1:]):
            layers += [nn.Conv2d(width_in, width_out, 3, 2, 1, bias=False), nn.BatchNorm2d(width_out),
                       nn.ReLU(inplace=True)]
        self.proj = nn.Sequential(*layers, nn.Conv2d(dim, dim, 1))


def timm_backbone(variant: Variant, num_classes: int, weights_dir: Path | None, **kwargs) -> nn.Module:
    """A timm model; pretrained weights from ``weights_dir`` if there, else the hub."""
    kwargs = {k: v for k, v in kwargs.items() if v is not None}
    if "vit" in variant.arch:
        kwargs["img_size"] = variant.input_size
    if variant.conv_stem:
        if variant.pretrained:
            raise UserInputError(f"{variant.arch} with a convolutional stem has no pretrained weights; "
                                 "set pretrained=false.")
        kwargs["embed_layer"] = ConvStemPatchEmbed
    if variant.width != 1.0:
        if variant.arch.split(".")[0] in NARROW_EFFICIENTNETS:
            return narrow_efficientnet(variant, num_classes, **kwargs)
        kwargs.update(narrowing_kwargs(variant))
    local = _local_weights(variant.arch, weights_dir) if variant.pretrained else None
    if local is not None:
        return timm.create_model(
            variant.arch, pretrained=True, num_classes=num_classes,
            pretrained_cfg_overlay={"file": str(local)}, **kwargs,
        )
    try:
        return timm.create_model(variant.arch, pretrained=variant.pretrained, num_classes=num_classes, **kwargs)
    except (OSError, RuntimeError, ValueError) as err:  # hub unreachable or file missing
        raise _missing_weights(variant.arch, weights_dir, err) from err


def frame_classifier(variant: Variant, weights_dir: Path | None = None) -> Classifier:
    network = timm_backbone(variant, 2, weights_dir)
    if not variant.pretrained:
        small_head(network.get_classifier())
    return Classifier(network, head=lambda network: network.get_classifier())


class PooledFrames(DetectorModel):
    """A frame backbone read over a whole video: every frame's features, their mean over
    the video, dropout and one linear head (card 000's companion code v1, src/models.py
    at 4b477d3: its ResNet-18, EfficientNet-B4 and ViT-B/16 are built this way and trained
    per video). The head is linear, so the video's logits are the mean of the frames' own
    logits (:meth:`frame_and_video_outputs`)."""

    def __init__(self, backbone: nn.Module, dropout: float = 0.0):
        super().__init__()
        self.backbone = backbone
        self.head = nn.Sequential(nn.Dropout(dropout), nn.Linear(backbone.num_features, 2))

    def features(self, videos: torch.Tensor) -> torch.Tensor:
        """``(B, T, C, H, W)`` -> the backbone's features of every frame, ``(B, T, F)``."""
        if videos.dim() != 5:
            raise ValueError(f"{type(self).__name__} reads videos (B, T, C, H, W), got shape {tuple(videos.shape)}")
        b, t = videos.shape[:2]
        return self.backbone(videos.flatten(0, 1)).view(b, t, -1)

    def forward(self, videos: torch.Tensor) -> torch.Tensor:  # (B, T, C, H, W) -> (B, 2)
        return self.head(self.features(videos).mean(dim=1))

    def frame_and_video_outputs(self, videos: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """The video's logits ``(B, 2)`` and each frame's alone ``(B, T, 2)`` (a pool of
        one frame), from one pass of the backbone (scoring: DESIGN rule 9)."""
        features = self.features(videos)
        return self.head(features.mean(dim=1)), self.head(features)

    def head_parameters(self) -> list[nn.Parameter]:
        return list(self.head.parameters())


def pooled_frame_classifier(variant: Variant, weights_dir: Path | None = None) -> PooledFrames:
    """The pooled version of :func:`frame_classifier`: the timm backbone without its
    classifier (``num_classes=0``: its pooled features) and a new head."""
    model = PooledFrames(timm_backbone(variant, 0, weights_dir), variant.head_dropout)
    if not variant.pretrained:
        small_head(model.head[1])
    return model


def small_head(head: nn.Linear) -> None:
    """Start a new two-class head at near-zero logits (loss ln 2). timm's EfficientNet
    draws its classifier from U(+-1/sqrt(classes)), which for two classes gave logits with
    a standard deviation of 7.7 on the first batch and a loss that rose instead of fell."""
    nn.init.normal_(head.weight, std=0.01)
    nn.init.zeros_(head.bias)


STAGE_WIDTHS = (64, 128, 256, 512)  # of ResNet-18 and R3D-18, stage by stage


# the timm families a width narrows, each by its own argument (random init only)
VIT_TINY_WIDTH = 192  # ViT-Ti's embedding; its 3 heads stay, each narrower
NARROW_EFFICIENTNETS = ("efficientnet_b0",)  # B0's own channel multiplier is 1


def scaled_widths(width: float) -> tuple[int, ...]:
    """:data:`STAGE_WIDTHS` times ``width``, each at least 8 channels."""
    return tuple(max(8, round(w * width)) for w in STAGE_WIDTHS)


def narrowing_kwargs(variant: Variant) -> dict:
    """The timm keyword that multiplies every stage's channels by ``variant.width``: a
    ResNet's ``channels``, a byobnet's (ResNeXt-26's) ``width_factor``, a ViT-Ti's
    ``embed_dim`` (timm lays each of these over the architecture's own)."""
    arch = variant.arch.split(".")[0]
    check_width(variant, narrowable=arch.startswith("resnet") or arch == "resnext26ts"
                or arch.startswith("vit_tiny_patch16"))
    if arch.startswith("resnet"):
        return {"channels": scaled_widths(variant.width)}
    if arch == "resnext26ts":
        return {"width_factor": variant.width}
    heads = 3
    return {"embed_dim": heads * max(8, round(VIT_TINY_WIDTH * variant.width / heads))}


def narrow_efficientnet(variant: Variant, num_classes: int, **kwargs) -> nn.Module:
    """EfficientNet-B0 with every stage's channels times ``variant.width``, through timm's
    own EfficientNet generator: ``create_model`` fixes B0's channel multiplier at 1 and
    refuses a second one."""
    check_width(variant, narrowable=True)
    return _gen_efficientnet(variant.arch.split(".")[0], channel_multiplier=variant.width, pretrained=False,
                             num_classes=num_classes, **kwargs)


R3D_BLOCKS = {"r3d_18": (2, 2, 2, 2), "r3d_10": (1, 1, 1, 1)}  # residual blocks per stage
# The change over time of a normalised cpu training clip has a spread of 0.22 against the
# frames' 0.99 (the benchmark's 600 training clips of then, at 32 px, 2026-11-24): times 4, the
# stem's two halves start on the same scale.
RESIDUAL_GAIN = 4.0


class TemporalResidualStem(nn.Module):
    """R3D's stem reading each clip twice: as it is, and as its change over time (every
    frame minus the clip's mean frame, times :data:`RESIDUAL_GAIN`), stacked as six input
    channels. The second half is a fixed linear function of the first, so the stem sees
    no new information; it is handed the frame differences that a two-stream network's
    temporal input carries (Wang et al., 2016), which an R3D trained from scratch on the
    benchmark's few hundred clips did not find by itself."""

    def __init__(self, stem: nn.Sequential):
        super().__init__()
        conv = stem[0]
        stem[0] = nn.Conv3d(2 * conv.in_channels, conv.out_channels, conv.kernel_size, conv.stride, conv.padding,
                            bias=conv.bias is not None)
        self.stem = stem

    def forward(self, clips: torch.Tensor) -> torch.Tensor:  # (B, C, T, H, W)
        return self.stem(with_change_over_time(clips, time_dim=2, channel_dim=1))


def with_change_over_time(clips: torch.Tensor, time_dim: int, channel_dim: int) -> torch.Tensor:
    """The clip with its change over time (every frame minus the clip's mean frame, times
    :data:`RESIDUAL_GAIN`) stacked as as many channels again."""
    change = clips - clips.mean(dim=time_dim, keepdim=True)
    return torch.cat([clips, RESIDUAL_GAIN * change], dim=channel_dim)


def narrow_r3d(model: video_models.VideoResNet, blocks: tuple[int, ...], widths: tuple[int, ...]) -> None:
    """Rebuild torchvision's R3D (whose widths are fixed at :data:`STAGE_WIDTHS`) with
    ``widths``: the same stem, stages and strides, started as torchvision starts them."""
    resnet = video_models.resnet
    model.inplanes = widths[0]
    model.stem = nn.Sequential(nn.Conv3d(3, widths[0], (3, 7, 7), (1, 2, 2), (1, 3, 3), bias=False),
                               nn.BatchNorm3d(widths[0]), nn.ReLU(inplace=True))
    for index, (width, count) in enumerate(zip(widths, blocks)):
        stage = model._make_layer(resnet.BasicBlock, resnet.Conv3DSimple, width, count, stride=1 if index == 0 else 2)
        setattr(model, f"layer{index + 1}", stage)
    model.fc = nn.Linear(widths[-1], model.fc.out_features)
    for module in model.modules():
        if isinstance(module, nn.Conv3d):
            nn.init.kaiming_normal_(module.weight, mode="fan_out", nonlinearity="relu")
        elif isinstance(module, nn.BatchNorm3d):
            nn.init.ones_(module.weight)
            nn.init.zeros_(module.bias)
        elif isinstance(module, nn.Linear):
            nn.init.normal_(module.weight, 0, 0.01)
            nn.init.zeros_(module.bias)


def video_classifier(variant: Variant, weights_dir: Path | None = None) -> Classifier:
    """torchvision R3D-18 (Kinetics-400 weights for the paper variant), or R3D-10: the same
    stem, widths and stages with one residual block per stage instead of two (no
    published weights; the cpu variant, trained from scratch)."""
    arch = variant.arch.split(".")[0]
    if arch not in R3D_BLOCKS:
        raise UserInputError(f"Unknown R3D architecture {variant.arch!r}; choose one of {sorted(R3D_BLOCKS)}.")
    if not variant.pretrained:
        resnet = video_models.resnet
        model = video_models.VideoResNet(resnet.BasicBlock, [resnet.Conv3DSimple] * 4, list(R3D_BLOCKS[arch]),
                                         resnet.BasicStem, num_classes=2)
        if variant.width != 1.0:  # torchvision fixes the widths: rebuilt narrower
            check_width(variant, narrowable=True)
            narrow_r3d(model, R3D_BLOCKS[arch], scaled_widths(variant.width))
        if variant.temporal_residual:
            model.stem = TemporalResidualStem(model.stem)
        model.fc = with_dropout(model.fc, variant.head_dropout)
        return Classifier(model, head=lambda network: network.fc)
    if variant.temporal_residual:
        raise UserInputError(f"{variant.arch} with a temporal-residual stem has no pretrained weights; "
                             "set pretrained=false.")
    if arch != "r3d_18":
        raise UserInputError(f"{arch} has no pretrained weights; set pretrained=false or use r3d_18.")
    check_width(variant, narrowable=False)
    local = _local_weights(variant.arch, weights_dir)
    if local is None:
        try:
            model = video_models.r3d_18(weights=video_models.R3D_18_Weights.KINETICS400_V1)
        except (OSError, RuntimeError) as err:
            raise _missing_weights(variant.arch, weights_dir, err) from err
    else:
        model = video_models.r3d_18()
        model.load_state_dict(torch.load(local, map_location="cpu", weights_only=True))
    model.fc = with_dropout(nn.Linear(model.fc.in_features, 2), variant.head_dropout)
    return Classifier(model, head=lambda network: network.fc)


def with_dropout(head: nn.Linear, dropout: float) -> nn.Module:
    """``head`` behind a dropout layer (card 000's v1 heads), or alone when ``dropout`` is 0."""
    return nn.Sequential(nn.Dropout(dropout), head) if dropout else head


class FrameSequenceLSTM(DetectorModel):
    """Per-frame CNN features, an LSTM over the sequence, a linear head on its outputs
    averaged over time (the ResNeXt50 + LSTM design of model card 003, which does not say
    how the head reads the LSTM; the average, as in the widely reused open-source
    detector of that design, Jadhav's Deepfake_detection_using_deep_learning)."""

    def __init__(self, backbone: nn.Module, hidden: int, dropout: float = 0.4, temporal_residual: bool = False,
                 lstm_lr_scale: float = 1.0):
        super().__init__()
        self.backbone = backbone
        self.temporal_residual = temporal_residual
        self.lstm_lr_scale = lstm_lr_scale
        self.lstm = nn.LSTM(backbone.num_features, hidden, batch_first=True)
        self.dropout = nn.Dropout(dropout)
        self.head = nn.Linear(hidden, 2)

    def forward(self, clips: torch.Tensor) -> torch.Tensor:  # (B, T, C, H, W)
        b, t = clips.shape[:2]
        if self.temporal_residual:
            clips = with_change_over_time(clips, time_dim=1, channel_dim=2)
        features = self.backbone(clips.flatten(0, 1)).view(b, t, -1)
        output, _ = self.lstm(features)
        return self.head(self.dropout(output.mean(dim=1)))

    def head_parameters(self) -> list[nn.Parameter]:
        """The LSTM and the linear head: both are new on a pretrained backbone."""
        return list(self.lstm.parameters()) + list(self.head.parameters())

    def param_groups(self, lr: float) -> list[dict]:
        """The LSTM at ``lr * lstm_lr_scale``, everything else at ``lr``."""
        lstm = {id(p) for p in self.lstm.parameters()}
        trainable = [p for p in self.parameters() if p.requires_grad]
        return [{"params": [p for p in trainable if id(p) not in lstm], "lr": lr},
                {"params": [p for p in trainable if id(p) in lstm], "lr": lr * self.lstm_lr_scale}]


def sequence_classifier(variant: Variant, weights_dir: Path | None = None) -> FrameSequenceLSTM:
    if variant.temporal_residual and variant.pretrained:
        raise UserInputError(f"{variant.arch} reading the change over time has no pretrained weights; "
                             "set pretrained=false.")
    channels = 6 if variant.temporal_residual else None
    backbone = timm_backbone(variant, 0, weights_dir, in_chans=channels)  # num_classes=0: pooled features
    return FrameSequenceLSTM(backbone, variant.lstm_hidden, temporal_residual=variant.temporal_residual,
                             lstm_lr_scale=variant.lstm_lr_scale)
