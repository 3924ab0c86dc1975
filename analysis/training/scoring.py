"""Scoring: a trained model's scores table over the evaluation videos of a manifest.

Apart from the training loop, so that validation during training, the final scores
table and :class:`analysis.detector.Detector` score inputs the same way.
"""

from __future__ import annotations

import contextlib
from typing import NamedTuple

import numpy as np
import pandas as pd
import torch

from analysis.data.manifest import video_keys
from analysis.data.splits import identity_groups
from analysis.evaluation.scores_table import COLUMNS, TRAIN, VIDEO_LEVEL, validate_scores
from analysis.models.base import DetectorModel
from analysis.models.registry import VIDEO, ModelSpec, Variant
from analysis.preprocess.exclusions import usable_videos
from analysis.training import distributed
from analysis.training.crop_datasets import StreamedSplit
from analysis.training.distributed import Context

class VideoScores(NamedTuple):
    """One video's score and its frames' own: a frame model's frames' scores (the video's
    is their mean), a pooling model's score of each frame alone; none for clip and
    sequence models."""

    video: float
    frames: np.ndarray


@torch.no_grad()
def predict(model: DetectorModel, split: StreamedSplit, device: str, amp: bool, batch: int) -> list[VideoScores]:
    """The scores of every video of ``split``, in its order, ``batch`` items at a time
    (frames for a frame model, else clips or videos; whole videos per batch).

    Callers pass the training micro-batch: a pass of that size already fits the device
    with gradients, and on a CPU larger batches are slower, their activations outgrowing
    the caches (one thread, 64 px crops: Deep SVDD 370 frames/s at 256 rows, 490-540 at 64;
    EfficientNet-B0 730-790 and 1,450-1,490). In eval mode an input's score does not depend
    on the batch it is in: for every cpu variant the scores at 256 rows and at the training
    batch were the same bits (the stored run's scores were reproduced exactly)."""
    model.eval()
    out: list[VideoScores] = []
    kind = split.spec.input_kind
    for _, inputs in split.scoring_batches(batch, split.variant.channels_last):
        if kind == VIDEO:
            videos, frames = score_videos(model, inputs.to(device), amp)
            out.extend(VideoScores(float(v), f) for v, f in zip(videos, frames))
            continue
        scores = score_batch(model, inputs.to(device), amp)
        for values in np.split(scores, len(scores) // split.per_video):
            out.append(VideoScores(float(values.mean()), values if kind == "frame" else values[:0]))
    return out


@torch.no_grad()
def score_batch(model: DetectorModel, batch: torch.Tensor, amp: bool = False) -> np.ndarray:
    """One score per input: classifiers their fake probability, one-class models their
    anomaly score (the model decides, :meth:`DetectorModel.score`)."""
    with autocast(str(batch.device.type), amp):
        outputs = model(batch).float()
    return model.score(outputs).cpu().numpy()


@torch.no_grad()
def score_videos(model: DetectorModel, videos: torch.Tensor, amp: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """A pooling model's score of each video ``(B,)`` and of each of its frames alone
    ``(B, T)``, from one pass (:meth:`DetectorModel.frame_and_video_outputs`)."""
    with autocast(str(videos.device.type), amp):
        video, frames = model.frame_and_video_outputs(videos)
    b, t = frames.shape[:2]
    frame_scores = model.score(frames.float().flatten(0, 1)).view(b, t)
    return model.score(video.float()).cpu().numpy(), frame_scores.cpu().numpy()


def autocast(device: str, amp: bool):
    """fp16 autocast on a CUDA device (``cuda`` or ``cuda:N``) when ``amp``, else nothing."""
    on_gpu = amp and torch.device(device).type == "cuda"
    return torch.autocast("cuda", dtype=torch.float16) if on_gpu else contextlib.nullcontext()



def score_manifest(network: DetectorModel, manifest: pd.DataFrame, cache_dir: str, spec: ModelSpec,
                   variant: Variant, *, model: str, seed: int, device: str, batch: int, amp: bool = False,
                   ctx: Context | None = None,
                   scored: dict[tuple[str, str, str], VideoScores] | None = None) -> pd.DataFrame:
    """The scores table of one run (:mod:`analysis.evaluation.scores_table`): every
    validation and test video of both domains at video level (:class:`VideoScores`)
    and, for frame models, at frame level. Training videos are not scored: the study reads
    none (a model's in-sample scores say no more than its training loss), and on the
    embedded benchmark they would be a third of the scoring time. Videos the preprocessing
    report leaves out are not scored either (:mod:`analysis.preprocess.exclusions`). Under
    ``torchrun`` (``ctx``) each rank scores its shard of the videos and every rank gets the
    whole table. ``batch``: items per forward pass (:func:`predict`). ``scored``: videos
    this network has scored already (by key,
    :func:`analysis.data.manifest.video_keys`), which are not scored again."""
    ctx, scored = ctx or Context(device=device), scored or {}
    videos = usable_videos(manifest[manifest["split"] != TRAIN], cache_dir).reset_index(drop=True)
    keys = video_keys(videos)
    unscored = videos[[key not in scored for key in keys]]
    split = StreamedSplit.load(distributed.shard(unscored, ctx), cache_dir, spec, variant)
    fresh = iter(distributed.gather(predict(network, split, device, amp, batch), ctx))
    scores = [scored[key] if key in scored else next(fresh) for key in keys]
    group_of = dict(zip(video_keys(manifest), identity_groups(manifest)))  # components of the whole manifest
    videos = videos.assign(group=[group_of[key] for key in keys])
    table = scores_rows(videos, scores, model=model, seed=seed)
    return validate_scores(table, origin=f"scores of {model}")


def scores_rows(videos: pd.DataFrame, scores: list[VideoScores], *, model: str, seed: int) -> pd.DataFrame:
    """The rows of a scores table for ``videos`` (manifest rows with their ``group``) and
    their :class:`VideoScores`: per video, its video-level row, then one row per frame
    score it has. Built a column at a time (references to the videos' strings, two numbers
    a row), not a dict per row: for the 139,553 rows of a paper run that scores every
    Celeb-DF video at 16 frames, the table's construction and validation peak at 24 MB of
    Python memory instead of 94 MB."""
    counts = np.array([1 + len(s.frames) for s in scores], dtype=np.int64)
    video_of_row = np.repeat(np.arange(len(videos)), counts)
    columns = ("dataset", "domain", "split", "video_id", "method", "label", "group")
    table = {c: videos[c].to_numpy()[video_of_row] for c in columns}
    table["label"] = table["label"].astype(int)
    frame_index = [np.arange(VIDEO_LEVEL, n - 1) for n in counts]  # -1 (the video), then its frames
    score = [np.append(np.float64(s.video), np.asarray(s.frames, np.float64)) for s in scores]
    return pd.DataFrame({
        **table, "model": model, "seed": seed,
        "frame_index": np.concatenate(frame_index or [np.zeros(0, np.int64)]),
        "score": np.concatenate(score or [np.zeros(0)]).astype(np.float64),
    }, columns=list(COLUMNS))
