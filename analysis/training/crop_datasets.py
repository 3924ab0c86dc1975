"""Training and scoring data streamed from disk: a split's crops resized once to the
model's input size, read back a batch at a time and augmented a batch at a time.

Why: decoding a cache entry, converting and augmenting one item at a time in a
``DataLoader`` cost the trainer a quarter of the model's own speed on a 2-core CPU, and
holding a whole split in memory (as this module did before) grows with the dataset: about
3 MB per video at the paper sizes, 13 GB for FF++'s training split, in every process of a
distributed run. Here a split is read from the crop cache once, resized once and written
as uint8 frames to a file (:class:`StreamedSplit`); a batch is read out of it, converted
to float and augmented by one batched affine warp, so memory stays at one batch.

Augmentation draws one set of parameters per item and warps (and colour-jitters) every
frame of the item with it, so a clip never flickers (DESIGN rule 4); a frame model that
pools a video's frames is not a clip (the mean has no order), and draws per frame, as
card 000's companion code v1 did. The parameters of a
global batch come from a generator seeded by ``(seed, epoch)``, so every process of a
distributed run, and a resumed run, draws the same ones.
"""

from __future__ import annotations

import math
import os
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import torch
import torch.nn.functional as F
from torchvision.transforms.v2 import functional as TF

from analysis.data.manifest import video_keys
from analysis.preprocess import crop_cache as cache
from analysis.preprocess.exclusions import usable_videos
from analysis.models.registry import VIDEO, ModelSpec, Variant
from analysis.profiles import COLOUR, CROP, FLIP

CROP_SCALE = {"standard": (0.8, 1.0), "vit_in21k": (0.6, 1.0)}  # area kept by the random crop
CROP_RATIO = (0.9, 1.1)  # aspect ratio range of the standard random crop
VIT_IN21K_ROTATION = 90.0  # degrees, model card 002's random rotation
SHARPNESS_FACTOR, SHARPNESS_P = 2.0, 0.5  # model card 002's random sharpness adjustment
SMOOTH_KERNEL = torch.tensor([[1.0, 1.0, 1.0], [1.0, 5.0, 1.0], [1.0, 1.0, 1.0]]) / 13  # as torchvision's sharpness
# colour jitter's factor ranges: card 000's companion code v1 (notebooks/05_model_advanced,
# 4b477d3), torchvision ColorJitter(brightness=0.2, contrast=0.2, saturation=0.1)
JITTER = ((0.8, 1.2), (0.8, 1.2), (0.9, 1.1))
JITTER_FUNCTIONS = (TF.adjust_brightness, TF.adjust_contrast, TF.adjust_saturation)


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
    """The frames of a cached video that the model reads: all of them for frame models
    (one at a time, or pooled per video: ``VIDEO``), ``variant.frames`` spread over the
    video for clip and sequence models."""
    if spec.input_kind in ("frame", VIDEO):
        return frames
    return frames[pick_frames(len(frames), variant.frames)]


def to_model_scale(frames: torch.Tensor, variant: Variant) -> torch.Tensor:
    """uint8 ``(..., C, H, W)`` -> float normalised with the variant's mean and std, in
    one conversion and two in-place operations (the trainer does this for every batch)."""
    mean = torch.tensor(variant.mean).view(3, 1, 1) * 255
    scale = 1 / (torch.tensor(variant.std).view(3, 1, 1) * 255)
    return frames.float().sub_(mean).mul_(scale)


def channels_last_format(spec: ModelSpec) -> torch.memory_format:
    """The channels-last memory order of a model's weights and inputs: 3-D convolutions
    (clip models) have their own."""
    return torch.channels_last_3d if spec.input_kind in ("clip", "flow_clip") else torch.channels_last


def model_layout(batch: torch.Tensor, spec: ModelSpec, channels_last: bool = False) -> torch.Tensor:
    """``(B, T, C, H, W)`` -> the model's input: ``(B, C, H, W)`` frames, ``(B, C, T, H, W)``
    clips, ``(B, T, C, H, W)`` sequences and pooled videos; optionally in channels-last
    memory order (frames and clips)."""
    if spec.input_kind == "frame":
        batch = batch[:, 0]
        return batch.contiguous(memory_format=channels_last_format(spec)) if channels_last else batch
    if spec.input_kind in ("clip", "flow_clip"):
        batch = batch.permute(0, 2, 1, 3, 4)
        return batch.contiguous(memory_format=channels_last_format(spec) if channels_last else torch.contiguous_format)
    return batch.contiguous()


def video_input(frames: np.ndarray, spec: ModelSpec, variant: Variant) -> torch.Tensor:
    """What a model scores for one video, from its cached array: every frame as a batch
    ``(T, C, H, W)`` for frame models, one clip ``(1, C, T, H, W)``, sequence or pooled
    video ``(1, T, C, H, W)`` else; the same conversion as training and validation use."""
    batch = to_model_scale(resize_uint8(model_frames(frames, spec, variant), variant.input_size), variant)
    return batch if spec.input_kind == "frame" else model_layout(batch.unsqueeze(0), spec)


def affine_parameters(n: int, augmentation: str, generator: torch.Generator,
                      parts: tuple[str, ...] = (CROP, FLIP)) -> torch.Tensor:
    """One random ``(2, 3)`` affine matrix per item (output -> input coordinates in
    ``[-1, 1]``): with ``CROP`` in ``parts`` a random crop of ``CROP_SCALE`` of the area
    (for ``vit_in21k`` also a rotation of up to ``VIT_IN21K_ROTATION`` degrees), with
    ``FLIP`` a horizontal flip. Every parameter is drawn whatever ``parts`` holds, so the
    generator moves on by the same amount."""
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
    if CROP not in parts:
        width = height = torch.ones(n)
        shift_x = shift_y = angle = torch.zeros(n)
    if FLIP not in parts:
        flip = torch.ones(n)
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


def colour_jitter(batch: torch.Tensor, variant: Variant, generator: torch.Generator, offset: int = 0,
                  global_size: int | None = None) -> torch.Tensor:
    """Jitter the brightness, contrast and saturation of normalised float ``(B, T, C, H, W)``
    by factors drawn from ``JITTER``, applied in a random order as torchvision's
    ``ColorJitter`` does, one draw per item for all its frames. Draws cover the global
    batch, of which this process takes rows ``offset:`` (see :func:`augment`)."""
    b, total = len(batch), global_size or len(batch)
    low, high = torch.tensor(JITTER).T
    factors = (low + (high - low) * torch.rand(total, len(JITTER), generator=generator))[offset : offset + b]
    orders = torch.rand(total, len(JITTER), generator=generator).argsort(dim=1)[offset : offset + b]
    mean, std = torch.tensor(variant.mean).view(3, 1, 1), torch.tensor(variant.std).view(3, 1, 1)
    images = (batch * std + mean).clamp(0, 1)  # the jitter works on [0, 1] images
    jittered = []
    for image, item_factors, order in zip(images, factors.tolist(), orders.tolist()):
        for k in order:
            image = JITTER_FUNCTIONS[k](image, item_factors[k])
        jittered.append(image)
    return (torch.stack(jittered) - mean) / std if jittered else batch


def augment(batch: torch.Tensor, variant: Variant, augmentation: str, generator: torch.Generator,
            offset: int = 0, global_size: int | None = None, parts: tuple[str, ...] = (CROP, FLIP)) -> torch.Tensor:
    """Augment normalised float ``(B, T, C, H, W)`` with ``parts`` (profiles' ``CROP``,
    ``FLIP``, ``COLOUR``): one warp per item, the same for all its T frames (frames are
    folded into channels so a single ``grid_sample`` moves them together). Warping
    commutes with the per-channel normalisation, so it runs after it. Card 002's
    sharpness (``vit_in21k``) follows the warp; the colour jitter comes last.

    The parameters are drawn for the whole global batch of ``global_size`` items and this
    process applies rows ``offset:offset + B``, so N processes together do what one does.
    """
    b, t, c, h, w = batch.shape
    total = global_size or b
    theta = affine_parameters(total, augmentation, generator, parts)[offset : offset + b]
    sharpened = (torch.rand(total, generator=generator) < SHARPNESS_P)[offset : offset + b]
    folded = batch.reshape(b, t * c, h, w)
    if CROP in parts or FLIP in parts:
        grid = F.affine_grid(theta.to(batch.dtype), list(folded.shape), align_corners=False)
        folded = F.grid_sample(folded, grid, mode="bilinear", padding_mode="reflection", align_corners=False)
    if augmentation == "vit_in21k":
        bounds = to_model_scale(torch.tensor([0, 255], dtype=torch.uint8).view(2, 1, 1, 1).expand(2, 3, 1, 1), variant)
        folded = sharpen(folded, sharpened, bounds[0].repeat(t, 1, 1), bounds[1].repeat(t, 1, 1))
    batch = folded.view(b, t, c, h, w)
    return colour_jitter(batch, variant, generator, offset, global_size) if COLOUR in parts else batch


class FrameFile:
    """uint8 frames of one shape, appended to an unnamed file on disk and read back with
    positioned reads (``os.preadv`` straight into the batch's array).

    The file is created unlinked (:func:`tempfile.TemporaryFile`), so it is freed when
    the process closes it or dies, and leaves nothing behind. Why not a memory map: the
    pages of a map that a process has touched count as its resident memory, so one epoch
    of random batches over a 13 GB map would show 13 GB resident; positioned reads keep
    only the batch in the process and leave caching to the kernel's page cache, which the
    system can reclaim.
    """

    def __init__(self, folder: Path, frame_shape: tuple[int, ...]):
        self.frame_shape = tuple(frame_shape)
        self.frame_bytes = int(np.prod(self.frame_shape))
        self.frames = 0
        self._file = tempfile.TemporaryFile(dir=folder)

    def append(self, frames: torch.Tensor) -> None:
        """Write ``(n, *frame_shape)`` uint8 frames after the last ones."""
        if tuple(frames.shape[1:]) != self.frame_shape or frames.dtype != torch.uint8:
            raise ValueError(f"frames of shape {tuple(frames.shape[1:])} ({frames.dtype}) cannot join a file of "
                             f"uint8 frames of shape {self.frame_shape}")
        self._file.write(frames.contiguous().numpy().tobytes())
        self.frames += len(frames)

    def finish(self) -> None:
        """Make every appended frame readable."""
        self._file.flush()

    def read(self, starts: np.ndarray, length: int) -> torch.Tensor:
        """uint8 ``(len(starts), length, *frame_shape)``: for each start, that frame and the
        ``length - 1`` after it."""
        out = np.empty((len(starts), length, *self.frame_shape), np.uint8)
        flat, step = out.reshape(-1), length * self.frame_bytes
        for i, start in enumerate(np.asarray(starts, dtype=np.int64)):
            if start < 0 or start + length > self.frames:
                raise IndexError(f"frames {start}..{start + length - 1} are outside the {self.frames} stored")
            read = os.preadv(self._file.fileno(), [flat[i * step : (i + 1) * step]], int(start) * self.frame_bytes)
            if read != step:
                raise OSError(f"read {read} of {step} bytes of frame {start} from the split file")
        return torch.from_numpy(out)

    def close(self) -> None:
        self._file.close()


@dataclass
class StreamedSplit:
    """The crops of a set of videos at a model's input size, streamed from disk.

    Loading reads every usable video's cache entry once (videos the preprocessing report
    leaves out are dropped: :func:`analysis.preprocess.exclusions.usable_videos`), resizes
    its frames to the model's input size and appends them, ``video_frames`` per video, to a
    :class:`FrameFile`; batches are read back from it. So the process holds one video while
    loading and one batch while training or scoring, however many videos the split has
    (``benchmarks/memory_scale.py`` measures it), and reads no more than an in-memory copy
    would: the resized uint8 frames, no decoding, so no ``DataLoader`` workers are needed
    to keep up with the model (decoding and converting item by item in a ``DataLoader``
    cost the trainer a quarter of the model's own speed on a 2-core CPU).

    The file goes into the crop cache's folder (the disk that already holds the crops);
    each process of a distributed run writes its own. ``videos`` holds one row per kept
    video, ``labels`` their labels. Frame models train on
    single frames (``items`` = videos x frames), clip and sequence models and frame models
    that pool (``VIDEO``) on whole videos.
    """

    videos: pd.DataFrame
    labels: np.ndarray
    spec: ModelSpec
    variant: Variant
    store: FrameFile
    video_frames: int  # frames stored per video

    @classmethod
    def load(cls, videos: pd.DataFrame, cache_dir, spec: ModelSpec, variant: Variant) -> "StreamedSplit":
        """Read every usable video's cache entry once into a split file (in ``cache_dir``);
        raises FileNotFoundError for a missing entry."""
        videos = usable_videos(videos, cache_dir).reset_index(drop=True)
        field = cache_field(spec)
        size = variant.input_size
        store, lengths = FrameFile(cache_dir, (3, size, size)), set()
        for key in video_keys(videos):  # rule 1: the method is part of the key
            frames = resize_uint8(model_frames(cache.load_array(cache_dir, key, field), spec, variant), size)
            lengths.add(len(frames))
            if len(lengths) > 1:
                store.close()
                raise ValueError(f"cache entries hold different numbers of frames {sorted(lengths)}; "
                                 "re-run preprocessing with one profile")
            store.append(frames)
        store.finish()
        return cls(videos, videos["label"].astype(int).to_numpy(), spec, variant, store, lengths.pop() if lengths else 1)

    def keys(self) -> list[tuple[str, str, str]]:
        """The cache keys ``(dataset, method, video_id)`` of the videos, in row order."""
        return video_keys(self.videos)

    @property
    def per_video(self) -> int:
        """Training items per video: every frame for frame models, else one clip."""
        return self.video_frames if self.spec.input_kind == "frame" else 1

    def __len__(self) -> int:
        return len(self.videos) * self.per_video

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
        return (np.arange(len(self.videos))[:, None] * t + slots[None, :]).ravel()

    def items(self, indices: torch.Tensor) -> torch.Tensor:
        """uint8 ``(B, T, C, H, W)`` of training items (T = 1 for frame models)."""
        indices = torch.as_tensor(indices, dtype=torch.long).numpy()
        if self.spec.input_kind == "frame":
            return self.store.read(indices, 1)  # item i is frame i of the file
        return self.store.read(indices * self.video_frames, self.video_frames)

    def training_batch(self, indices: np.ndarray | list[int], generator: torch.Generator, channels_last: bool = False,
                       offset: int = 0, global_size: int | None = None, parts: tuple[str, ...] = (CROP, FLIP)):
        """Model input and labels for ``indices``, normalised and augmented with ``parts``,
        this process's rows ``offset:`` of a global batch of ``global_size`` (see :func:`augment`)."""
        index = torch.as_tensor(indices, dtype=torch.long)
        batch = to_model_scale(self.items(index), self.variant)
        if self.spec.input_kind == VIDEO:  # a pooling frame model: one draw per frame, as v1 (no clip to flicker)
            b, t = batch.shape[:2]
            frames = augment(batch.flatten(0, 1).unsqueeze(1), self.variant, self.spec.augmentation, generator,
                             offset * t, (global_size or b) * t, parts)
            batch = frames.view(batch.shape)
        else:
            batch = augment(batch, self.variant, self.spec.augmentation, generator, offset, global_size, parts)
        labels = torch.as_tensor(self.labels[index.numpy() // self.per_video], dtype=torch.long)  # no per-item copy
        return model_layout(batch, self.spec, channels_last), labels

    def scoring_batches(self, rows: int, channels_last: bool = False) -> Iterator[tuple[np.ndarray, torch.Tensor]]:
        """Unaugmented batches of whole videos for scoring: ``(video positions, model
        input)``, frame models as one row per frame, about ``rows`` rows per batch."""
        per_batch, t = max(1, rows // self.per_video), self.video_frames
        for start in range(0, len(self.videos), per_batch):
            stop = min(start + per_batch, len(self.videos))
            videos = self.store.read(np.array([start * t]), (stop - start) * t).view(stop - start, t, *self.store.frame_shape)
            chunk = to_model_scale(videos, self.variant)
            if self.spec.input_kind == "frame":
                chunk = chunk.flatten(0, 1).unsqueeze(1)
            yield np.arange(start, stop), model_layout(chunk, self.spec, channels_last)


def epoch_generator(seed: int, epoch: int) -> torch.Generator:
    """The augmentation generator of one epoch, the same in every process."""
    return torch.Generator().manual_seed(seed * 1_000_003 + epoch)
