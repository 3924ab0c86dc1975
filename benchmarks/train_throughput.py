"""Training throughput per model: the model's own forward/backward speed against the trainer's.

* model: forward, backward and AdamW step of the variant on one fixed batch already in
  memory, nothing else; measured in both memory orders (the variant's ``channels_last``
  says which one the trainer uses) and taken again after the trainer's run, so a change
  of machine load between the two shows up as a spread rather than as a bias.
* trainer: ``analysis.train.train`` on a crop cache for two epochs without validation-based
  stopping; samples per second of the second epoch's training part (``items /
  fit_seconds`` in the run record), so loading the cache and validation are excluded.

The trainer should reach at least 90 % of the model's speed. The machine's load average
is printed with every row: on a shared machine compare the two columns of one row.

    .venv/bin/python benchmarks/train_throughput.py [--profile cpu] [--models resnet18 r3d18]
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
from dataclasses import replace
from pathlib import Path

import torch

from analysis.data.sources import study_manifest
from analysis.profiles import Profile, get_profile
from analysis.paths import RECORD_FILE, cache_dir as profile_cache_dir
from analysis.training import speed_probe
from analysis.training.speed_probe import model_speed
from analysis.training.trainer import TrainConfig, train

TARGET_SHARE = 0.9  # the trainer's speed as a share of the model's that the issue asks for


def trainer_speed(name: str, profile: Profile, manifest: Path, cache_dir: Path) -> float:
    """Samples per second of the trainer's second epoch (training part only)."""
    recipe = replace(profile.recipe_for(name), warmup_epochs=0, epochs=2, patience=10**6, hang_guard_seconds=None)
    settings = replace(profile.model_settings(name), lr=None, hang_guard_seconds=None, epochs=None, batch_size=None)
    timed = replace(profile, recipe=recipe, per_model={name: settings}, device="cpu")
    with tempfile.TemporaryDirectory() as out:
        run = train(TrainConfig(model=name, profile=timed, manifest=str(manifest), cache_dir=str(cache_dir), out_dir=out))
        epoch = json.loads((run / RECORD_FILE).read_text())["history"][-1]
    return epoch["items"] / epoch["fit_seconds"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--profile", default="cpu")
    parser.add_argument("--models", nargs="+", help="default: every model the profile trains")
    parser.add_argument("--seconds", type=float, default=8.0, help="timing window of each model measurement")
    args = parser.parse_args()
    os.environ.setdefault("TQDM_DISABLE", "1")
    profile = get_profile(args.profile)
    cache_dir = profile_cache_dir(profile.name)
    if not (cache_dir / "fingerprint.txt").is_file():
        raise SystemExit(f"No crop cache at {cache_dir}: build it first with `python -m analysis run --profile {args.profile}`.")
    manifest = study_manifest(profile)
    if profile.threads_per_run:  # the trainer runs on the profile's threads; so does the model measured beside it
        torch.set_num_threads(profile.threads_per_run)
    probe = speed_probe.measure()
    print(f"speed probe (samples/s per process, {probe['processes']} at once): {probe['samples_per_second']}; "
          f"torch threads here: {torch.get_num_threads()}")
    print(f"{'model':16} {'arch':24} {'input':>7} {'batch':>5} {'order':>13} {'model/s':>8} "
          f"{'spread':>7} {'trainer/s':>9} {'share':>6}  load (1 min)")
    for name in args.models or profile.model_names():
        variant = profile.variant(name)
        recipe = profile.recipe_for(name)
        other = [model_speed(name, profile, recipe.batch_size, not variant.channels_last, args.seconds)]
        before = model_speed(name, profile, recipe.batch_size, variant.channels_last, args.seconds)
        trainer = trainer_speed(name, profile, manifest, cache_dir)
        after = model_speed(name, profile, recipe.batch_size, variant.channels_last, args.seconds)
        own = (before + after) / 2
        order = "channels_last" if variant.channels_last else "contiguous"
        frames = f"{variant.frames}x" if variant.frames > 1 else ""
        print(f"{name:16} {variant.arch.split('.')[0]:24} {frames + str(variant.input_size):>7} {recipe.batch_size:>5} "
              f"{order:>13} {own:8.1f} {abs(before - after) / own:7.0%} {trainer:9.1f} {trainer / own:6.0%}  "
              f"{os.getloadavg()[0]:.2f}   (other order: {other[0]:.1f}/s)", flush=True)
    print(f"target: trainer >= {TARGET_SHARE:.0%} of the model's own speed")


if __name__ == "__main__":
    main()
