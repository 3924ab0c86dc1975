"""The plan of a run before the work: ``python -m analysis run --profile paper --dry-run``.

It reads the study manifest (or, for a real-data profile before its data stage, the
indexed manifests it will combine) and prints the videos per split, the stages with what
each would do, the crop cache's estimated disk, and the estimated hours of each stage on
one device, from the cost table :data:`COSTS_FILE`: per model, samples per second of a
forward pass and of a training step (forward, backward, AdamW) at the profile's sizes,
and seconds per video of preprocessing, each row with the device and the source of its
figure (``benchmarks/model_costs.py`` measures them). Where the table has no row for the
run's device, the estimate uses the rows it has and says so. Nothing is written.

The training hours are an upper bound: every scheduled epoch, at the fine-tuning cost
(early stopping and the frozen backbone of a warm-up epoch only shorten it).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from analysis.data.manifest import read_manifest
from analysis.errors import UserInputError
from analysis.paths import PROJECT_ROOT, benchmark_dir, cache_dir, run_folder
from analysis.profiles import Profile

COSTS_FILE = PROJECT_ROOT / "benchmarks" / "model_costs.csv"
PREPROCESS_ROW = "preprocess"  # the cost table's row of preprocessing (videos per second, forward column)
# share of the uncompressed bytes a cache entry takes on disk: crops of a photograph at the
# paper sizes, 5.02 of 6.59 MB (benchmarks/cache_size.py, 2026-12-03); rendered faces take less
STORED_SHARE = 0.76
BYTES_PER_GB = 1e9


@dataclass(frozen=True)
class Cost:
    """One row of the cost table."""

    forward: float  # samples per second, scoring and validation
    train: float  # samples per second, forward + backward + optimiser step
    device: str
    source: str


def read_costs(path: Path = COSTS_FILE) -> pd.DataFrame:
    """The cost table: one row per (name, profile, device)."""
    if not Path(path).is_file():
        raise UserInputError(f"No cost table at {path}; measure one with `python benchmarks/model_costs.py`.")
    return pd.read_csv(path)


def cost(costs: pd.DataFrame, name: str, profile: str, device: str) -> Cost | None:
    """The row of ``name`` at ``profile``'s sizes on ``device``, else on any device, else None."""
    rows = costs[(costs["name"] == name) & (costs["profile"] == profile)]
    if rows.empty:
        return None
    row = rows[rows["device"] == device].iloc[0] if (rows["device"] == device).any() else rows.iloc[0]
    return Cost(float(row["forward_per_second"]), float(row["train_per_second"]), row["device"], row["source"])


def study_videos(profile: Profile) -> pd.DataFrame | None:
    """The videos the profile studies: the benchmark's manifest, or the real manifests the
    data and preprocess stages combine; None for a benchmark that the data stage has not
    generated yet."""
    from analysis.data import sources

    path = sources.study_manifest(profile)
    if profile.studies_benchmark:
        return read_manifest(path) if path.is_file() else None
    # the indexed manifests as they are now (the data stage's combined copy may predate a
    # re-index), refused as the data stage would refuse them
    return sources.real_videos(profile)


def videos_per_split(videos: pd.DataFrame) -> pd.DataFrame:
    """Videos per (domain, split), real and fake."""
    table = videos.pivot_table(index=["domain", "split"], columns="label", values="video_id", aggfunc="count",
                               fill_value=0).rename(columns={0: "real", 1: "fake"})
    return table.assign(videos=table.sum(axis=1))


def cache_gigabytes(profile: Profile, n_videos: int) -> tuple[float, float]:
    """(uncompressed, estimated stored) GB of the crop cache, compressed where the profile
    says so: every video's face crops, clip crops and flow midpoints
    (:func:`analysis.preprocess.pipeline.crop_frames`), and the face crops of the sequence
    model's own sampling where the profile has one."""
    p = profile.preprocessing
    k = p.frames_per_video
    per_video = 3 * ((k + (p.sequence_frames or 0)) * p.crop_size**2 + (2 * k - 1) * p.clip_crop_size**2)
    raw = n_videos * per_video / BYTES_PER_GB
    return raw, raw * (STORED_SHARE if p.compress else 1.0)


def split_files_gigabytes(profile: Profile, model: str, videos: pd.DataFrame) -> float:
    """GB of the files one run streams its splits from while it runs (training, validation
    and scoring videos at the model's input size, :class:`analysis.training.crop_datasets.
    StreamedSplit`), written beside the crop cache and freed when the run ends."""
    from analysis.models import item_frames, spec_for

    spec, variant = spec_for(model, profile), profile.variant(model)
    frames = profile.preprocessing.frames_per_video if spec.input_kind == "frame" else item_frames(spec, variant,
                                                                                                   profile)
    source = videos[videos["domain"] == "source"]
    used = (source["split"] != "test").sum() + (videos["split"] != "train").sum()
    return int(used) * frames * 3 * variant.input_size**2 / BYTES_PER_GB


def model_items(profile: Profile, model: str, videos: pd.DataFrame) -> dict[str, int]:
    """Samples of one run: per training epoch, per validation pass and for the final
    scoring (a frame for frame models, a clip or sequence for the others). A frame model
    that pools reads every frame of a video each epoch: its samples are frames too, the
    unit of its cost row (``benchmarks/model_costs.py``)."""
    from analysis.models import spec_for
    from analysis.models.registry import VIDEO

    spec, recipe = spec_for(model, profile), profile.recipe_for(model)
    frames = profile.preprocessing.frames_per_video if spec.input_kind in ("frame", VIDEO) else 1
    per_epoch = frames if spec.input_kind == VIDEO else min(frames, recipe.train_frames_per_video or frames)
    source = videos[videos["domain"] == "source"]
    train = source[source["split"] == "train"]
    if spec.one_class:
        train = train[train["label"] == 0]
    return {"train": len(train) * per_epoch, "val": int((source["split"] == "val").sum()) * frames,
            "score": int((videos["split"] != "train").sum()) * frames}


def training_hours(profile: Profile, model: str, videos: pd.DataFrame, costs: pd.DataFrame,
                   device: str) -> tuple[float, Cost] | None:
    """Upper bound on one run's hours (every epoch, a validation pass after each, the
    final scoring), with the cost row used; None without a row for the model."""
    from analysis.models import get_spec
    from analysis.models.registry import TWO_STAGE

    row = cost(costs, model, profile.name, device)
    if row is None:
        return None
    recipe = profile.recipe_for(model)
    epochs = recipe.epochs + (recipe.warmup_epochs if get_spec(model).schedule == TWO_STAGE else 0)
    items = model_items(profile, model, videos)
    seconds = epochs * (items["train"] / row.train + items["val"] / row.forward) + items["score"] / row.forward
    return seconds / 3600, row


def stage_states(profile: Profile, only: tuple[str | None, str | None] = (None, None)) -> dict[str, str]:
    """What each stage would do, read from its output folder: built before (kept if its
    fingerprint is unchanged), interrupted (resumed), or to build; with ``only`` (``run
    --only``'s stage and model), the other stages are not run."""
    from analysis.fingerprints import BUILDING, STAMP

    folders = {"data": benchmark_dir(profile.name), "preprocess": cache_dir(profile.name)}

    def state(folder: Path) -> str:
        if (folder / BUILDING).is_file():
            return "interrupted: resumes"
        if (folder / STAMP).is_file():
            return "built before: kept unless its inputs or code changed"
        return "to build"

    states = {name: state(folder) for name, folder in folders.items()}
    runs = [run_folder(profile.name, m, s) for m in profile.model_names() for s in profile.seeds]
    done = sum((folder / STAMP).is_file() for folder in runs)
    states["train"] = f"{len(runs)} runs ({len(profile.model_names())} models x {len(profile.seeds)} seeds), " \
                      f"{done} built before"
    states["scores"] = states["results"] = "rebuilt from the runs (seconds)"
    stage, model = only
    if model:
        states["train"] = f"{len(profile.seeds)} run(s) of {model} only"
    # in the order the stages run (analysis.run.STAGES, which imports this module)
    return {name: state if stage in (None, name) else f"not run (--only {stage})" for name, state in states.items()}


def benchmark_work(profile: Profile) -> list[str]:
    """What a real-data profile also builds for the book's benchmark chapter, on the CPU."""
    from analysis.benchmark.generator import SUBSETS

    size = profile.data.benchmark
    pairs = sum(size.pairs(subset) for subset in SUBSETS.values())
    return [f"benchmark chapter: the data stage also generates the embedded benchmark ({pairs} identity pairs of "
            f"{size.frames}-frame videos, each pair a real and its fakes), and the preprocess stage counts MTCNN's "
            f"faces in {profile.preprocessing.frames_per_video} frames of each of its videos, on the CPU in one "
            "process;", "  together about as long as the cpu build's data and crop-cache stages (the README's "
            "timing table), whatever the GPUs"]


def describe(profile: Profile, only: tuple[str | None, str | None] = (None, None)) -> str:
    """The plan of a run of ``profile`` (``only``: ``run --only``'s stage and model) as text."""
    lines = [f"plan: profile {profile.name} ({profile.description}), device {profile.device}", ""]
    videos = study_videos(profile)
    if videos is None:
        lines += ["videos: the data stage generates the embedded benchmark first; run `--only data`, then plan again."]
    else:
        with pd.option_context("display.width", 120):
            lines += ["videos per split:", videos_per_split(videos).to_string(), ""]
    lines += ["stages:"] + [f"  {name:<11} {state}" for name, state in stage_states(profile, only).items()] + [""]
    if not profile.studies_benchmark:
        lines += benchmark_work(profile) + [""]
    if videos is None:
        return "\n".join(lines)
    raw, stored = cache_gigabytes(profile, len(videos))
    streamed = max(split_files_gigabytes(profile, model, videos) for model in profile.model_names())
    stored_as = (f"about {stored:.1f} GB stored (compressed to {STORED_SHARE:.0%}, measured on crops of a photograph)"
                 if profile.preprocessing.compress else "stored uncompressed")
    lines += [f"crop cache: {len(videos)} videos, {raw:.1f} GB uncompressed, {stored_as};",
              f"  while a run trains, up to {streamed:.1f} GB more beside it (its splits at the model's input size, "
              "per process of the run)", ""]
    costs = read_costs()
    lines += [f"estimated hours on one {profile.device} device (upper bound: every epoch; from {COSTS_FILE.name}"
              + (f"; --only {only[0]} runs only its own rows" if only[0] else "") + "):"]
    total, sources, missing = 0.0, set(), []
    pre = cost(costs, PREPROCESS_ROW, profile.name, profile.device)
    if pre is not None:
        hours = len(videos) / pre.forward / 3600
        total += hours
        sources.add((pre.device, pre.source))
        lines.append(f"  {'preprocess':<22} {hours:8.1f} h  ({len(videos)} videos at {pre.forward:.2f} per second, "
                     f"{pre.device} figure)")
    for model in profile.model_names():
        estimate = training_hours(profile, model, videos, costs, profile.device)
        if estimate is None:
            missing.append(model)
            continue
        hours, row = estimate
        runs = len(profile.seeds)
        total += hours * runs
        sources.add((row.device, row.source))
        lines.append(f"  {'train ' + model:<22} {hours * runs:8.1f} h  ({runs} seed(s); training {row.train:.2f}, "
                     f"forward {row.forward:.2f} samples per second, {row.device} figure)")
    lines.append(f"  {'all':<22} {total:8.1f} h")
    if missing:
        lines.append(f"  no cost figure for {', '.join(missing)} at the {profile.name} sizes: not counted")
    if any(device != profile.device for device, _ in sources):
        lines.append(f"  the table has no {profile.device} figure for some rows: those hours are the other device's "
                     f"and say only which stage dominates; add rows with device {profile.device} to {COSTS_FILE.name} "
                     "(same columns, measured on such a device)")
    lines += ["", "sources of the figures:"] + [f"  {device}: {source}" for device, source in sorted(sources)]
    return "\n".join(lines)
