"""One trainer for every detector of the registry, read top to bottom.

Recipes (model card 000): ``two_stage`` warms up the new head on a frozen backbone whose
BatchNorm layers stay in eval mode, then fine-tunes everything; ``single_stage`` trains
everything with AdamW and ReduceLROnPlateau. Both use class-weighted cross-entropy
``w_c = N / (2 N_c)``. ``one_class`` (model card 001) trains an anomaly scorer on the real
training videos only and minimises its mean anomaly score, with AdamW like single-stage.
All recipes use mixed precision on CUDA, and select the checkpoint and stop early on the
**video-level AUC of the training domain's validation split only** (DESIGN rule 2).
The last epoch's state is saved after every epoch, so an interrupted run resumes where it
stopped and, with the same seed, ends with the same numbers.

Distributed: under ``torchrun`` every rank trains on its slice of each global batch and
DistributedDataParallel averages the gradients; rank 0 evaluates and writes.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import platform
import random
import shutil
import subprocess
import time
from dataclasses import asdict, dataclass, replace
from pathlib import Path

import numpy as np
import pandas as pd
import torch
import torch.distributed as dist
from sklearn.metrics import roc_auc_score
from torch import nn
from torch.nn.parallel import DistributedDataParallel
from torch.utils.data import DataLoader, Sampler
from tqdm import tqdm

from analysis.datasets import CacheDataset
from analysis.manifest import read_manifest
from analysis.models import create_model, get_spec
from analysis.paths import PROJECT_ROOT

SOURCE = "source"  # the training domain: the only one training and selection read
RUN_FORMAT = 1  # version of the run folder layout; readers refuse runs of another format


@dataclass(frozen=True)
class Recipe:
    """Schedule and optimiser settings of one profile."""

    warmup_epochs: int  # two-stage only: head-only epochs on a frozen backbone
    epochs: int  # fine-tune epochs (two-stage) or all epochs (single-stage)
    batch_size: int
    lr: float  # full-network learning rate
    head_lr: float  # warm-up learning rate of the head
    weight_decay: float
    patience: int  # epochs without a better validation AUC before stopping
    train_frames_per_video: int | None  # frames drawn per video and epoch (frame models)


RECIPES = {
    "paper": Recipe(3, 10, 32, 1e-4, 1e-3, 1e-4, 3, None),
    "cpu": Recipe(1, 2, 32, 3e-4, 1e-3, 1e-4, 2, 4),
    "tiny": Recipe(1, 1, 8, 1e-3, 3e-3, 1e-4, 1, 2),
}
PREDICT_ROWS = {True: 64, False: 8}  # rows scored at once: frames of frame models, else whole clips
CARD_LEARNING_RATES = {("vit_in21k", "paper"): 1e-6}  # model card 002: AdamW at 1e-6


@dataclass(frozen=True)
class TrainConfig:
    model: str
    profile: str
    manifest: str
    cache_dir: str
    out_dir: str
    seed: int = 0
    device: str | None = None
    weights_dir: str | None = None
    recipe: Recipe | None = None  # default: RECIPES[profile]

    def resolved(self) -> "TrainConfig":
        recipe = self.recipe or RECIPES.get(self.profile, RECIPES["cpu"])
        lr = CARD_LEARNING_RATES.get((self.model, self.profile))
        if lr is not None:
            recipe = replace(recipe, lr=lr)
        device = self.device or ("cuda" if torch.cuda.is_available() else "cpu")
        return replace(self, recipe=recipe, device=device)


class BlockSampler(Sampler[int]):
    """A seeded shuffle per epoch; each global batch is cut into equal contiguous slices,
    one per rank, so that N ranks see together exactly the batches one process sees."""

    def __init__(self, n: int, batch_size: int, seed: int, rank: int = 0, world: int = 1):
        if batch_size % world:
            raise ValueError(f"batch size {batch_size} must be a multiple of the {world} processes")
        self.n, self.batch, self.seed, self.rank, self.world = n, batch_size, seed, rank, world
        self.epoch = 0

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def __iter__(self):
        order = torch.randperm(self.n, generator=torch.Generator().manual_seed(self.seed * 1000 + self.epoch))
        share = self.batch // self.world
        for start in range(0, self.n - self.batch + 1, self.batch):  # drop the last partial batch
            yield from order[start + self.rank * share : start + (self.rank + 1) * share].tolist()

    def __len__(self) -> int:
        return (self.n // self.batch) * (self.batch // self.world)


def set_seed(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


def class_weights(labels: np.ndarray) -> torch.Tensor:
    """``w_c = N / (2 N_c)``: each class contributes half of the loss."""
    counts = np.bincount(labels, minlength=2).astype(float)
    if (counts == 0).any():
        raise ValueError(f"training data needs both classes, got counts {counts.tolist()}")
    return torch.tensor(len(labels) / (2 * counts), dtype=torch.float32)


def weighted_loss(logits: torch.Tensor, labels: torch.Tensor, weights: torch.Tensor, world: int) -> tuple[torch.Tensor, float]:
    """Class-weighted cross-entropy normalised by the weight of the whole global batch.

    With ``world`` processes each holding a slice of the batch, DDP averages their
    gradients; scaling by ``world / global weight`` makes that average equal the single
    process's weighted mean. Returns the loss to back-propagate and the global batch loss.
    """
    per_sample = nn.functional.cross_entropy(logits, labels, reduction="none") * weights[labels]
    totals = torch.stack([per_sample.sum().detach(), weights[labels].sum()])
    if world > 1:
        dist.all_reduce(totals)
    return per_sample.sum() * world / totals[1], float(totals[0] / totals[1])


def one_class_loss(scores: torch.Tensor, world: int) -> tuple[torch.Tensor, float]:
    """Mean anomaly score of a batch of reals. Every rank holds an equal slice, so DDP's
    gradient average equals the single process's; the logged value is the global mean."""
    loss = scores.mean()
    logged = loss.detach().clone()
    if world > 1:
        dist.all_reduce(logged)
    return loss, float(logged) / world


def head_parameters(model: nn.Module) -> list[nn.Parameter]:
    """The parameters trained during warm-up: the new classifier (and an LSTM if any)."""
    if hasattr(model, "lstm"):
        return list(model.lstm.parameters()) + list(model.head.parameters())
    head = model.get_classifier() if hasattr(model, "get_classifier") else model.fc
    return list(head.parameters())


def set_stage(model: nn.Module, stage: str) -> None:
    """Freeze all but the head for ``warmup``; unfreeze everything for ``finetune``."""
    trainable = {id(p) for p in head_parameters(model)} if stage == "warmup" else None
    for p in model.parameters():
        p.requires_grad_(trainable is None or id(p) in trainable)


def train_mode(model: nn.Module, stage: str) -> None:
    """``model.train()``, but a frozen backbone keeps BatchNorm statistics fixed."""
    model.train()
    if stage == "warmup":
        for module in model.modules():
            if isinstance(module, nn.modules.batchnorm._BatchNorm):
                module.eval()


def make_optimizer(model: nn.Module, recipe: Recipe, stage: str):
    params = [p for p in model.parameters() if p.requires_grad]
    lr = recipe.head_lr if stage == "warmup" else recipe.lr
    optimizer = torch.optim.AdamW(params, lr=lr, weight_decay=recipe.weight_decay)
    scheduler = torch.optim.lr_scheduler.ReduceLROnPlateau(optimizer, mode="max", factor=0.5, patience=1)
    return optimizer, scheduler


@torch.no_grad()
def predict(model: nn.Module, dataset: CacheDataset, device: str, amp: bool) -> list[np.ndarray]:
    """Score per video: an array of per-frame scores for frame models, a one-element
    array for clip and sequence models."""
    model.eval()
    rows_per_batch = PREDICT_ROWS[dataset.spec.input_kind == "frame"]
    out, pending = [], []

    def flush():
        scores = score_batch(model, torch.cat(pending).to(device), dataset.spec, amp)
        out.extend(np.split(scores, np.cumsum([len(p) for p in pending])[:-1]))
        pending.clear()

    for index in range(len(dataset)):
        inputs, _ = dataset[index]
        pending.append(inputs)
        if sum(len(p) for p in pending) >= rows_per_batch:
            flush()
    if pending:
        flush()
    return out


@torch.no_grad()
def score_batch(model: nn.Module, batch: torch.Tensor, spec, amp: bool = False) -> np.ndarray:
    """Classifiers score the fake probability, one-class models their anomaly score."""
    with autocast(str(batch.device.type), amp):
        outputs = model(batch).float()
    return (outputs if spec.one_class else torch.softmax(outputs, dim=1)[:, 1]).cpu().numpy()


def video_auc(labels: np.ndarray, probabilities: list[np.ndarray]) -> float:
    scores = np.array([p.mean() for p in probabilities])
    return float(roc_auc_score(labels, scores)) if len(set(labels)) == 2 else float("nan")


def autocast(device: str, amp: bool):
    return torch.autocast("cuda", dtype=torch.float16) if (amp and device == "cuda") else contextlib.nullcontext()


def git_commit() -> str:
    try:
        return subprocess.run(["git", "rev-parse", "HEAD"], cwd=PROJECT_ROOT, capture_output=True,
                              text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def _distributed() -> tuple[int, int]:
    if "RANK" not in os.environ:
        return 0, 1
    if not dist.is_initialized():
        dist.init_process_group("nccl" if torch.cuda.is_available() else "gloo")
    return dist.get_rank(), dist.get_world_size()


def _rng_state() -> dict:
    return {"python": random.getstate(), "numpy": np.random.get_state(), "torch": torch.get_rng_state()}


def _set_rng_state(state: dict) -> None:
    random.setstate(state["python"])
    np.random.set_state(state["numpy"])
    torch.set_rng_state(state["torch"])


def train(cfg: TrainConfig) -> Path:
    """Train one model; write ``best.pt``, ``last.pt``, ``record.json`` and ``scores.csv``
    into ``cfg.out_dir`` and return that folder."""
    cfg = cfg.resolved()
    recipe, device = cfg.recipe, cfg.device
    rank, world = _distributed()
    main_process = rank == 0
    out = Path(cfg.out_dir)
    if main_process:
        out.mkdir(parents=True, exist_ok=True)
    spec = get_spec(cfg.model)
    variant = spec.variant(cfg.profile)
    amp = device == "cuda"
    set_seed(cfg.seed)

    manifest = read_manifest(cfg.manifest)
    source = manifest[manifest["domain"] == SOURCE]
    train_rows, val_rows = source[source["split"] == "train"], source[source["split"] == "val"]
    if spec.one_class:
        train_rows = train_rows[train_rows["label"] == 0]
    train_set = CacheDataset(train_rows, cfg.cache_dir, spec, variant, train=True,
                             frames_per_video=recipe.train_frames_per_video, seed=cfg.seed)
    val_set = CacheDataset(val_rows, cfg.cache_dir, spec, variant, train=False)
    sampler = BlockSampler(len(train_set), recipe.batch_size, cfg.seed, rank, world)
    loader = DataLoader(train_set, batch_size=recipe.batch_size // world, sampler=sampler, num_workers=0)

    model = create_model(cfg.model, cfg.profile, Path(cfg.weights_dir) if cfg.weights_dir else None).to(device)
    raw_model = model
    if world > 1:
        model = DistributedDataParallel(model, find_unused_parameters=True)
    weights = None if spec.one_class else class_weights(train_set.item_labels()).to(device)
    scaler = torch.amp.GradScaler("cuda", enabled=amp)
    stages = (["warmup"] * recipe.warmup_epochs if spec.recipe == "two_stage" else []) + ["finetune"] * recipe.epochs
    history, best_auc, stale, start_epoch, stage, done = [], -1.0, 0, 0, None, False
    optimizer = scheduler = None

    last = out / "last.pt"
    if last.is_file():  # resume an interrupted run of the same configuration
        state = torch.load(last, map_location=device, weights_only=False)
        if state["config"] == asdict(cfg):
            raw_model.load_state_dict(state["model"])
            stage = state["stage"]
            set_stage(raw_model, stage)
            optimizer, scheduler = make_optimizer(raw_model, recipe, stage)
            optimizer.load_state_dict(state["optimizer"])
            scheduler.load_state_dict(state["scheduler"])
            scaler.load_state_dict(state["scaler"])
            history, best_auc, stale = state["history"], state["best_auc"], state["stale"]
            start_epoch, done = state["epoch"] + 1, state["done"]
            _set_rng_state(state["rng"])

    started = time.perf_counter()
    if hasattr(raw_model, "fit_centre") and not bool(raw_model.centre_fitted):
        raw_model.fit_centre((inputs for inputs, _ in loader), dist.all_reduce if world > 1 else None)
    for epoch in range(start_epoch, 0 if done else len(stages)):
        if stages[epoch] != stage:
            stage, stale = stages[epoch], 0
            set_stage(raw_model, stage)
            optimizer, scheduler = make_optimizer(raw_model, recipe, stage)
        sampler.set_epoch(epoch)
        train_set.set_epoch(epoch)
        train_mode(model, stage)
        tick, losses = time.perf_counter(), []
        bar = tqdm(loader, desc=f"{cfg.model} epoch {epoch + 1}/{len(stages)} ({stage})", unit="batch",
                   disable=not main_process)
        for inputs, labels in bar:
            inputs, labels = inputs.to(device), labels.to(device)
            with autocast(device, amp):
                outputs = model(inputs).float()
                if spec.one_class:
                    loss, logged = one_class_loss(outputs, world)
                else:
                    loss, logged = weighted_loss(outputs, labels, weights, world)
            optimizer.zero_grad(set_to_none=True)
            scaler.scale(loss).backward()
            scaler.step(optimizer)
            scaler.update()
            losses.append(logged)
            bar.set_postfix(loss=f"{np.mean(losses):.3f}")
        val_auc = video_auc(val_set.labels, predict(raw_model, val_set, device, amp))
        scheduler.step(val_auc if np.isfinite(val_auc) else 0.0)
        improved = val_auc > best_auc
        best_auc, stale = (val_auc, 0) if improved else (best_auc, stale + 1)
        history.append({"epoch": epoch + 1, "stage": stage, "train_loss": float(np.mean(losses)) if losses else float("nan"),
                        "val_auc": val_auc, "lr": optimizer.param_groups[0]["lr"],
                        "seconds": round(time.perf_counter() - tick, 2)})
        done = epoch == len(stages) - 1 or (stage == "finetune" and stale >= recipe.patience)
        if main_process:
            if improved:
                torch.save({"model": raw_model.state_dict(), "config": asdict(cfg), "epoch": epoch + 1,
                            "val_auc": val_auc}, out / "best.pt")
            torch.save({"model": raw_model.state_dict(), "optimizer": optimizer.state_dict(),
                        "scheduler": scheduler.state_dict(), "scaler": scaler.state_dict(),
                        "stage": stage, "epoch": epoch, "history": history, "best_auc": best_auc,
                        "stale": stale, "done": done, "config": asdict(cfg), "rng": _rng_state()}, last)
        if done:
            break
    train_seconds = time.perf_counter() - started

    if main_process:
        best = torch.load(out / "best.pt", map_location=device, weights_only=False)
        raw_model.load_state_dict(best["model"])
        tick = time.perf_counter()
        scores = score_manifest(raw_model, manifest, cfg, spec, variant, amp)
        scores.to_csv(out / "scores.csv", index=False)
        record = {
            "run_format": RUN_FORMAT, "config": asdict(cfg), "model": cfg.model, "arch": variant.arch, "view": spec.view,
            "input_kind": spec.input_kind, "input_size": variant.input_size, "frames": variant.frames,
            "pretrained": variant.pretrained, "card": spec.card, "recipe": spec.recipe,
            "seed": cfg.seed, "device": device, "world_size": world, "git_commit": git_commit(),
            "versions": {"torch": torch.__version__, "python": platform.python_version()},
            "parameters": sum(p.numel() for p in raw_model.parameters()),
            "history": history, "best_epoch": best["epoch"], "best_val_auc": best["val_auc"],
            "train_items": len(train_set), "train_seconds_this_session": round(train_seconds, 1),
            "train_seconds": round(sum(h["seconds"] for h in history), 1),
            "score_seconds": round(time.perf_counter() - tick, 1),
        }
        (out / "record.json").write_text(json.dumps(record, indent=2))
    if world > 1:
        dist.barrier()
    return out


def score_manifest(model: nn.Module, manifest: pd.DataFrame, cfg: TrainConfig, spec, variant, amp: bool) -> pd.DataFrame:
    """The scores table: every video of every split of both domains, at video level
    (``frame_index`` -1, the mean over frames) and, for frame models, at frame level."""
    rows = []
    dataset = CacheDataset(manifest, cfg.cache_dir, spec, variant, train=False)
    probabilities = predict(model, dataset, cfg.device, amp)
    for video, probs in zip(dataset.videos.itertuples(), probabilities):
        base = {"dataset": video.dataset, "domain": video.domain, "split": video.split,
                "video_id": video.video_id, "method": video.method, "label": int(video.label), "model": cfg.model}
        rows.append({**base, "frame_index": -1, "score": float(probs.mean())})
        if spec.input_kind == "frame":
            rows.extend({**base, "frame_index": i, "score": float(p)} for i, p in enumerate(probs))
    return pd.DataFrame(rows)


def fingerprint(cfg: TrainConfig) -> str:
    """What a run depends on: the training and model code, the crop cache (its own
    fingerprint) and the configuration. A run with another fingerprint is retrained."""
    from analysis import datasets, models

    digest = hashlib.sha256()
    sources = [Path(__file__), Path(datasets.__file__), *sorted(Path(models.__file__).parent.glob("*.py"))]
    for path in sources:
        digest.update(path.read_bytes())
    stamp = Path(cfg.cache_dir) / "fingerprint.txt"
    digest.update(stamp.read_bytes() if stamp.is_file() else b"no cache fingerprint")
    settings = asdict(cfg.resolved())
    settings.pop("out_dir")
    digest.update(json.dumps(settings, sort_keys=True, default=str).encode())
    return digest.hexdigest()[:16]


def ensure_trained(cfg: TrainConfig) -> Path:
    """Train unless ``cfg.out_dir`` holds a finished run with the same fingerprint."""
    out = Path(cfg.out_dir)
    expected = fingerprint(cfg)
    stamp = out / "fingerprint.txt"
    if stamp.is_file() and stamp.read_text() == expected and (out / "scores.csv").is_file():
        return out
    if out.exists():
        shutil.rmtree(out)
    train(cfg)
    stamp.write_text(expected)
    return out
