"""One trainer for every detector of the registry, read top to bottom.

Recipes (model card 000): ``two_stage`` warms up the new head on a frozen backbone whose
BatchNorm layers stay in eval mode (or update their statistics, as v1's did:
``Recipe.warmup_frozen_batchnorm``), then fine-tunes everything; ``single_stage`` trains
everything with AdamW and ReduceLROnPlateau. Both use class-weighted cross-entropy
``w_c = N / (2 N_c)``. ``one_class`` (model card 001) trains an anomaly scorer on the real
training videos only and minimises its mean anomaly score, with AdamW like single-stage.
All recipes use mixed precision on CUDA unless ``Recipe.amp`` is off, and select the
checkpoint and stop early on a **video-level metric of the training domain's validation
split only** (DESIGN rule 2): the AUC, or the accuracy or macro-F1 a recipe's
``select_by`` names. Training order: a seeded shuffle per epoch, or class-balanced draws
(``Recipe.sampler``). A frame model whose recipe pools (``Recipe.aggregation``) trains on
whole videos and is scored once per video (:func:`analysis.models.spec_for`).
The last epoch's state is saved after every epoch, so an interrupted run resumes where it
stopped and, with the same seed, ends with the same numbers.

Batches: ``Recipe.batch_size`` is the batch of one optimiser step (the card's); a model
whose step does not fit its GPU at once sets ``grad_accumulation``: each process then runs
its rows of the step in that many micro-batches and steps once, with the same loss.

Distributed: under ``torchrun`` every rank runs on its own device, trains on its slice of
each global batch, and DistributedDataParallel averages the gradients; validation and
scoring are sharded over the ranks and gathered; every decision comes from rank 0
(:mod:`analysis.training.distributed`), and only rank 0 writes.
"""

from __future__ import annotations

import platform
import random
import time
from collections.abc import Iterator
from contextlib import contextmanager, nullcontext
from dataclasses import asdict, dataclass
from functools import partial
from pathlib import Path

import numpy as np
import torch
import torch.distributed as dist
from sklearn.metrics import accuracy_score, f1_score, roc_auc_score
from torch import nn
from torch.nn.parallel import DistributedDataParallel
from torch.utils.data import Sampler
from tqdm import tqdm

from analysis.evaluation.scores_table import SOURCE
from analysis.preprocess.exclusions import usable_videos
from analysis.training import distributed
from analysis.training.crop_datasets import StreamedSplit, channels_last_format, epoch_generator
from analysis.training.distributed import Context
from analysis.training.run_record import BEST_CHECKPOINT, LAST_CHECKPOINT, RUN_FORMAT, SCORES_FILE, git, write_record
from analysis.training.scoring import VideoScores, autocast, predict, score_manifest
from analysis.data.manifest import read_manifest, video_keys
from analysis.preprocess.pipeline import load_record as load_preprocessing_record
from analysis.models import create_model, item_frames, spec_for
from analysis.models.base import ANOMALY, CROSS_ENTROPY, DetectorModel
from analysis.models.registry import TWO_STAGE
from analysis.errors import UserInputError
from analysis.profiles import ACCURACY, AUC, BALANCED, CUDA, MACRO_F1, ONE_CYCLE, Profile, Recipe

ONE_CYCLE_WARMUP = 0.2  # share of the one-cycle schedule spent raising the learning rate
PRE_FIT_ROWS = 256  # frames per batch of a one-class model's pass before training: fixed, as its sums round by batch
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

    def epoch_order(self) -> torch.Tensor:
        """The global order of this epoch's items, the same in every process."""
        return torch.randperm(self.n, generator=torch.Generator().manual_seed(self.seed * 1000 + self.epoch))

    def __iter__(self):
        order = self.epoch_order()
        share = self.batch // self.world
        for start in range(0, self.n - self.batch + 1, self.batch):  # drop the last partial batch
            yield from order[start + self.rank * share : start + (self.rank + 1) * share].tolist()

    def __len__(self) -> int:
        return (self.n // self.batch) * (self.batch // self.world)


class BalancedBlockSampler(BlockSampler):
    """A :class:`BlockSampler` whose epoch draws ``n`` items with replacement, each with a
    probability proportional to ``1 / N_c`` of its class ``c``, so both classes are drawn
    equally often on average (card 000's companion code v1, WeightedRandomSampler); the
    draws are seeded by the run's seed and the epoch, and cut into ranks' slices alike."""

    def __init__(self, labels: np.ndarray, batch_size: int, seed: int, rank: int = 0, world: int = 1):
        super().__init__(len(labels), batch_size, seed, rank, world)
        counts = np.bincount(labels)
        self.weights = torch.as_tensor(1.0 / counts[labels], dtype=torch.double)

    def epoch_order(self) -> torch.Tensor:
        generator = torch.Generator().manual_seed(self.seed * 1000 + self.epoch)
        return torch.multinomial(self.weights, self.n, replacement=True, generator=generator)


def make_sampler(recipe: Recipe, labels: np.ndarray, seed: int, rank: int = 0, world: int = 1) -> BlockSampler:
    """The recipe's training order over items with ``labels`` (one epoch's items)."""
    if recipe.sampler == BALANCED:
        return BalancedBlockSampler(labels, recipe.batch_size, seed, rank, world)
    return BlockSampler(len(labels), recipe.batch_size, seed, rank, world)


def uses_amp(device: str, recipe: Recipe) -> bool:
    """Mixed precision: on a CUDA device, unless the recipe turns it off (v1's ResNet-18)."""
    return torch.device(device).type == CUDA and recipe.amp


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


def weighted_loss(logits: torch.Tensor, labels: torch.Tensor, weights: torch.Tensor, world: int,
                  step_weight: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """Class-weighted cross-entropy of a (micro-)batch, normalised by ``step_weight``, the
    summed class weight of the whole optimiser step over every process and micro-batch
    (default: this batch's own, for one process without accumulation).

    DDP averages the gradients of ``world`` processes and accumulation sums those of the
    micro-batches; scaling by ``world / step_weight`` makes the result the single
    process's weighted mean over the step. Returns the loss to back-propagate and the
    batch's detached weighted sum (logged as ``sum over the step / step_weight``).
    """
    item_weights = weights[labels]
    per_sample = nn.functional.cross_entropy(logits, labels, reduction="none") * item_weights
    if step_weight is None:
        step_weight = item_weights.sum()
    return per_sample.sum() * world / step_weight, per_sample.sum().detach()


def one_class_loss(scores: torch.Tensor, accumulation: int = 1) -> tuple[torch.Tensor, torch.Tensor]:
    """Mean anomaly score of a micro-batch of reals, over the ``accumulation`` equal
    micro-batches of a step. Every rank holds an equal slice, so DDP's gradient average
    equals the single process's. Returns the loss and its detached value."""
    loss = scores.mean() / accumulation
    return loss, loss.detach()


def set_stage(model: DetectorModel, stage: str) -> None:
    """Freeze all but the model's head for ``warmup``; unfreeze everything for ``finetune``."""
    trainable = {id(p) for p in model.head_parameters()} if stage == "warmup" else None
    for p in model.parameters():
        p.requires_grad_(trainable is None or id(p) in trainable)


def train_mode(model: nn.Module, stage: str, frozen_batchnorm: bool = True) -> None:
    """``model.train()``, but in the warm-up a frozen backbone keeps its BatchNorm
    statistics fixed unless ``frozen_batchnorm`` is off (``Recipe.warmup_frozen_batchnorm``)."""
    model.train()
    if stage == "warmup" and frozen_batchnorm:
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


def video_auc(labels: np.ndarray, scores: np.ndarray) -> float:
    return float(roc_auc_score(labels, scores)) if len(set(labels)) == 2 else float("nan")


def validation_scores(labels: np.ndarray, scores: np.ndarray, select_by: str) -> tuple[float, float]:
    """The video-level AUC of the videos' ``scores`` and the metric ``select_by`` names
    (the AUC itself, or the accuracy or macro-F1 of the videos called fake above 0.5, as
    the argmax of v1's two logits)."""
    auc = video_auc(labels, scores)
    if select_by == AUC:
        return auc, auc
    called = np.asarray(scores) > 0.5
    if select_by == ACCURACY:
        return auc, float(accuracy_score(labels, called))
    if select_by == MACRO_F1:
        return auc, float(f1_score(labels, called, average="macro", zero_division=0))
    raise ValueError(f"unknown validation metric {select_by!r}")


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


def hung(recipe: Recipe, epoch_seconds: list[float]) -> bool:
    """Whether the run has taken longer than ``recipe.hang_guard_seconds``, far above its
    expected time (DESIGN rule 15: a guard, never a budget)."""
    return recipe.hang_guard_seconds is not None and sum(epoch_seconds) > recipe.hang_guard_seconds


def _stop_reason(epoch: int, stages: list[str], stage: str, stale: int, recipe: Recipe, over: bool) -> str | None:
    """Why training stops after this epoch (a key of ``STOP_REASONS``), or None to go on.

    Only validation and the recipe's epochs decide (DESIGN rule 15); ``over`` (rank 0's
    :func:`hung`, shared) ends a hung run, and the run record then says it is incomplete.
    """
    if stage == "finetune" and stale >= recipe.patience:
        return "no_improvement"
    if epoch == len(stages) - 1:
        return "max_epochs"
    return HANG_GUARD if over else None


def validation_metrics(model: DetectorModel, val_split: StreamedSplit, val_labels: np.ndarray, ctx: Context,
                       amp: bool, batch: int, select_by: str = AUC) -> tuple[float, float, list[VideoScores]]:
    """The epoch's video-level validation AUC and the metric that selects checkpoints
    (:func:`validation_scores`), decided once: each rank scores its shard of the
    validation videos (``val_split``), rank 0 computes both over all of them
    (``val_labels``, in manifest order) and every rank receives them, so the plateau step,
    early stopping and the best checkpoint cannot differ between ranks. Also every
    validation video's scores, on every rank, in manifest order: the best epoch's are its
    checkpoint's, so the final scores table reuses them. ``batch``: items per forward pass
    (:func:`analysis.training.scoring.predict`)."""
    scored = distributed.gather(predict(model, val_split, ctx.device, amp, batch), ctx)
    scores = np.array([video.video for video in scored])
    auc, score = validation_scores(val_labels, scores, select_by) if ctx.main else (0.0, 0.0)
    shared = distributed.share([auc, score], ctx)
    return float(shared[0]), float(shared[1]), scored


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


def micro_batch(recipe: Recipe, world: int) -> int:
    """Rows of one forward and backward pass in each process: the step's
    ``recipe.batch_size`` split over ``world`` processes and ``recipe.grad_accumulation``
    micro-batches."""
    parts = world * recipe.grad_accumulation
    if recipe.grad_accumulation < 1 or recipe.batch_size % parts:
        raise UserInputError(
            f"batch size {recipe.batch_size} must split evenly over {world} process(es) x "
            f"{recipe.grad_accumulation} micro-batch(es); change recipe.batch_size, grad_accumulation or --nproc."
        )
    return recipe.batch_size // parts


def _train(cfg: TrainConfig) -> Path:
    recipe = cfg.recipe
    ctx = distributed.setup(check_device(cfg.device))
    device, rank, world, main_process = ctx.device, ctx.rank, ctx.world, ctx.main
    out = Path(cfg.out_dir)
    if main_process:
        out.mkdir(parents=True, exist_ok=True)
    spec = spec_for(cfg.model, cfg.profile)  # a frame model that pools reads whole videos
    variant = cfg.profile.variant(cfg.model)
    amp = uses_amp(device, recipe)
    set_seed(cfg.seed)

    model = create_model(cfg.model, cfg.profile, Path(cfg.weights_dir) if cfg.weights_dir else None).to(device)
    raw_model = model
    manifest = read_manifest(cfg.manifest)
    source = manifest[manifest["domain"] == SOURCE]
    train_rows, val_rows = source[source["split"] == "train"], source[source["split"] == "val"]
    if train_rows.empty or val_rows.empty:
        lacking = " and ".join(split for split, rows in (("train", train_rows), ("val", val_rows)) if rows.empty)
        raise UserInputError(f"{cfg.manifest} holds no {lacking} video of the source domain, which training "
                             "reads: pass the source dataset's manifest (FaceForensics++), or the study's.")
    if raw_model.loss_kind == ANOMALY:  # one-class: trained on the real videos only
        train_rows = train_rows[train_rows["label"] == 0]
        if recipe.select_by != AUC:
            raise UserInputError(f"{cfg.model} scores anomalies, not probabilities: select it by auc, not "
                                 f"{recipe.select_by}.")
    val_rows = usable_videos(val_rows, cfg.cache_dir)  # shards and labels of the videos validation reads
    train_split = StreamedSplit.load(train_rows, cfg.cache_dir, spec, variant)
    val_split = StreamedSplit.load(distributed.shard(val_rows, ctx), cfg.cache_dir, spec, variant)
    val_labels = val_rows["label"].astype(int).to_numpy()
    epoch_size = len(train_split.epoch_items(0, recipe.train_frames_per_video))
    micro = micro_batch(recipe, world)
    sampler = make_sampler(recipe, train_split.item_labels()[train_split.epoch_items(0, recipe.train_frames_per_video)],
                           cfg.seed, rank, world)
    share = recipe.batch_size // world  # this process's rows of each global batch
    steps_per_epoch = len(sampler) // share

    if variant.channels_last:
        model = model.to(memory_format=channels_last_format(spec))
    if world > 1:
        on_gpu = torch.device(device).type == CUDA
        model = DistributedDataParallel(model, device_ids=[torch.device(device).index] if on_gpu else None,
                                        find_unused_parameters=True)
    weights = class_weights(train_split.item_labels()).to(device) if raw_model.loss_kind == CROSS_ENTROPY else None
    scaler = torch.amp.GradScaler("cuda", enabled=amp)
    stages = (["warmup"] * recipe.warmup_epochs if spec.schedule == TWO_STAGE else []) + ["finetune"] * recipe.epochs
    history, best_score, stale, start_epoch, stage, stop_reason = [], -1.0, 0, 0, None, None
    best_val_scores = None  # the best checkpoint's validation scores, when this session scored them
    optimizer = scheduler = None

    def stage_optimizer(stage: str):
        return make_optimizer(raw_model, recipe, stage, stages.count(stage) * steps_per_epoch)

    last = out / LAST_CHECKPOINT
    # resume an interrupted run of the same configuration: rank 0 reads its checkpoint, every rank gets it
    state = torch.load(last, map_location=device if world == 1 else "cpu", weights_only=False) \
        if main_process and last.is_file() else None
    state = distributed.share_object(state, ctx)
    if state is not None and state["config"] == asdict(cfg):
        raw_model.load_state_dict(state["model"])
        stage = state["stage"]
        set_stage(raw_model, stage)
        optimizer, scheduler = stage_optimizer(stage)
        optimizer.load_state_dict(state["optimizer"])
        scheduler.load_state_dict(state["scheduler"])
        scaler.load_state_dict(state["scaler"])
        history, best_score, stale = state["history"], state["best_score"], state["stale"]
        start_epoch, stop_reason = state["epoch"] + 1, state["stop_reason"]
        _set_rng_state(state["rng"])
    del state

    started = clock()
    pre_fit_batches = train_split.scoring_batches(PRE_FIT_ROWS, variant.channels_last)
    raw_model.pre_fit((inputs for i, (_, inputs) in enumerate(pre_fit_batches) if i % world == rank),
                      partial(distributed.sum_over_ranks, ctx=ctx) if ctx.distributed else None)
    for epoch in range(start_epoch, len(stages) if stop_reason is None else 0):
        if stages[epoch] != stage:
            stage, stale = stages[epoch], 0
            set_stage(raw_model, stage)
            optimizer, scheduler = stage_optimizer(stage)
        sampler.set_epoch(epoch)
        generator = epoch_generator(cfg.seed, epoch)
        order = train_split.epoch_items(epoch, recipe.train_frames_per_video)[list(sampler)]  # int64, not a list
        train_mode(model, stage, recipe.warmup_frozen_batchnorm)
        tick, losses = clock(), []
        bar = tqdm(range(0, len(order), share), desc=f"{cfg.model} epoch {epoch + 1}/{len(stages)} ({stage})",
                   unit="batch", **({} if main_process else {"disable": True}))  # TQDM_DISABLE silences rank 0
        for start in bar:
            inputs, labels = train_split.training_batch(order[start : start + share], generator, variant.channels_last,
                                                        offset=rank * share, global_size=recipe.batch_size,
                                                        parts=recipe.augment)
            inputs, labels = inputs.to(device), labels.to(device)
            optimizer.zero_grad(set_to_none=True)
            if raw_model.loss_kind == CROSS_ENTROPY:  # the class weight of the whole step, over every rank
                step_weight = distributed.sum_over_ranks(weights[labels].sum(), ctx)
            step_loss = torch.zeros((), device=device)
            parts = list(zip(inputs.split(micro), labels.split(micro)))
            for part, (part_inputs, part_labels) in enumerate(parts):
                # DDP averages gradients once per step, after the last micro-batch
                sync = world == 1 or part == len(parts) - 1
                with nullcontext() if sync else model.no_sync():
                    with autocast(device, amp):
                        outputs = model(part_inputs).float()
                        if raw_model.loss_kind == ANOMALY:
                            loss, value = one_class_loss(outputs, recipe.grad_accumulation)
                        else:
                            loss, value = weighted_loss(outputs, part_labels, weights, world, step_weight)
                    scaler.scale(loss).backward()
                step_loss += value
            scaler.step(optimizer)
            scaler.update()
            if recipe.schedule == ONE_CYCLE:
                scheduler.step()
            step_loss = distributed.sum_over_ranks(step_loss, ctx)
            losses.append(float(step_loss / step_weight) if raw_model.loss_kind == CROSS_ENTROPY
                          else float(step_loss) / world)
            bar.set_postfix(loss=f"{np.mean(losses):.3f}")
        fit_seconds = clock() - tick
        val_auc, val_score, val_scores = validation_metrics(raw_model, val_split, val_labels, ctx, amp, micro,
                                                            recipe.select_by)
        if recipe.schedule != ONE_CYCLE:
            scheduler.step(val_score if np.isfinite(val_score) else 0.0)
        improved = val_score > best_score
        counts = counts_towards_patience(epoch - stages.index(stage), stages.count(stage), recipe)
        best_score, stale = (val_score, 0) if improved else (best_score, stale + counts)
        best_val_scores = val_scores if improved else best_val_scores
        history.append({"epoch": epoch + 1, "stage": stage, "train_loss": float(np.mean(losses)) if losses else float("nan"),
                        "val_auc": val_auc, **({f"val_{recipe.select_by}": val_score} if recipe.select_by != AUC else {}),
                        "lr": optimizer.param_groups[0]["lr"], "items": len(order) * world,
                        "fit_seconds": round(fit_seconds, 2), "seconds": round(clock() - tick, 2)})
        over = distributed.share([hung(recipe, [h["seconds"] for h in history])], ctx)[0] > 0  # rank 0's clock
        stop_reason = _stop_reason(epoch, stages, stage, stale, recipe, over)
        if main_process:
            if improved:
                torch.save({"model": raw_model.state_dict(), "config": asdict(cfg), "epoch": epoch + 1,
                            "val_auc": val_auc}, out / BEST_CHECKPOINT)
            torch.save({"model": raw_model.state_dict(), "optimizer": optimizer.state_dict(),
                        "scheduler": scheduler.state_dict(), "scaler": scaler.state_dict(),
                        "stage": stage, "epoch": epoch, "history": history, "best_score": best_score,
                        "stale": stale, "stop_reason": stop_reason, "config": asdict(cfg), "rng": _rng_state()}, last)
        if stop_reason is not None:
            break
    train_seconds = clock() - started

    # every rank scores its shard of the evaluation videos with rank 0's best checkpoint
    best = torch.load(out / BEST_CHECKPOINT, map_location=device if world == 1 else "cpu", weights_only=False) \
        if main_process else None
    best = distributed.share_object(best, ctx)
    raw_model.load_state_dict(best["model"])
    tick = clock()
    # the validation videos keep the scores the best epoch gave them (in eval mode a video's
    # scores do not depend on the batch it is in); a resumed run that has not improved since
    # scores them again
    scored = None if best_val_scores is None else dict(zip(video_keys(val_rows), best_val_scores))
    scores = score_manifest(raw_model, manifest, cfg.cache_dir, spec, variant, model=cfg.model, seed=cfg.seed,
                            device=device, batch=micro, amp=amp, ctx=ctx, scored=scored)
    if main_process:
        scores.to_csv(out / SCORES_FILE, index=False)
        record = {
            "run_format": RUN_FORMAT, "config": asdict(cfg), "profile": cfg.profile.name, "model": cfg.model,
            "arch": variant.arch, "view": spec.view,
            "input_kind": spec.input_kind, "input_size": variant.input_size,
            "frames": item_frames(spec, variant, cfg.profile),
            "pretrained": variant.pretrained, "card": spec.card, "schedule": spec.schedule,
            "recipe": asdict(recipe), "seed": cfg.seed, "device": cfg.device, "world_size": world,
            "micro_batch": micro,
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
