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
        self.mean = torch.tensor(variant.mean).view(1, 3, 1, 1)
        self.std = torch.tensor(variant.std).view(1, 3, 1, 1)
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
            field = "flow_mid" if self.spec.input_kind == "flow_clip" else (
                "clip" if self.spec.input_kind == "clip" else "faces")
            self._memory[video] = cache.load_entry(self.cache_dir, self.keys[video])[field]
        return self._memory[video]

    def _prepare(self, frames: np.ndarray, generator_seed: int | None) -> torch.Tensor:
        """uint8 (T, H, W, C) -> normalised float (T, C, size, size), augmented alike."""
        tensor = torch.from_numpy(frames).permute(0, 3, 1, 2).float().div(255)
        size = self.variant.input_size
        if tensor.shape[-1] != size or tensor.shape[-2] != size:
            tensor = F.interpolate(tensor, size=(size, size), mode="bilinear", antialias=True, align_corners=False)
        if self.augment is not None:
            with torch.random.fork_rng(devices=[]):
                torch.manual_seed(generator_seed)
                tensor = self.augment(tv_tensors.Video(tensor)).as_subclass(torch.Tensor)
        return (tensor - self.mean) / self.std

    def __getitem__(self, index: int):
        video, slot = divmod(index, self.per_video)
        frames = self._array(video)
        item_seed = hash((self.seed, self.epoch, index)) % (2**31)
        kind = self.spec.input_kind
        if kind == "frame" and self.train:
            rng = np.random.default_rng(item_seed)
            chosen = frames[[rng.integers(len(frames))]]
            return self._prepare(chosen, item_seed)[0], self.labels[video]
        if kind == "frame":  # evaluation: every cached frame of the video
            return self._prepare(frames, None), self.labels[video]
        clip = self._prepare(frames[_pick(len(frames), self.variant.frames)], item_seed)
        if kind in ("clip", "flow_clip"):
            clip = clip.permute(1, 0, 2, 3)  # (C, T, H, W) for 3-D convolutions
        return clip, self.labels[video]
