"""Candidate training recipes judged on validation only: what a faster recipe costs a model.

Issue 24 allows a change that alters what a model learns only if every model is at least
as good on validation as with today's recipe. This trains each model under each candidate
(profile overrides, as ``python -m analysis run -o``) for each seed on a built crop cache,
and tables its best validation AUC and its training seconds beside the machine's speed
probe. The runs read a manifest of the source's training and validation videos only, so no
candidate ever scores a test video. Runs go side by side, one per core, with the profile's
threads, as the training stage runs them.

    .venv/bin/python benchmarks/recipe_candidates.py --model resnet18 \\
        --candidate today= --candidate half_epochs=per_model.resnet18.epochs=8 --seeds 0 1 2
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
from concurrent.futures import ProcessPoolExecutor
from multiprocessing import get_context
from pathlib import Path

import pandas as pd

from analysis.data.manifest import read_manifest, write_manifest
from analysis.data.sources import study_manifest
from analysis.paths import RECORD_FILE, cache_dir as profile_cache_dir
from analysis.profiles import apply_overrides, get_profile
from analysis.training import speed_probe
from analysis.training.trainer import TrainConfig, train


def parse_candidate(text: str) -> tuple[str, list[str]]:
    """``name=override;override`` (``name=`` for the profile as it is)."""
    name, sep, overrides = text.partition("=")
    if not sep or not name:
        raise SystemExit(f"--candidate {text!r}: write name=key=value;key=value (or name= for today's recipe).")
    return name, [o for o in overrides.split(";") if o]


def train_val_rows(manifest: pd.DataFrame) -> pd.DataFrame:
    """The source's training and validation videos: all a candidate may read."""
    return manifest[(manifest["domain"] == "source") & manifest["split"].isin(["train", "val"])]


def one_run(job: tuple) -> dict:
    profile_name, model, candidate, overrides, seed, manifest, cache_dir, out = job
    profile = apply_overrides(get_profile(profile_name), overrides)
    run = train(TrainConfig(model=model, profile=profile, manifest=manifest, cache_dir=cache_dir,
                            out_dir=str(Path(out) / candidate / model / f"seed{seed}"), seed=seed))
    record = json.loads((run / RECORD_FILE).read_text())
    history = record["history"]
    return {"model": model, "candidate": candidate, "overrides": ";".join(overrides), "seed": seed,
            "epochs": len(history), "items per epoch": history[0]["items"], "best epoch": record["best_epoch"],
            "best val AUC": record["best_val_auc"], "last val AUC": history[-1]["val_auc"],
            "last train loss": history[-1]["train_loss"], "train seconds": record["train_seconds"],
            "complete": record["complete"]}


def summary(table: pd.DataFrame) -> pd.DataFrame:
    """Per model and candidate: best validation AUC over seeds (mean, min, max) and
    training seconds, in probe units and as a share of the first candidate's."""
    grouped = table.groupby(["model", "candidate"], sort=False)
    out = grouped.agg(seeds=("seed", "count"), val_mean=("best val AUC", "mean"), val_min=("best val AUC", "min"),
                      val_max=("best val AUC", "max"), units=("probe units", "mean")).reset_index()
    first = out.groupby("model")["units"].transform("first")
    return out.assign(time_share=out["units"] / first)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--profile", default="cpu")
    parser.add_argument("--model", action="append", required=True, help="repeatable")
    parser.add_argument("--candidate", action="append", required=True, help="name=key=value;key=value, repeatable; "
                        "the first is the reference the time share is read against")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0])
    parser.add_argument("--out", type=Path, default=Path("runs/recipe_candidates.csv"))
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    args = parser.parse_args()
    os.environ.setdefault("TQDM_DISABLE", "1")  # before the workers start: they inherit it
    profile = get_profile(args.profile)
    cache_dir = profile_cache_dir(profile.name)
    if not (cache_dir / "fingerprint.txt").is_file():
        raise SystemExit(f"No crop cache at {cache_dir}: build it first with "
                         f"`python -m analysis run --profile {profile.name}`.")
    candidates = [parse_candidate(c) for c in args.candidate]
    probe = speed_probe.measure()
    frame_speed = probe["samples_per_second"][speed_probe.PROBE_MODELS[0]]
    print(f"speed probe (samples/s per process, {probe['processes']} at once): {probe['samples_per_second']}")
    with tempfile.TemporaryDirectory() as out:
        manifest = str(write_manifest(train_val_rows(read_manifest(study_manifest(profile))),
                                      Path(out) / "train_val_manifest.csv"))
        jobs = [(profile.name, model, name, overrides, seed, manifest, str(cache_dir), out)
                for seed in args.seeds for model in args.model for name, overrides in candidates]
        with ProcessPoolExecutor(max_workers=args.workers, mp_context=get_context("spawn")) as pool:
            rows = list(pool.map(one_run, jobs))
    table = pd.DataFrame(rows).assign(probe=frame_speed)
    table["probe units"] = table["train seconds"] * frame_speed / speed_probe.UNIT_SAMPLES
    args.out.parent.mkdir(parents=True, exist_ok=True)
    table.to_csv(args.out, index=False)
    print(table.to_string(index=False, float_format="%.3f"))
    print(summary(table).to_string(index=False, float_format="%.3f"))


if __name__ == "__main__":
    main()
