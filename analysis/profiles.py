"""Profiles: every setting of a run, in one frozen object per name.

``cpu`` is the default and runs the embedded benchmark on a laptop CPU; ``paper`` is the
seeds' recipe on FaceForensics++ C23 -> Celeb-DF v2 on CUDA; ``tiny`` exists for tests.
A :class:`Profile` owns its data source (and the benchmark's size), its preprocessing,
its models' sizes, its training recipe and seeds; the stages receive it as an object.
Any field can be changed for one run from the command line
(``python -m analysis run --profile cpu -o recipe.epochs=5``, see :func:`apply_overrides`),
and every run record stores the resolved profile.

The values of all profiles are in :data:`PROFILES` at the end of this module.
"""

from __future__ import annotations

import dataclasses
import json
import types
import typing
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field, replace

import yaml

from analysis.errors import UserInputError

BENCHMARK, REAL = "benchmark", "real"  # what a profile studies: the embedded benchmark or FF++/Celeb-DF
CPU, CUDA = "cpu", "cuda"
PLATEAU, ONE_CYCLE = "plateau", "one_cycle"  # learning-rate schedules of a recipe
RECIPE_PER_MODEL = ("lr", "head_lr", "weight_decay", "patience", "plateau_patience", "hang_guard_seconds", "epochs",
                    "batch_size", "grad_accumulation", "sampler", "select_by", "amp", "augment",
                    "aggregation")  # recipe fields a model may set
SHUFFLE, BALANCED = "shuffle", "balanced"  # training orders: a permutation, or class-balanced draws
AUC, ACCURACY, MACRO_F1 = "auc", "accuracy", "macro_f1"  # validation metrics that may select the checkpoint
CROP, FLIP, COLOUR = "crop", "flip", "colour"  # augmentations a recipe may apply (crop_datasets.augment)
# how a frame model makes one score per video: the mean of its frames' probabilities, or
# one head on the mean of its frames' backbone features (card 000's companion code v1)
MEAN_PROBABILITY, MEAN_FEATURES = "mean_probability", "mean_features"
# the ensembles' combiners (analysis.evaluation.ensembles.KINDS, which a test keeps equal)
COMBINERS = ("soft_vote", "rank_average", "auc_weighted", "stacking")


@dataclass(frozen=True)
class BenchmarkSize:
    """How many identity pairs of the embedded benchmark go to each source split and to
    each target subset, and the length of every video."""

    train_pairs: int
    val_pairs: int
    test_pairs: int
    target_pairs: int  # per target subset
    frames: int
    fps: int

    def pairs(self, subset) -> int:
        """Identity pairs of one benchmark subset: every source split's, or ``target_pairs``."""
        if subset.domain == "source":
            return self.train_pairs + self.val_pairs + self.test_pairs
        return self.target_pairs


@dataclass(frozen=True)
class DataSource:
    """What the study reads, and the embedded benchmark the book shows."""

    kind: str  # BENCHMARK: train and test on the embedded benchmark; REAL: FF++ -> Celeb-DF
    source_dataset: str  # training domain, as the book names it
    target_dataset: str  # cross-domain test set, touched once for reporting
    benchmark: BenchmarkSize  # the embedded benchmark (the benchmark chapter shows it for REAL too)
    seed: int = 0  # of the benchmark's generation and its identity split
    manifests: tuple[str, ...] = ()  # REAL: by `analysis index`; a relative name under data_manifests/, else the current folder


RAFT, FARNEBACK, AUTO_FLOW = "raft", "farneback", "auto"  # optical flow of the flow view


@dataclass(frozen=True)
class Preprocessing:
    """What the crop cache holds for every video."""

    frames_per_video: int  # sampled uniformly in time
    crop_size: int  # face crops for the 2-D models
    clip_crop_size: int  # face crops for the 3-D (R3D) models
    # frames of a second uniform sampling for the sequence model (card 003's 20, where the
    # frame and clip models read card 000's 16); None: it reads the frames_per_video crops
    sequence_frames: int | None = None
    # RAFT (its weights must be on disk, else the run stops), FARNEBACK (OpenCV), or
    # AUTO_FLOW: RAFT when its weights are on disk, else Farneback; the preprocessing
    # record and every run record say which ran
    flow: str = AUTO_FLOW
    # zlib-compress the cache entries: at the paper's sizes a quarter less disk (5.0 of 6.6 MB
    # a video) for a small share of a video's time; the cpu benchmark's crops compress by a
    # fifth (223 of 285 kB) at 7.5 ms a video of writing against 0.4 (2026-12-06), so its
    # small cache is stored as it is
    compress: bool = True

    def as_dict(self) -> dict:
        return asdict(self)


@dataclass(frozen=True)
class Recipe:
    """Schedule and optimiser settings shared by a profile's models."""

    warmup_epochs: int  # two-stage only: head-only epochs on a frozen backbone
    epochs: int  # fine-tune epochs (two-stage) or all epochs (single-stage, one-class)
    batch_size: int
    lr: float  # full-network learning rate
    head_lr: float  # warm-up learning rate of the head
    weight_decay: float
    patience: int  # epochs without a better validation AUC before stopping
    train_frames_per_video: int | None  # frames drawn per video and epoch (frame models); None: all
    # a guard against a hung run, never a budget: far above the time the epochs take on the
    # slowest machine; if it fires the run is recorded as incomplete (trainer.HANG_GUARD)
    hang_guard_seconds: float | None = None
    schedule: str = "plateau"  # PLATEAU (ReduceLROnPlateau, the cards) or ONE_CYCLE over all epochs
    # PLATEAU: epochs without a better validation AUC before the rate halves; at least the
    # stage's epochs keeps the rate constant (card 000's two-stage Adam)
    plateau_patience: int = 1
    # micro-batches per optimiser step: each process runs batch_size / (processes x this)
    # rows at a time and steps once, with the loss of the whole batch (a step that does not
    # fit a GPU's memory at once keeps the card's batch)
    grad_accumulation: int = 1
    # SHUFFLE: every item once per epoch; BALANCED: as many draws with replacement, each
    # class equally likely (card 000's companion code v1: WeightedRandomSampler)
    sampler: str = SHUFFLE
    # the video-level validation metric that selects the checkpoint and drives the plateau
    # schedule and early stopping: AUC (threshold-free), or ACCURACY / MACRO_F1 of the
    # video probability at 0.5 (v1's); the AUC is recorded either way
    select_by: str = AUC
    amp: bool = True  # mixed precision (fp16 autocast + GradScaler) when on CUDA
    augment: tuple[str, ...] = (CROP, FLIP)  # any of CROP, FLIP, COLOUR; () trains on the crops as they are
    # frame models: MEAN_PROBABILITY trains on single frames and averages the frames'
    # probabilities; MEAN_FEATURES trains on whole videos (every cached frame), the
    # frames' backbone features averaged before one head (models.spec_for)
    aggregation: str = MEAN_PROBABILITY
    # two-stage warm-up: the frozen backbone's BatchNorm layers keep their statistics (eval
    # mode); False: they update them in the warm-up's forward passes, as v1's model.train()
    warmup_frozen_batchnorm: bool = True

    @property
    def pools_features(self) -> bool:
        """Whether a frame model trains and scores whole videos (``aggregation: mean_features``)."""
        return self.aggregation == MEAN_FEATURES

    def __post_init__(self):
        for name, value, choices in (("sampler", self.sampler, (SHUFFLE, BALANCED)),
                                     ("select_by", self.select_by, (AUC, ACCURACY, MACRO_F1)),
                                     ("aggregation", self.aggregation, (MEAN_PROBABILITY, MEAN_FEATURES))):
            if value not in choices:
                raise UserInputError(f"recipe.{name}={value!r}: choose one of {list(choices)}.")
        unknown = set(self.augment) - {CROP, FLIP, COLOUR}
        if unknown:
            raise UserInputError(f"recipe.augment: unknown {sorted(unknown)}; choose from {[CROP, FLIP, COLOUR]}.")


@dataclass(frozen=True)
class ModelSettings:
    """How a profile builds and trains a model; ``None`` keeps the default.

    In :attr:`Profile.models` these are the defaults of every model; an entry of
    :attr:`Profile.per_model` changes only the fields it sets.
    """

    variant: str | None = None  # the registry variant: "paper" (the card's) or "cpu"
    input_size: int | None = None  # instead of the variant's input size
    width: float | None = None  # instead of the variant's stage-width multiplier (Variant.width)
    channels_last: bool | None = None  # instead of the variant's memory order (Variant.channels_last)
    max_frames: int | None = None  # at most this many frames per clip or sequence
    pretrained: bool | None = None  # False: random init (no weights needed)
    lr: float | None = None  # instead of the recipe's (a model card's own rate)
    head_lr: float | None = None  # instead of the recipe's
    weight_decay: float | None = None  # instead of the recipe's
    patience: int | None = None  # instead of the recipe's
    plateau_patience: int | None = None  # instead of the recipe's
    hang_guard_seconds: float | None = None  # instead of the recipe's
    epochs: int | None = None  # instead of the recipe's
    batch_size: int | None = None  # instead of the recipe's
    grad_accumulation: int | None = None  # instead of the recipe's
    sampler: str | None = None  # instead of the recipe's
    select_by: str | None = None  # instead of the recipe's
    amp: bool | None = None  # instead of the recipe's
    augment: tuple[str, ...] | None = None  # instead of the recipe's
    aggregation: str | None = None  # instead of the recipe's

    def merged(self, other: "ModelSettings") -> "ModelSettings":
        """These settings with every field ``other`` sets."""
        return replace(self, **{k: v for k, v in asdict(other).items() if v is not None})


@dataclass(frozen=True)
class Analysis:
    """Settings of the ``results`` stage, which computes every table of the book once
    (``-o analysis.n_resamples=200``); no training reads them."""

    n_resamples: int = 1000  # bootstrap resamples of every interval
    seed: int = 0  # of the bootstraps and permutations
    n_permutations: int = 1000  # permutations of the values under independence (diversity)
    max_fpr: float = 0.05  # the one-class conservative threshold: validation false positives at most this
    min_recall: float = 0.95  # the one-class sensitive threshold: validation recall at least this
    combiner: str = "soft_vote"  # whose subsets of card 000's five are compared with their diversity

    def __post_init__(self):
        if self.combiner not in COMBINERS:
            raise UserInputError(f"analysis.combiner={self.combiner!r}: choose one of {list(COMBINERS)}.")
        for name, least, kind in (("n_resamples", 1, "a positive"), ("n_permutations", 1, "a positive"),
                                  ("seed", 0, "a non-negative")):
            if getattr(self, name) < least:
                raise UserInputError(f"analysis.{name}={getattr(self, name)}: expected {kind} integer.")


@dataclass(frozen=True)
class Profile:
    """Every setting of one kind of run."""

    name: str
    description: str
    data: DataSource
    preprocessing: Preprocessing
    recipe: Recipe
    models: ModelSettings  # defaults of every model
    per_model: Mapping[str, ModelSettings] = field(default_factory=dict)
    train_models: tuple[str, ...] = ()  # the models a run trains; () = every registered model
    seeds: tuple[int, ...] = (0,)  # training seeds: one run per model and seed
    device: str = CPU  # CPU or CUDA; a CUDA profile on a machine without one stops
    # torch threads of one training run; runs go side by side, one per this many cores.
    # A fixed count makes the numbers the same on machines with other numbers of cores:
    # float sums split over threads round differently (DESIGN rule 7). None: torch's default.
    threads_per_run: int | None = 1
    analysis: Analysis = field(default_factory=Analysis)

    def as_dict(self) -> dict:
        return asdict(self)

    @property
    def studies_benchmark(self) -> bool:
        return self.data.kind == BENCHMARK

    def model_names(self) -> list[str]:
        """The models a run of this profile trains, in the registry's order."""
        from analysis.models import get_spec, list_models

        if not self.train_models:
            return list_models()
        return [get_spec(name).name for name in self.train_models]  # unknown names raise

    def model_settings(self, model: str) -> ModelSettings:
        return self.models.merged(self.per_model.get(model, ModelSettings()))

    def variant(self, model: str):
        """The registry variant of ``model`` with this profile's sizes applied."""
        from analysis.models import get_spec

        settings = self.model_settings(model)
        variant = get_spec(model).variant(settings.variant)
        changes = {}
        if settings.input_size is not None:
            changes["input_size"] = settings.input_size
        if settings.max_frames is not None:
            changes["frames"] = min(variant.frames, settings.max_frames)
        if settings.pretrained is not None:
            changes["pretrained"] = settings.pretrained
        if settings.width is not None:
            changes["width"] = settings.width
        if settings.channels_last is not None:
            changes["channels_last"] = settings.channels_last
        return replace(variant, **changes)

    def recipe_for(self, model: str) -> Recipe:
        """The recipe with the fields of :data:`RECIPE_PER_MODEL` that ``model`` sets."""
        settings = self.model_settings(model)
        changes = {k: getattr(settings, k) for k in RECIPE_PER_MODEL if getattr(settings, k) is not None}
        return replace(self.recipe, **changes)


def get_profile(name: str) -> Profile:
    """Look a profile up by name, with the list of choices on a typo."""
    try:
        return PROFILES[name]
    except KeyError:
        raise UserInputError(f"Unknown profile {name!r}; choose one of {sorted(PROFILES)}.") from None


def built_profile(name: str) -> Profile:
    """The profile as the last ``python -m analysis run`` resolved it, overrides included
    (``runs/<profile>/profile.json``), so that a page reports the settings its tables were
    built with; the named profile when it was never run here (runs copied from elsewhere)."""
    from analysis.paths import profile_file

    path = profile_file(name)
    return profile_from_dict(json.loads(path.read_text())) if path.is_file() else get_profile(name)


def as_profile(profile: str | Profile) -> Profile:
    """A profile object from an object or a name."""
    return profile if isinstance(profile, Profile) else get_profile(profile)


def resolve(name: str, overrides: list[str] | tuple[str, ...] = ()) -> Profile:
    """The named profile with ``key=value`` overrides applied."""
    return apply_overrides(get_profile(name), overrides)


def apply_overrides(profile: Profile, overrides: list[str] | tuple[str, ...]) -> Profile:
    """Change fields by dotted path: ``recipe.epochs=5``, ``models.pretrained=false``,
    ``per_model.vit_in21k.lr=1e-6``, ``seeds=[0,1,2]``, ``device=cpu``. Values are read as
    YAML and checked against the field's type."""
    for item in overrides:
        key, sep, text = item.partition("=")
        if not sep or not key:
            raise UserInputError(f"Override {item!r} is not of the form key=value, such as recipe.epochs=5.")
        profile = _set(profile, key.strip().split("."), yaml.safe_load(text), key.strip())
    return profile


def _set(node, path: list[str], value, full_key: str):
    if isinstance(node, Mapping):  # per_model: the key is a model name
        from analysis.models import get_spec

        name = get_spec(path[0]).name  # an unknown model raises with the choices
        entry = node.get(name, ModelSettings())
        if len(path) == 1:
            raise UserInputError(f"Override {full_key!r} needs a field, such as {full_key}.lr=1e-4.")
        return {**node, name: _set(entry, path[1:], value, full_key)}
    fields = {f.name: f for f in dataclasses.fields(node)}
    if path[0] not in fields:
        raise UserInputError(f"Unknown profile field {full_key!r}: {path[0]!r} is not one of {sorted(fields)}.")
    hints = typing.get_type_hints(type(node))
    if len(path) == 1:
        return replace(node, **{path[0]: _checked(value, hints[path[0]], full_key)})
    return replace(node, **{path[0]: _set(getattr(node, path[0]), path[1:], value, full_key)})


def _checked(value, hint, key: str):
    """``value`` converted to the field's type, or a UserInputError saying what was expected."""
    options = typing.get_args(hint) if isinstance(hint, types.UnionType) else (hint,)
    for option in options:
        if option is type(None) and value is None:
            return None
        origin = typing.get_origin(option)
        if origin is tuple and isinstance(value, (list, tuple)):
            return tuple(_checked(v, typing.get_args(option)[0], key) for v in value)
        if option is float and isinstance(value, (int, float)) and not isinstance(value, bool):
            return float(value)
        if option is float and isinstance(value, str):  # YAML reads 1e-6 (no dot) as text
            try:
                return float(value)
            except ValueError:
                pass
        if option in (int, str, bool) and type(value) is option:
            return value
    expected = " or ".join(getattr(o, "__name__", str(o)) for o in options)
    raise UserInputError(f"Override {key}={value!r}: expected {expected}, got {type(value).__name__}.")


DEFAULT_PROFILE = CPU  # what `make book` builds and `predict` reads when not told otherwise
_CPU_BENCHMARK = BenchmarkSize(train_pairs=150, val_pairs=40, test_pairs=100, target_pairs=84, frames=8, fps=8)

PROFILES = {
    "cpu": Profile(
        name="cpu",
        description="embedded synthetic benchmark, sized for a 2-core laptop CPU",
        # Data seed 1: the probes behind the generator's fixed-size synthesis and the R3D
        # stem read the test sets of seed 0, so the book reports a draw no decision has seen.
        data=DataSource(BENCHMARK, "synthetic source domain", "synthetic target domain", _CPU_BENCHMARK, seed=1),
        preprocessing=Preprocessing(frames_per_video=8, crop_size=64, clip_crop_size=64, compress=False),
        # From random init: no head warm-up (a frozen random backbone offers nothing), one-cycle
        # AdamW, two of the eight frames of each video per epoch. Each model trains a fixed
        # number of epochs, so the same seed gives the same run on any machine (DESIGN rule 7;
        # no clock decides a result, rule 15): the hang guard of an hour per run is about four
        # times the slowest run on the slowest 2-core machine seen (R3D-10's 8 epochs took
        # 848 s on one thread beside another run, 2026-12-02), and a run it stops is recorded
        # as incomplete. Patience 6:
        # the validation AUC of 240 videos moves by a few hundredths from epoch to epoch
        # while it climbs, so a shorter patience stops runs that are still learning.
        # EfficientNet at 1e-3: at 3e-3 EfficientNet-B0's loss rose from 0.7 to 5 in the first
        # epoch. The ViT-Tis have a convolutional stem and train at 2e-4: on the same crops,
        # with the stem, 1e-3 reached a validation AUC of 0.58 after one epoch and then fell
        # back to a loss of ln 2, while 2e-4 climbed to 0.676 in 12 epochs (81 s); without
        # the stem, no rate tried left ln 2 (2026-11-24). The R3D members are R3D-10 (one block per stage): on the
        # same clips, 12 epochs of it (154 s) reached a validation AUC of 0.575 where 4
        # epochs of R3D-18 (120 s) reached 0.547 (2026-11-24); 20 epochs of R3D-18 took
        # 463 s for 0.605, too long for the book. Their stem also reads the clip's change over
        # time (networks.TemporalResidualStem): 12 epochs on frames alone ended at a training loss
        # of 0.68 and a jitter_swap test AUC of 0.52; with the change stacked in, 0.60 and
        # 0.95 (2026-11-24); 20 epochs instead of 12 reached a validation AUC of 0.723
        # against 0.728 (data seed 1, 2026-11-24). The ResNeXt + LSTM reads the change too,
        # trains its LSTM at a tenth of the rate and has as many epochs as the R3Ds (same
        # clips): for 5 to 15 epochs at the full rate, on frames or with the change, its
        # training loss stayed at ln 2 and its validation AUC at 0.47-0.57; averaging
        # features over time with a linear head learned (0.68 after 8 epochs), so the LSTM
        # was what did not train. With all three, 12 epochs reached a validation AUC of 0.725
        # (data seed 1, 2026-11-24). Training identities: every model's validation curve
        # flattened while its training loss kept falling (resnet18: best 0.88 at epoch 18
        # of 22, 0.85 at the end), so the benchmark has 150 training pairs, not 100, and each
        # model two thirds of its epochs: the same optimiser steps, more identities. On
        # validation (data seed 1, 2026-11-24): resnet18 0.878 at its last epoch (113 s)
        # against 0.854 (128 s), r3d18 0.739 (136 s) against 0.728 (149 s).
        recipe=Recipe(warmup_epochs=0, epochs=15, batch_size=64, lr=3e-3, head_lr=3e-3, weight_decay=0.05,
                      patience=6, train_frames_per_video=2, hang_guard_seconds=3600.0, schedule=ONE_CYCLE),
        models=ModelSettings(variant="cpu"),
        per_model={
            # EfficientNet-B0 and the ViT-Tis run at half width (models.zoo.HALF) with more
            # epochs: over training seeds 0-2 the best validation AUC was, at half width,
            # 0.722, 0.735 and 0.692 with today's 15, 8 and 8 epochs against 0.746, 0.752
            # and 0.717 at full width, and 0.747, 0.765 and 0.724 with 20, 12 and 12, in 60 %,
            # 49 % and 48 % of the full width's time (benchmarks/recipe_candidates_2026-12-06.csv)
            "efficientnet_b4": ModelSettings(lr=1e-3, epochs=20),
            "vit_b16": ModelSettings(lr=2e-4, epochs=12),
            "vit_in21k": ModelSettings(lr=2e-4, epochs=12),
            "r3d18": ModelSettings(epochs=8, batch_size=16),
            # 12 epochs, not the RGB R3D's 8: at half width (models.zoo.HALF) over training
            # seeds 0-2, 8 epochs reached a best validation AUC of 0.597 (0.579-0.622) against
            # 0.608 (0.585-0.625) at full width, and 12 reached 0.678 (0.649-0.706), in 44 % of
            # the full width's time (benchmarks/recipe_candidates_2026-12-06.csv)
            "r3d18_flow": ModelSettings(epochs=12, batch_size=16),
            # channels-last memory order, 104-107 s a run instead of 134: over training seeds
            # 0-2 its best validation AUC was 0.744 (0.703-0.767) against 0.730 (0.698-0.757)
            # (benchmarks/recipe_candidates_2026-12-06.csv); the other models stay channels-first,
            # where the same order lost up to 0.040
            "resnext50_lstm": ModelSettings(epochs=8, batch_size=16, channels_last=True),
            "deep_svdd": ModelSettings(epochs=7),
            "autoencoder": ModelSettings(epochs=7),
        },
    ),
    "paper": Profile(
        name="paper",
        description="the seeds' recipe on the real datasets, on a CUDA GPU",
        data=DataSource(REAL, "FaceForensics++ C23", "Celeb-DF v2 (official 518-video test list)",
                        _CPU_BENCHMARK, manifests=("ffpp_c23.csv", "celebdf_v2.csv")),
        # card 000: 16 frames per video (np.linspace over the whole video) for the frame and
        # clip models; card 003: 20 for ResNeXt50 + LSTM, sampled on their own so both are
        # evenly spaced. RAFT flow, as card 000's R3D-18+RAFT: no silent fallback.
        preprocessing=Preprocessing(frames_per_video=16, crop_size=224, clip_crop_size=112, sequence_frames=20,
                                    flow=RAFT),
        # Card 000's numbers come from its companion code at commit 4b477d3 ("v1"), read
        # there (configs/experiments.py, src/training.py, src/datasets.py, notebooks/04 and
        # 05): two-stage models 3 head-only epochs at 1e-3 (ViT 5e-4) and 10 full at 1e-4
        # (ViT 5e-5), plain Adam at a constant rate, batch 8, every epoch run and the best
        # validation accuracy kept, fp16 on CUDA, class weights and a class-balanced
        # WeightedRandomSampler, a horizontal flip (and at 224 px a colour jitter);
        # ResNet-18 single-stage, AdamW at 1e-4 with weight decay 1e-4, 15 epochs, the rate
        # halved after 3 epochs without a better validation macro-F1 and the best macro-F1
        # kept, batch 16, plain shuffle, no AMP, no augmentation. The warm-up runs the model in
        # training mode, so BatchNorm statistics move while the backbone's weights stay. Its three frame models
        # (ResNet-18, EfficientNet-B4, ViT-B/16) read a video's 16 frames as one item, mean-pool
        # their backbone features and put one head (dropout, linear) on the pool: batches
        # are of videos, and so is every score. Here: Adam is AdamW without
        # weight decay, a constant rate a plateau patience longer than the stage, "every
        # epoch run" an early-stopping patience as long as the stage. What the profile does
        # not match is in the training chapter's recipe table (analysis.training.card_recipe).
        recipe=Recipe(warmup_epochs=3, epochs=10, batch_size=32, lr=1e-4, head_lr=1e-3, weight_decay=1e-4,
                      patience=3, train_frames_per_video=None, warmup_frozen_batchnorm=False),
        models=ModelSettings(variant="paper"),
        per_model={
            "resnet18": ModelSettings(epochs=15, batch_size=16, patience=15, plateau_patience=3,
                                      select_by=MACRO_F1, amp=False, augment=(), aggregation=MEAN_FEATURES),
            **{name: ModelSettings(batch_size=8, weight_decay=0.0, patience=10, plateau_patience=10,
                                   sampler=BALANCED, select_by=ACCURACY, augment=(FLIP,))
               for name in ("r3d18", "r3d18_flow")},
            "efficientnet_b4": ModelSettings(batch_size=8, weight_decay=0.0, patience=10, plateau_patience=10,
                                             sampler=BALANCED, select_by=ACCURACY, augment=(FLIP, COLOUR),
                                             aggregation=MEAN_FEATURES, grad_accumulation=2),
            "vit_b16": ModelSettings(lr=5e-5, head_lr=5e-4, batch_size=8, weight_decay=0.0, patience=10,
                                     plateau_patience=10, sampler=BALANCED, select_by=ACCURACY,
                                     augment=(FLIP, COLOUR), aggregation=MEAN_FEATURES),
            # card 002: AdamW at 1e-6 for 100 epochs, batch 32 (the Trainer's default weight
            # decay, 0); it names no early stopping, so every epoch runs
            "vit_in21k": ModelSettings(lr=1e-6, epochs=100, weight_decay=0.0, patience=100),
            # every model keeps its card's batch per step; the ResNeXt + LSTM's 32 x 20 frames
            # keep about 67 GiB of activations, so it steps in 4 micro-batches of 8 (about
            # 18 GiB, within a 24 GiB card); EfficientNet-B4's 8 pooled videos of 16 frames
            # about 27 GiB (fp32, an upper bound under fp16), so 2 micro-batches of 4 videos;
            # the others fit at once (measured on the CPU, book/stored/paper_memory.csv,
            # analysis.training.gpu_memory, 2026-12-02; the pooled models 2026-12-03)
            "resnext50_lstm": ModelSettings(grad_accumulation=4),
        },
        device=CUDA,
        threads_per_run=None,
    ),
    "tiny": Profile(
        name="tiny",
        description="a few seconds of work, for tests",
        data=DataSource(BENCHMARK, "synthetic source domain", "synthetic target domain",
                        BenchmarkSize(train_pairs=4, val_pairs=2, test_pairs=2, target_pairs=1, frames=6, fps=6)),
        preprocessing=Preprocessing(frames_per_video=4, crop_size=48, clip_crop_size=32),
        recipe=Recipe(warmup_epochs=1, epochs=1, batch_size=8, lr=1e-3, head_lr=3e-3, weight_decay=1e-4,
                      patience=1, train_frames_per_video=2),
        models=ModelSettings(variant="cpu", input_size=32, max_frames=4),  # every cpu variant, shrunk
    ),
}


def profile_from_dict(data: dict) -> Profile:
    """The profile a run record stored (``Profile.as_dict``), as an object again."""
    source = data["data"]
    return Profile(
        name=data["name"], description=data["description"],
        data=DataSource(**{**source, "benchmark": BenchmarkSize(**source["benchmark"]),
                           "manifests": tuple(source["manifests"])}),
        preprocessing=Preprocessing(**data["preprocessing"]), recipe=Recipe(**_tuples(data["recipe"])),
        models=ModelSettings(**_tuples(data["models"])),
        per_model={name: ModelSettings(**_tuples(settings)) for name, settings in data["per_model"].items()},
        train_models=tuple(data["train_models"]), seeds=tuple(data["seeds"]), device=data["device"],
        threads_per_run=data.get("threads_per_run"), analysis=Analysis(**data.get("analysis", {})),
    )


def _tuples(fields: dict) -> dict:
    """A stored dataclass's fields with JSON's lists read back as the tuples they were."""
    return {k: tuple(v) if isinstance(v, list) else v for k, v in fields.items()}
