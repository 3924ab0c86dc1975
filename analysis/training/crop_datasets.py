"""Training and scoring data from memory: a split's crops held once as uint8, augmented a
batch at a time.

Why: decoding a cache entry, converting and augmenting one item at a time in a
``DataLoader`` cost the trainer a quarter of the model's own speed on a 2-core CPU. Here
a split is read from the crop cache once, resized once to the model's input size and
kept as a uint8 tensor ``(N, T, C, H, W)`` (N items, T frames each); a batch is indexed
out of it, converted to float and augmented by one batched affine warp.

Augmentation draws one set of parameters per item and warps every frame of the item
with it, so a clip never flickers (DESIGN rule 4). The parameters of a global batch come
from a generator seeded by ``(seed, epoch)``, so every process of a distributed run, and
a resumed run, draws the same ones.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
import pandas as pd
import torch
import torch.nn.functional as F

from analysis.preprocess import crop_cache as cache
from analysis.models.registry import ModelSpec, Variant

CROP_SCALE = {"standard": (0.8, 1.0), "vit_in21k": (0.6, 1.0)}  # area kept by the random crop
CROP_RATIO = (0.9, 1.1)  # aspect ratio range of the standard random crop
VIT_IN21K_ROTATION = 90.0  # degrees, model card 002's random rotation
SHARPNESS_FACTOR, SHARPNESS_P = 2.0, 0.5  # model card 002's random sharpness adjustment
SMOOTH_KERNEL = torch.tensor([[1.0, 1.0, 1.0], [1.0, 5.0, 1.0], [1.0, 1.0, 1.0]]) / 13  # as torchvision's sharpness


def cache_field(spec: ModelSpec) -> str:
    """Which array of a cache entry a model reads (a sequence model its own sampling,
    where the profile made one: ``crop_cache.SAME_AS``)."""
    return {"flow_clip": "flow_mid", "clip": "clip", "sequence": "sequence"}.get(spec.input_kind, "faces")


def pick_frames(n_available: int, n_wanted: int) -> np.ndarray:
    """``n_wanted`` indices spread over ``n_available`` (repeats when too few)."""
    return np.linspace(0, n_available - 1, n_wanted).round().astype(int)


def resize_uint8(frames: np.ndarray, size: int) -> torch.Tensor:
    """uint8 ``(T, H, W, C)`` -> uint8 ``(T, C, size, size)``, antialiased. Training,
    validation and scoring all read crops through this one function."""
    tensor = torch.from_numpy(np.ascontiguousarray(frames)).permute(0, 3, 1, 2)
    if tensor.shape[-2:] == (size, size):
        return tensor.contiguous()
    resized = F.interpolate(tensor.float(), size=(size, size), mode="bilinear", antialias=True, align_corners=False)
    return resized.round_().clamp_(0, 255).to(torch.uint8)


def model_frames(frames: np.ndarray, spec: ModelSpec, variant: Variant) -> np.ndarray:
    """The frames of a cached video that the model reads: all of them for frame models,
    ``variant.frames`` spread over the video for clip and sequence models."""
    return frames if spec.input_kind == "frame" else frames[pick_frames(len(frames), variant.frames)]


def to_model_scale(frames: torch.Tensor, variant: Variant) -> torch.Tensor:
    """uint8 ``(..., C, H, W)`` -> float normalised with the variant's mean and std, in
    one conversion and two in-place operations (the trainer does this for every batch)."""
    mean = torch.tensor(variant.mean).view(3, 1, 1) * 255
    scale = 1 / (torch.tensor(variant.std).view(3, 1, 1) * 255)
    return frames.float().sub_(mean).mul_(scale)


def model_layout(batch: torch.Tensor, spec: ModelSpec, channels_last: bool = False) -> torch.Tensor:
    """``(B, T, C, H, W)`` -> the model's input: ``(B, C, H, W)`` frames, ``(B, C, T, H, W)``
    clips, ``(B, T, C, H, W)`` sequences; optionally in channels-last memory order."""
    if spec.input_kind == "frame":
        batch = batch[:, 0]
        return batch.contiguous(memory_format=torch.channels_last) if channels_last else batch
    if spec.input_kind in ("clip", "flow_clip"):
        batch = batch.permute(0, 2, 1, 3, 4)
        return batch.contiguous(memory_format=torch.channels_last_3d) if channels_last else batch.contiguous()
    return batch.contiguous()


def video_input(frames: np.ndarray, spec: ModelSpec, variant: Variant) -> torch.Tensor:
    """What a model scores for one video, from its cached array: every frame as a batch
    ``(T, C, H, W)`` for frame models, one clip ``(1, C, T, H, W)`` or sequence
    ``(1, T, C, H, W)`` else; the same conversion as training and validation use."""
    batch = to_model_scale(resize_uint8(model_frames(frames, spec, variant), variant.input_size), variant)
    return batch if spec.input_kind == "frame" else model_layout(batch.unsqueeze(0), spec)


def affine_parameters(n: int, augmentation: str, generator: torch.Generator) -> torch.Tensor:
    """One random ``(2, 3)`` affine matrix per item (output -> input coordinates in
    ``[-1, 1]``): a random crop of ``CROP_SCALE`` of the area, a horizontal flip, and for
    ``vit_in21k`` a rotation of up to ``VIT_IN21K_ROTATION`` degrees."""
    low, high = CROP_SCALE[augmentation]
    area = low + (high - low) * torch.rand(n, generator=generator)
    if augmentation == "vit_in21k":
        ratio = torch.ones(n)
        angle = (torch.rand(n, generator=generator) * 2 - 1) * math.radians(VIT_IN21K_ROTATION)
    else:
        log_low, log_high = math.log(CROP_RATIO[0]), math.log(CROP_RATIO[1])
        ratio = torch.exp(log_low + (log_high - log_low) * torch.rand(n, generator=generator))
        angle = torch.zeros(n)
    width, height = (area * ratio).sqrt().clamp(max=1), (area / ratio).sqrt().clamp(max=1)
    shift_x = (torch.rand(n, generator=generator) * 2 - 1) * (1 - width)
    shift_y = (torch.rand(n, generator=generator) * 2 - 1) * (1 - height)
    flip = torch.where(torch.rand(n, generator=generator) < 0.5, -1.0, 1.0)
    cos, sin = torch.cos(angle), torch.sin(angle)
    return torch.stack([
        torch.stack([cos * width * flip, -sin * height, shift_x], dim=1),
        torch.stack([sin * width * flip, cos * height, shift_y], dim=1),
    ], dim=1)


def sharpen(images: torch.Tensor, chosen: torch.Tensor, low: torch.Tensor, high: torch.Tensor) -> torch.Tensor:
    """Sharpen the ``chosen`` items of ``(B, K, H, W)`` by ``SHARPNESS_FACTOR`` (blend away
    from a 3 x 3 smoothing, border pixels kept, clamped to the ``(K, 1, 1)`` bounds of
    the image range), as torchvision's ``adjust_sharpness``."""
    if not chosen.any():
        return images
    picked = images[chosen]
    k = picked.shape[1]
    smooth = F.conv2d(picked, SMOOTH_KERNEL.to(picked.dtype).expand(k, 1, 3, 3), groups=k)
    blurred = picked.clone()
    blurred[..., 1:-1, 1:-1] = smooth
    images = images.clone()
    images[chosen] = torch.minimum(torch.maximum(SHARPNESS_FACTOR * picked + (1 - SHARPNESS_FACTOR) * blurred, low), high)
    return images


def augment(batch: torch.Tensor, variant: Variant, augmentation: str, generator: torch.Generator,
            offset: int = 0, global_size: int | None = None) -> torch.Tensor:
    """Augment normalised float ``(B, T, C, H, W)``: one warp per item, the same for all its
    T frames (frames are folded into channels so a single ``grid_sample`` moves them
    together). Warping commutes with the per-channel normalisation, so it runs after it.

    The parameters are drawn for the whole global batch of ``global_size`` items and this
    process applies rows ``offset:offset + B``, so N processes together do what one does.
    """
    b, t, c, h, w = batch.shape
    total = global_size or b
    theta = affine_parameters(total, augmentation, generator)[offset : offset + b]
    sharpened = (torch.rand(total, generator=generator) < SHARPNESS_P)[offset : offset + b]
    folded = batch.reshape(b, t * c, h, w)
    grid = F.affine_grid(theta.to(batch.dtype), list(folded.shape), align_corners=False)
    warped = F.grid_sample(folded, grid, mode="bilinear", padding_mode="reflection", align_corners=False)
    if augmentation == "vit_in21k":
        bounds = to_model_scale(torch.tensor([0, 255], dtype=torch.uint8).view(2, 1, 1, 1).expand(2, 3, 1, 1), variant)
        warped = sharpen(warped, sharpened, bounds[0].repeat(t, 1, 1), bounds[1].repeat(t, 1, 1))
    return warped.view(b, t, c, h, w)


@dataclass
class MemorySplit:
    """The crops of a set of videos at a model's input size, in memory.

    ``frames`` is uint8 ``(N, T, C, H, W)`` with one row per video; ``labels`` the videos'
    labels. Frame models train on single frames (``items`` = videos x frames), clip and
    sequence models on whole videos.
    """

    videos: pd.DataFrame
    frames: torch.Tensor
    labels: np.ndarray
    spec: ModelSpec
    variant: Variant

    @classmethod
    def load(cls, videos: pd.DataFrame, cache_dir, spec: ModelSpec, variant: Variant) -> "MemorySplit":
        """Read every video's cache entry once; raises FileNotFoundError for a missing entry."""
        videos = videos.reset_index(drop=True)
        field = cache_field(spec)
        arrays = []
        for key in zip(videos["dataset"], videos["method"], videos["video_id"]):  # rule 1: method is part of the key
            frames = cache.load_array(cache_dir, key, field)
            arrays.append(resize_uint8(model_frames(frames, spec, variant), variant.input_size))
        lengths = {len(a) for a in arrays}
        if len(lengths) > 1:
            raise ValueError(f"cache entries hold different numbers of frames {sorted(lengths)}; "
                             "re-run preprocessing with one profile")
        stacked = torch.stack(arrays) if arrays else torch.empty((0, 1, 3, variant.input_size, variant.input_size),
                                                                 dtype=torch.uint8)
        return cls(videos, stacked, videos["label"].astype(int).to_numpy(), spec, variant)

    def keys(self) -> list[tuple[str, str, str]]:
        """The cache keys ``(dataset, method, video_id)`` of the videos, in row order."""
        return list(zip(self.videos["dataset"], self.videos["method"], self.videos["video_id"]))

    @property
    def per_video(self) -> int:
        """Training items per video: every frame for frame models, else one clip."""
        return self.frames.shape[1] if self.spec.input_kind == "frame" else 1

    def __len__(self) -> int:
        return len(self.frames) * self.per_video

    def item_labels(self) -> np.ndarray:
        return np.repeat(self.labels, self.per_video)

    def epoch_items(self, epoch: int, frames_per_video: int | None = None) -> np.ndarray:
        """Item indices of one training epoch. Frame models take ``frames_per_video``
        evenly spaced frames of every video, shifted by one frame each epoch, so every
        ``T // frames_per_video`` epochs see every frame once (default: all frames)."""
        t = self.per_video
        if self.spec.input_kind != "frame" or frames_per_video is None or frames_per_video >= t:
            return np.arange(len(self))
        slots = (np.arange(frames_per_video) * (t // frames_per_video) + epoch) % t
        return (np.arange(len(self.frames))[:, None] * t + slots[None, :]).ravel()

    def items(self, indices: torch.Tensor) -> torch.Tensor:
        """uint8 ``(B, T, C, H, W)`` of training items (T = 1 for frame models)."""
        if self.spec.input_kind == "frame":
            video, frame = indices // self.per_video, indices % self.per_video
            return self.frames[video, frame].unsqueeze(1)
        return self.frames[indices]

    def training_batch(self, indices: list[int], generator: torch.Generator, channels_last: bool = False,
                       offset: int = 0, global_size: int | None = None):
        """Augmented, normalised model input and labels for ``indices``, this process's
        rows ``offset:`` of a global batch of ``global_size`` (see :func:`augment`)."""
        index = torch.as_tensor(indices, dtype=torch.long)
        batch = to_model_scale(self.items(index), self.variant)
        batch = augment(batch, self.variant, self.spec.augmentation, generator, offset, global_size)
        labels = torch.as_tensor(self.item_labels()[index.numpy()], dtype=torch.long)
        return model_layout(batch, self.spec, channels_last), labels

    def scoring_batches(self, rows: int, channels_last: bool = False) -> Iterator[tuple[np.ndarray, torch.Tensor]]:
        """Unaugmented batches of whole videos for scoring: ``(video positions, model
        input)``, frame models as one row per frame, about ``rows`` rows per batch."""
        per_batch = max(1, rows // self.per_video)
        for start in range(0, len(self.frames), per_batch):
            chunk = to_model_scale(self.frames[start : start + per_batch], self.variant)
            positions = np.arange(start, start + len(chunk))
            if self.spec.input_kind == "frame":
                chunk = chunk.flatten(0, 1).unsqueeze(1)
            yield positions, model_layout(chunk, self.spec, channels_last)


def epoch_generator(seed: int, epoch: int) -> torch.Generator:
    """The augmentation generator of one epoch, the same in every process."""
    return torch.Generator().manual_seed(seed * 1_000_003 + epoch)
