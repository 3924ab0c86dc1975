"""Model card 001's one-class scorers: Deep SVDD and a convolutional autoencoder.

Both are trained on real face crops only and return an **anomaly score per image** (higher
means less like the reals seen in training) instead of class logits:

* :class:`DeepSVDD` maps a crop to a latent vector and scores its squared distance to a
  centre ``c`` fixed from an initial pass over the training data (Ruff et al., 2018). The
  network has no bias terms and no affine normalisation, and ``c`` is kept away from zero,
  so it cannot reach the trivial solution of mapping every input onto ``c``.
* :class:`ConvAutoencoder` compresses and reconstructs the crop and scores its mean
  squared reconstruction error.

The loss of both is the mean score over a batch of reals.
"""

from __future__ import annotations

import math
from collections.abc import Iterable

import torch
from torch import nn

from analysis.models.base import ANOMALY, DetectorModel
from analysis.models.registry import Variant, check_width

CENTRE_EPS = 0.1  # centre coordinates closer to zero than this are pushed out to +-eps


def _stages(input_size: int) -> int:
    """Down-sampling steps that take the input to an 8 x 8 (or smaller) feature map."""
    return max(1, int(math.log2(input_size // 8)))


def _widths(stages: int) -> list[int]:
    return [min(32 * 2**i, 256) for i in range(stages)]


class DeepSVDD(DetectorModel):
    """Bias-free CNN encoder; the anomaly score is ``||phi(x) - c||^2``."""

    loss_kind = ANOMALY

    def __init__(self, input_size: int, latent: int = 128):
        super().__init__()
        layers, channels = [], 3
        for width in _widths(_stages(input_size)):
            layers += [
                nn.Conv2d(channels, width, 3, padding=1, bias=False),
                nn.BatchNorm2d(width, affine=False),
                nn.LeakyReLU(0.1),
                nn.MaxPool2d(2),
            ]
            channels = width
        self.features = nn.Sequential(*layers, nn.AdaptiveAvgPool2d(4), nn.Flatten())
        self.embed = nn.Linear(channels * 16, latent, bias=False)
        self.register_buffer("centre", torch.zeros(latent))
        self.register_buffer("centre_fitted", torch.tensor(False))

    def embedding(self, images: torch.Tensor) -> torch.Tensor:
        return self.embed(self.features(images))

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        return (self.embedding(images) - self.centre).pow(2).sum(dim=1)

    @torch.no_grad()
    def fit_centre(self, batches: Iterable[torch.Tensor], all_reduce=None) -> torch.Tensor:
        """Fix ``c`` as the mean embedding of the training reals (in eval mode), with
        every coordinate at least ``CENTRE_EPS`` away from zero. ``all_reduce`` sums a
        tensor over processes when training is distributed."""
        was_training = self.training
        self.eval()
        total = torch.zeros_like(self.centre)
        count = torch.zeros((), device=self.centre.device)
        for images in batches:
            total += self.embedding(images.to(self.centre.device)).sum(dim=0)
            count += len(images)
        if all_reduce is not None:
            all_reduce(total)
            all_reduce(count)
        centre = total / count.clamp(min=1)
        small = centre.abs() < CENTRE_EPS
        centre[small] = torch.where(centre[small] < 0, -CENTRE_EPS, CENTRE_EPS)
        self.centre.copy_(centre)
        self.centre_fitted.fill_(True)
        self.train(was_training)
        return centre

    def pre_fit(self, batches: Iterable[torch.Tensor], all_reduce=None) -> None:
        """Fix the centre once (a resumed run keeps the centre it saved)."""
        if not bool(self.centre_fitted):
            self.fit_centre(batches, all_reduce)

    def head_parameters(self) -> list[nn.Parameter]:
        return list(self.parameters())  # trained from scratch: no frozen backbone


class ConvAutoencoder(DetectorModel):
    """Strided-convolution encoder and transposed-convolution decoder; the anomaly
    score is the mean squared reconstruction error per image."""

    loss_kind = ANOMALY

    def __init__(self, input_size: int, bottleneck: int = 64):
        super().__init__()
        widths = _widths(_stages(input_size))
        encoder, channels = [], 3
        for width in widths:
            encoder += [nn.Conv2d(channels, width, 4, stride=2, padding=1), nn.BatchNorm2d(width), nn.ReLU()]
            channels = width
        encoder += [nn.Conv2d(channels, bottleneck, 1)]
        decoder, channels = [nn.Conv2d(bottleneck, widths[-1], 1), nn.ReLU()], widths[-1]
        for width in reversed([3, *widths[:-1]]):
            decoder += [nn.ConvTranspose2d(channels, width, 4, stride=2, padding=1)]
            if width != 3:
                decoder += [nn.BatchNorm2d(width), nn.ReLU()]
            channels = width
        self.encoder, self.decoder = nn.Sequential(*encoder), nn.Sequential(*decoder)

    def head_parameters(self) -> list[nn.Parameter]:
        return list(self.parameters())  # trained from scratch: no frozen backbone

    def reconstruct(self, images: torch.Tensor) -> torch.Tensor:
        return self.decoder(self.encoder(images))

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        return (self.reconstruct(images) - images).pow(2).flatten(1).mean(dim=1)


def deep_svdd(variant: Variant, weights_dir=None) -> DeepSVDD:
    check_width(variant, narrowable=False)
    return DeepSVDD(variant.input_size)


def autoencoder(variant: Variant, weights_dir=None) -> ConvAutoencoder:
    check_width(variant, narrowable=False)
    return ConvAutoencoder(variant.input_size)
