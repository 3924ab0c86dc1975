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

import os
import platform
import random
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import torch
import torch.distributed as dist
from sklearn.metrics import roc_auc_score
from torch import nn
from torch.nn.parallel import DistributedDataParallel
from torch.utils.data import Sampler
from tqdm import tqdm

from analysis.evaluation.scores_table import SOURCE
from analysis.training.crop_datasets import MemorySplit, epoch_generator
from analysis.training.run_record import RUN_FORMAT, SCORES_FILE, git, write_record
from analysis.training.scoring import SCORE_ROWS, autocast, predict, score_manifest
from analysis.data.manifest import read_manifest
from analysis.preprocess.pipeline import load_record as load_preprocessing_record
from analysis.models import create_model, get_spec
from analysis.models.base import ANOMALY, CROSS_ENTROPY, DetectorModel
from analysis.models.registry import TWO_STAGE
from analysis.errors import UserInputError
from analysis.profiles import CUDA, ONE_CYCLE, Profile, Recipe

ONE_CYCLE_WARMUP = 0.2  # share of the one-cycle schedule spent raising the learning rate
HANG_GUARD = "hang_guard"  # the one stop reason a clock decides: the run is then incomplete
STOP_REASONS = {
    "no_improvement": "validation AUC stopped improving",
    HANG_GUARD: "stopped by the hang guard before its fixed epochs (incomplete)",
    "max_epochs": "all scheduled epochs done",
}
clock = time.perf_counter  # every duration the trainer records (tests simulate slow machines with it)



@dataclass(frozen=True)
class TrainConfig:
    """One training run: a model of a (resolved) profile, with one seed."""

    model: str
    profile: Profile
    manifest: str
    cache_dir: str
    out_dir: str
    seed: int = 0
    weights_dir: str | None = None

    @property
    def recipe(self) -> Recipe:
        return self.profile.recipe_for(self.model)

    @property
    def device(self) -> str:
        return self.profile.device


def check_device(device: str) -> str:
    """``device`` if this machine has it; a CUDA profile never falls back to the CPU silently."""
    if device == CUDA and not torch.cuda.is_available():
        raise UserInputError(
            "This profile trains on CUDA and no CUDA device is available. Run on a GPU machine, "
            "or pass -o device=cpu to train on the CPU on purpose."
        )
    return device


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


def set_stage(model: DetectorModel, stage: str) -> None:
    """Freeze all but the model's head for ``warmup``; unfreeze everything for ``finetune``."""
    trainable = {id(p) for p in model.head_parameters()} if stage == "warmup" else None
    for p in model.parameters():
        p.requires_grad_(trainable is None or id(p) in trainable)


def train_mode(model: nn.Module, stage: str) -> None:
    """``model.train()``, but a frozen backbone keeps BatchNorm statistics fixed."""
    model.train()
    if stage == "warmup":
        for module in model.modules():
            if isinstance(module, nn.modules.batchnorm._BatchNorm):
                module.eval()


def make_optimizer(model: nn.Module, recipe: Recipe, stage: str, steps: int):
    """AdamW and the stage's scheduler: one-cycle steps every batch over ``steps``
    batches, ReduceLROnPlateau once per epoch on the validation AUC."""
    lr = recipe.head_lr if stage == "warmup" else recipe.lr
    groups = [group for group in model.param_groups(lr) if group["params"]]
    optimizer = torch.optim.AdamW(groups, lr=lr, weight_decay=recipe.weight_decay)
    if recipe.schedule == ONE_CYCLE:
        peaks = [group["lr"] for group in groups]
        scheduler = torch.optim.lr_scheduler.OneCycleLR(optimizer, max_lr=peaks, total_steps=max(steps, 1),
                                                        pct_start=ONE_CYCLE_WARMUP)
    else:
        scheduler = torch.optim.lr_scheduler.ReduceLROnPlateau(optimizer, mode="max", factor=0.5,
                                                               patience=recipe.plateau_patience)
    return optimizer, scheduler


def video_auc(labels: np.ndarray, probabilities: list[np.ndarray]) -> float:
    scores = np.array([p.mean() for p in probabilities])
    return float(roc_auc_score(labels, scores)) if len(set(labels)) == 2 else float("nan")


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


def counts_towards_patience(epoch_in_stage: int, stage_epochs: int, recipe: Recipe) -> bool:
    """Whether an epoch without a better validation AUC uses up patience. Under one-cycle,
    the epochs in which the learning rate still rises do not: the validation AUC dips while
    the rate climbs, which says nothing about whether the run has converged (with patience
    counted from the first epoch, EfficientNet-B0 stopped at epoch 8 of 22 on the best
    AUC of its epoch 2, before its rate had begun to fall)."""
    return recipe.schedule != ONE_CYCLE or epoch_in_stage + 1 > ONE_CYCLE_WARMUP * stage_epochs


def _stop_reason(epoch: int, stages: list[str], stage: str, stale: int, recipe: Recipe,
                 epoch_seconds: list[float], world: int) -> str | None:
    """Why training stops after this epoch (a key of ``STOP_REASONS``), or None to go on.

    Only validation and the recipe's epochs decide (DESIGN rule 15); the hang guard ends a
    run that has taken longer than ``recipe.hang_guard_seconds``, far above its expected
    time, and the run record then says it is incomplete. Under ``torchrun`` rank 0's clock
    decides for every rank.
    """
    if stage == "finetune" and stale >= recipe.patience:
        return "no_improvement"
    if epoch == len(stages) - 1:
        return "max_epochs"
    over = recipe.hang_guard_seconds is not None and sum(epoch_seconds) > recipe.hang_guard_seconds
    if world > 1:
        flag = torch.tensor([float(over)])
        dist.broadcast(flag, src=0)
        over = bool(flag.item())
    return HANG_GUARD if over else None


@contextmanager
def torch_threads(threads: int | None) -> Iterator[None]:
    """Run with ``threads`` torch threads (None: leave them), restoring the count after."""
    saved = torch.get_num_threads()
    if threads:
        torch.set_num_threads(threads)
    try:
        yield
    finally:
        torch.set_num_threads(saved)


def train(cfg: TrainConfig) -> Path:
    """Train one model; write ``best.pt``, ``last.pt``, ``record.json`` and ``scores.csv``
    into ``cfg.out_dir`` and return that folder. Runs on the profile's fixed number of
    torch threads, so the same seed gives the same numbers on any number of cores."""
    with torch_threads(cfg.profile.threads_per_run):
        return _train(cfg)


def _train(cfg: TrainConfig) -> Path:
    recipe, device = cfg.recipe, check_device(cfg.device)
    rank, world = _distributed()
    main_process = rank == 0
    out = Path(cfg.out_dir)
    if main_process:
        out.mkdir(parents=True, exist_ok=True)
    spec = get_spec(cfg.model)
    variant = cfg.profile.variant(cfg.model)
    amp = device == "cuda"
    set_seed(cfg.seed)

    model = create_model(cfg.model, cfg.profile, Path(cfg.weights_dir) if cfg.weights_dir else None).to(device)
    raw_model = model
    manifest = read_manifest(cfg.manifest)
    source = manifest[manifest["domain"] == SOURCE]
    train_rows, val_rows = source[source["split"] == "train"], source[source["split"] == "val"]
    if raw_model.loss_kind == ANOMALY:  # one-class: trained on the real videos only
        train_rows = train_rows[train_rows["label"] == 0]
    train_split = MemorySplit.load(train_rows, cfg.cache_dir, spec, variant)
    val_split = MemorySplit.load(val_rows, cfg.cache_dir, spec, variant)
    epoch_size = len(train_split.epoch_items(0, recipe.train_frames_per_video))
    sampler = BlockSampler(epoch_size, recipe.batch_size, cfg.seed, rank, world)
    share = recipe.batch_size // world  # this process's rows of each global batch
    steps_per_epoch = len(sampler) // share

    if variant.channels_last:
        model = model.to(memory_format=torch.channels_last)
    if world > 1:
        model = DistributedDataParallel(model, find_unused_parameters=True)
    weights = class_weights(train_split.item_labels()).to(device) if raw_model.loss_kind == CROSS_ENTROPY else None
    scaler = torch.amp.GradScaler("cuda", enabled=amp)
    stages = (["warmup"] * recipe.warmup_epochs if spec.schedule == TWO_STAGE else []) + ["finetune"] * recipe.epochs
    history, best_auc, stale, start_epoch, stage, stop_reason = [], -1.0, 0, 0, None, None
    optimizer = scheduler = None

    def stage_optimizer(stage: str):
        return make_optimizer(raw_model, recipe, stage, stages.count(stage) * steps_per_epoch)

    last = out / "last.pt"
    if last.is_file():  # resume an interrupted run of the same configuration
        state = torch.load(last, map_location=device, weights_only=False)
        if state["config"] == asdict(cfg):
            raw_model.load_state_dict(state["model"])
            stage = state["stage"]
            set_stage(raw_model, stage)
            optimizer, scheduler = stage_optimizer(stage)
            optimizer.load_state_dict(state["optimizer"])
            scheduler.load_state_dict(state["scheduler"])
            scaler.load_state_dict(state["scaler"])
            history, best_auc, stale = state["history"], state["best_auc"], state["stale"]
            start_epoch, stop_reason = state["epoch"] + 1, state["stop_reason"]
            _set_rng_state(state["rng"])

    started = clock()
    raw_model.pre_fit((inputs for _, inputs in train_split.scoring_batches(SCORE_ROWS, variant.channels_last)),
                      dist.all_reduce if world > 1 else None)
    for epoch in range(start_epoch, len(stages) if stop_reason is None else 0):
        if stages[epoch] != stage:
            stage, stale = stages[epoch], 0
            set_stage(raw_model, stage)
            optimizer, scheduler = stage_optimizer(stage)
        sampler.set_epoch(epoch)
        generator = epoch_generator(cfg.seed, epoch)
        order = train_split.epoch_items(epoch, recipe.train_frames_per_video)[list(sampler)].tolist()
        train_mode(model, stage)
        tick, losses = clock(), []
        bar = tqdm(range(0, len(order), share), desc=f"{cfg.model} epoch {epoch + 1}/{len(stages)} ({stage})",
                   unit="batch", disable=not main_process)
        for start in bar:
            inputs, labels = train_split.training_batch(order[start : start + share], generator, variant.channels_last,
                                                        offset=rank * share, global_size=recipe.batch_size)
            inputs, labels = inputs.to(device), labels.to(device)
            with autocast(device, amp):
                outputs = model(inputs).float()
                if raw_model.loss_kind == ANOMALY:
                    loss, logged = one_class_loss(outputs, world)
                else:
                    loss, logged = weighted_loss(outputs, labels, weights, world)
            optimizer.zero_grad(set_to_none=True)
            scaler.scale(loss).backward()
            scaler.step(optimizer)
            scaler.update()
            if recipe.schedule == ONE_CYCLE:
                scheduler.step()
            losses.append(logged)
            bar.set_postfix(loss=f"{np.mean(losses):.3f}")
        fit_seconds = clock() - tick
        val_auc = video_auc(val_split.labels, predict(raw_model, val_split, device, amp))
        if recipe.schedule != ONE_CYCLE:
            scheduler.step(val_auc if np.isfinite(val_auc) else 0.0)
        improved = val_auc > best_auc
        counts = counts_towards_patience(epoch - stages.index(stage), stages.count(stage), recipe)
        best_auc, stale = (val_auc, 0) if improved else (best_auc, stale + counts)
        history.append({"epoch": epoch + 1, "stage": stage, "train_loss": float(np.mean(losses)) if losses else float("nan"),
                        "val_auc": val_auc, "lr": optimizer.param_groups[0]["lr"], "items": len(order) * world,
                        "fit_seconds": round(fit_seconds, 2), "seconds": round(clock() - tick, 2)})
        stop_reason = _stop_reason(epoch, stages, stage, stale, recipe, [h["seconds"] for h in history], world)
        if main_process:
            if improved:
                torch.save({"model": raw_model.state_dict(), "config": asdict(cfg), "epoch": epoch + 1,
                            "val_auc": val_auc}, out / "best.pt")
            torch.save({"model": raw_model.state_dict(), "optimizer": optimizer.state_dict(),
                        "scheduler": scheduler.state_dict(), "scaler": scaler.state_dict(),
                        "stage": stage, "epoch": epoch, "history": history, "best_auc": best_auc,
                        "stale": stale, "stop_reason": stop_reason, "config": asdict(cfg), "rng": _rng_state()}, last)
        if stop_reason is not None:
            break
    train_seconds = clock() - started

    if main_process:
        best = torch.load(out / "best.pt", map_location=device, weights_only=False)
        raw_model.load_state_dict(best["model"])
        tick = clock()
        scores = score_manifest(raw_model, manifest, cfg.cache_dir, spec, variant, model=cfg.model, seed=cfg.seed,
                                device=device, amp=amp)
        scores.to_csv(out / SCORES_FILE, index=False)
        record = {
            "run_format": RUN_FORMAT, "config": asdict(cfg), "profile": cfg.profile.name, "model": cfg.model,
            "arch": variant.arch, "view": spec.view,
            "input_kind": spec.input_kind, "input_size": variant.input_size, "frames": variant.frames,
            "pretrained": variant.pretrained, "card": spec.card, "schedule": spec.schedule,
            "recipe": asdict(recipe), "seed": cfg.seed, "device": device, "world_size": world,
            "flow": load_preprocessing_record(cfg.cache_dir)["flow"],  # the flow that made the cache it read
            "threads": torch.get_num_threads(),
            "git_commit": git("rev-parse", "HEAD") or "unknown",
            "versions": {"torch": torch.__version__, "python": platform.python_version()},
            "parameters": sum(p.numel() for p in raw_model.parameters()),
            "history": history, "best_epoch": best["epoch"], "best_val_auc": best["val_auc"],
            "stop_reason": stop_reason, "stop": STOP_REASONS[stop_reason], "complete": stop_reason != HANG_GUARD,
            "train_items": epoch_size, "train_seconds_this_session": round(train_seconds, 1),
            "train_seconds": round(sum(h["seconds"] for h in history), 1),
            "score_seconds": round(clock() - tick, 1),
        }
        write_record(out, record)
    if world > 1:
        dist.barrier()
    return out
