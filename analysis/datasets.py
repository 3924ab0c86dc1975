"""Datasets that read the crop cache in the shape each model kind expects.

* ``frame`` models train on single frames and are scored on every frame of a video;
* ``clip`` models (R3D-18) read a clip of crops, ``(C, T, H, W)``;
* ``flow_clip`` models read the clip of flow-interpolated midpoints;
* ``sequence`` models (CNN + LSTM) read ``(T, C, H, W)``.

Augmentation draws its random parameters once per item, from a generator seeded by
``(seed, epoch, index)``, and applies them to every frame of the item: a clip is never
made to flicker (DESIGN rule 4), and the same item gets the same augmentation whichever
process or rank loads it.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import torch
import torch.nn.functional as F
from torch.utils.data import Dataset
from torchvision import tv_tensors
from torchvision.transforms import v2

from analysis import cache
from analysis.models.registry import ModelSpec, Variant


def augmentation(spec: ModelSpec, size: int) -> v2.Transform:
    """The training augmentation of a model (seed 002's recipe for ``vit_in21k``)."""
    if spec.augmentation == "vit_in21k":
        return v2.Compose([
            v2.RandomRotation(90),
            v2.RandomAdjustSharpness(sharpness_factor=2.0, p=0.5),
            v2.RandomResizedCrop(size, scale=(0.6, 1.0), antialias=True),
        ])
    return v2.Compose([
        v2.RandomHorizontalFlip(),
        v2.RandomResizedCrop(size, scale=(0.8, 1.0), ratio=(0.9, 1.1), antialias=True),
    ])


def _pick(n_available: int, n_wanted: int) -> np.ndarray:
    """``n_wanted`` indices spread over ``n_available`` (repeats when too few)."""
    return np.linspace(0, n_available - 1, n_wanted).round().astype(int)


def cache_field(spec: ModelSpec) -> str:
    """Which array of a cache entry a model reads."""
    return {"flow_clip": "flow_mid", "clip": "clip"}.get(spec.input_kind, "faces")


def to_tensor(frames: np.ndarray, variant: Variant, augment: v2.Transform | None = None,
              seed: int | None = None) -> torch.Tensor:
    """uint8 (T, H, W, C) -> normalised float (T, C, size, size); an augmentation draws
    its parameters once from ``seed`` and applies them to every frame alike."""
    tensor = torch.from_numpy(frames).permute(0, 3, 1, 2).float().div(255)
    size = variant.input_size
    if tensor.shape[-1] != size or tensor.shape[-2] != size:
        tensor = F.interpolate(tensor, size=(size, size), mode="bilinear", antialias=True, align_corners=False)
    if augment is not None:
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)
            tensor = augment(tv_tensors.Video(tensor)).as_subclass(torch.Tensor)
    mean, std = torch.tensor(variant.mean).view(1, 3, 1, 1), torch.tensor(variant.std).view(1, 3, 1, 1)
    return (tensor - mean) / std


def video_input(frames: np.ndarray, spec: ModelSpec, variant: Variant) -> torch.Tensor:
    """What a model scores for one video, from its cached array: every frame as a batch
    for frame models, one clip ``(1, C, T, H, W)`` or sequence ``(1, T, C, H, W)`` else."""
    if spec.input_kind == "frame":
        return to_tensor(frames, variant)
    return _as_clip(to_tensor(frames[_pick(len(frames), variant.frames)], variant), spec).unsqueeze(0)


def _as_clip(frames: torch.Tensor, spec: ModelSpec) -> torch.Tensor:
    """(T, C, H, W) -> (C, T, H, W) for 3-D convolutions; sequences stay (T, C, H, W)."""
    return frames.permute(1, 0, 2, 3) if spec.input_kind in ("clip", "flow_clip") else frames


class CacheDataset(Dataset):
    """Items from the crop cache for one model.

    Parameters
    ----------
    videos : DataFrame
        Manifest rows (``dataset``, ``method``, ``video_id``, ``label``) of the videos to read.
    cache_dir : Path
        The preprocessing cache.
    spec, variant : the model's registry entry and its profile variant.
    train : bool
        Augment, and for frame models yield ``frames_per_video`` single frames per video.
    frames_per_video : int, default=None
        Frames drawn per video and epoch when training a frame model (default: all cached).
    seed : int, default=0
        Seeds the per-item augmentation and frame choice together with the epoch.
    """

    def __init__(self, videos: pd.DataFrame, cache_dir: Path, spec: ModelSpec, variant: Variant, *,
                 train: bool, frames_per_video: int | None = None, seed: int = 0):
        self.videos = videos.reset_index(drop=True)
        self.cache_dir = Path(cache_dir)
        self.spec, self.variant, self.train, self.seed = spec, variant, train, seed
        self.keys = list(zip(self.videos["dataset"], self.videos["method"], self.videos["video_id"]))
        self.labels = self.videos["label"].astype(int).to_numpy()
        self.per_video = frames_per_video if (train and spec.input_kind == "frame") else 1
        self.per_video = self.per_video or self._cached_frames(0)
        self.augment = augmentation(spec, variant.input_size) if train else None
        self.epoch = 0
        self._memory: dict[int, np.ndarray] = {}

    def _cached_frames(self, video: int) -> int:
        return len(self._array(video))

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def __len__(self) -> int:
        return len(self.keys) * self.per_video

    def item_labels(self) -> np.ndarray:
        return np.repeat(self.labels, self.per_video)

    def _array(self, video: int) -> np.ndarray:
        if video not in self._memory:
            self._memory[video] = cache.load_entry(self.cache_dir, self.keys[video])[cache_field(self.spec)]
        return self._memory[video]

    def __getitem__(self, index: int):
        video, slot = divmod(index, self.per_video)
        frames = self._array(video)
        item_seed = hash((self.seed, self.epoch, index)) % (2**31)
        if not self.train:  # evaluation: the whole video as the model scores it
            return video_input(frames, self.spec, self.variant), self.labels[video]
        if self.spec.input_kind == "frame":
            rng = np.random.default_rng(item_seed)
            chosen = frames[[rng.integers(len(frames))]]
            return to_tensor(chosen, self.variant, self.augment, item_seed)[0], self.labels[video]
        clip = to_tensor(frames[_pick(len(frames), self.variant.frames)], self.variant, self.augment, item_seed)
        return _as_clip(clip, self.spec), self.labels[video]
