"""What the trainer needs from a detector, owned by the detector.

Every registered builder returns a :class:`DetectorModel`: it says which parameters form
its head (trained alone during a two-stage warm-up), whether it needs a pass over the
training data before the first step (Deep SVDD fixes its centre), which loss it is trained
with, and how its outputs become one score per input. The trainer calls these methods and
never looks inside a model (DeepfakeBench's base detector, without its boilerplate).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

import torch
from torch import nn

CROSS_ENTROPY = "cross_entropy"  # two-class logits; class-weighted cross-entropy
ANOMALY = "anomaly"  # one anomaly score per input, trained on reals by minimising its mean
LOSS_KINDS = (CROSS_ENTROPY, ANOMALY)


class DetectorModel(nn.Module):
    """Base of every detector: a two-class classifier unless a subclass says otherwise."""

    loss_kind: str = CROSS_ENTROPY

    def head_parameters(self) -> list[nn.Parameter]:
        """The parameters trained during a warm-up on a frozen backbone."""
        raise NotImplementedError(f"{type(self).__name__} does not name its head")

    def param_groups(self, lr: float) -> list[dict]:
        """The optimiser's parameter groups of the trainable parameters at the stage's
        rate ``lr``: one group unless a model trains a part at its own rate."""
        return [{"params": [p for p in self.parameters() if p.requires_grad], "lr": lr}]

    def pre_fit(self, batches: Iterable[torch.Tensor], all_reduce: Callable | None = None) -> None:
        """A pass over the training inputs before the first optimiser step (none by
        default). ``all_reduce`` sums a tensor over processes when training is distributed."""

    def frame_and_video_outputs(self, videos: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """A model that pools a video's frames: the outputs of each video and of each of
        its frames alone, for scoring at both levels."""
        raise NotImplementedError(f"{type(self).__name__} does not pool a video's frames")

    def score(self, outputs: torch.Tensor) -> torch.Tensor:
        """One score per input from the forward outputs: the fake probability of a
        classifier, the anomaly score of a one-class model."""
        if self.loss_kind == ANOMALY:
            return outputs
        return torch.softmax(outputs, dim=1)[:, 1]


class Classifier(DetectorModel):
    """A backbone network with a two-class head found by ``head``."""

    def __init__(self, network: nn.Module, head: Callable[[nn.Module], nn.Module]):
        super().__init__()
        self.network = network
        self._head = head

    def forward(self, inputs: torch.Tensor) -> torch.Tensor:
        return self.network(inputs)

    def head_parameters(self) -> list[nn.Parameter]:
        return list(self._head(self.network).parameters())
