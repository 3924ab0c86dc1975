"""The GPU check's Python part (``benchmarks/gpu_check.sh`` runs it on a CUDA machine).

* ``models``: every paper model for a few training steps at its paper input size and its
  micro-batch on one GPU (the paper profile's batch / grad_accumulation), with AMP: peak
  GPU memory (allocated and reserved by PyTorch) and samples per second, beside the
  estimate made from the CPU measurements (analysis.training.gpu_memory).
* ``train``: the tiny profile's generated benchmark (a small tree of synthetic videos),
  its crop cache built on the GPU, and a few models trained end to end by a 1-GPU
  ``torchrun`` with two micro-batches per step; checks each run record and scores table.

Both write their figures as CSV into ``--out``. Without CUDA they stop with exit status 2,
unless ``--cpu-fallback`` (tests): then they run on the CPU at the tiny profile's sizes,
so that everything but the GPU itself is exercised.

    .venv/bin/python benchmarks/gpu_check.py models --out DIR [--steps 5] [--cpu-fallback]
    .venv/bin/python benchmarks/gpu_check.py train --out DIR [--cpu-fallback]
"""

from __future__ import annotations

import argparse
import json
import math
import os
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import torch

from analysis.profiles import apply_overrides, get_profile
from analysis.training import gpu_memory
from analysis.training.run_record import RECORD_FILE, SCORES_FILE

NO_CUDA_STATUS = 2
TRAIN_MODELS = ("resnet18", "r3d18", "resnext50_lstm", "deep_svdd")  # a frame, clip, sequence, one-class model
MODELS_CSV, TRAIN_CSV = "models.csv", "train.csv"
# --cpu-fallback: the paper models shrunk to small sizes, two items a step
CPU_FALLBACK, CPU_FALLBACK_BATCH = ["models.input_size=64", "models.max_frames=4"], 2


def device_or_exit(cpu_fallback: bool) -> str:
    if torch.cuda.is_available():
        return "cuda"
    if cpu_fallback:
        return "cpu"
    print("gpu_check: no CUDA device is visible to PyTorch (torch.cuda.is_available() is False, torch "
          f"{torch.__version__}, CUDA build {torch.version.cuda}). Run it on a GPU machine, or pass --cpu-fallback "
          "to exercise it on the CPU at tiny sizes.", file=sys.stderr)
    raise SystemExit(NO_CUDA_STATUS)


def check_models(out: Path, steps: int, cpu_fallback: bool, models: list[str] | None) -> pd.DataFrame:
    """Peak memory and samples/s of every paper model's training step at its micro-batch."""
    device = device_or_exit(cpu_fallback)
    profile = get_profile("paper")
    if device == "cpu":
        profile = apply_overrides(profile, CPU_FALLBACK)
    try:
        estimates = gpu_memory.plan("paper").set_index("model")["estimated peak (GiB)"]
    except FileNotFoundError:
        estimates = pd.Series(dtype=float)
    rows = []
    for name in models or profile.model_names():
        recipe = profile.recipe_for(name)
        micro = recipe.batch_size // recipe.grad_accumulation if device == "cuda" else CPU_FALLBACK_BATCH
        if device == "cuda":
            torch.cuda.empty_cache()
            torch.cuda.reset_peak_memory_stats()
        model, step = gpu_memory.step_function(name, profile, micro, device=device, amp=device == "cuda")
        step()  # the first step allocates and picks kernels
        if device == "cuda":
            torch.cuda.synchronize()
        start = time.perf_counter()
        for _ in range(steps):
            step()
        if device == "cuda":
            torch.cuda.synchronize()
        seconds = time.perf_counter() - start
        gib = 2**30
        rows.append({
            "model": name, "device": torch.cuda.get_device_name() if device == "cuda" else "cpu",
            "input": f"{profile.variant(name).frames}x{profile.variant(name).input_size}",
            "micro_batch": micro, "grad_accumulation": recipe.grad_accumulation, "amp": device == "cuda",
            "steps": steps, "samples_per_second": round(steps * micro / seconds, 2),
            "peak_allocated_gib": round(torch.cuda.max_memory_allocated() / gib, 2) if device == "cuda" else math.nan,
            "peak_reserved_gib": round(torch.cuda.max_memory_reserved() / gib, 2) if device == "cuda" else math.nan,
            "cpu_estimate_gib": round(float(estimates.get(name, math.nan)), 2),
        })
        print(rows[-1], flush=True)
        del model, step
    table = pd.DataFrame(rows)
    table.to_csv(out / MODELS_CSV, index=False)
    return table


def check_training(out: Path, cpu_fallback: bool) -> pd.DataFrame:
    """The tiny benchmark, its crop cache and a few 1-GPU torchrun trainings, end to end."""
    device = device_or_exit(cpu_fallback)
    from analysis.run import stage_data, stage_preprocess

    os.environ.update(ANALYSIS_RUNS_DIR=str(out / "runs"), TQDM_DISABLE="1")  # the training processes inherit it
    settings = [f"device={device}", "recipe.grad_accumulation=2"]
    profile = apply_overrides(get_profile("tiny"), settings)
    stage_data(profile)
    stage_preprocess(profile)  # MTCNN on the GPU
    overrides = [arg for item in settings for arg in ("-o", item)]
    rows = []
    for model in TRAIN_MODELS:
        folder = out / "runs" / "tiny" / "gpu_check" / model
        start = time.perf_counter()
        subprocess.run([sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc-per-node=1",
                        "-m", "analysis", "train", "--profile", "tiny", "--model", model, "--out", str(folder),
                        *overrides], check=True)
        record = json.loads((folder / RECORD_FILE).read_text())
        scores = pd.read_csv(folder / SCORES_FILE)
        if record["world_size"] != 1 or record["device"] != device or scores["score"].isna().any():
            raise SystemExit(f"gpu_check: the {model} run is not what was asked for: world size "
                             f"{record['world_size']}, device {record['device']}, {scores['score'].isna().sum()} "
                             "missing scores")
        rows.append({"model": model, "device": device, "world_size": record["world_size"],
                     "micro_batch": record["micro_batch"], "epochs": len(record["history"]),
                     "best_val_auc": record["best_val_auc"], "scores": len(scores),
                     "seconds": round(time.perf_counter() - start, 1)})
        print(rows[-1], flush=True)
    table = pd.DataFrame(rows)
    table.to_csv(out / TRAIN_CSV, index=False)
    return table


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("check", choices=("models", "train"))
    parser.add_argument("--out", type=Path, required=True, help="folder for the figures (CSV)")
    parser.add_argument("--steps", type=int, default=5, help="timed training steps per model")
    parser.add_argument("--models", nargs="+", help="models check: default every paper model")
    parser.add_argument("--cpu-fallback", action="store_true", help="run on the CPU at tiny sizes (tests)")
    args = parser.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    if args.check == "models":
        check_models(args.out, args.steps, args.cpu_fallback, args.models)
    else:
        check_training(args.out, args.cpu_fallback)
    return 0


if __name__ == "__main__":
    sys.exit(main())
