"""Measure the cost table the dry run plans with (``benchmarks/model_costs.csv``).

Per model of a profile, at the profile's sizes with random weights (the same arithmetic
as pretrained ones): samples per second of a forward pass in eval mode without gradients
(validation and scoring) and of a training step (forward, backward, AdamW, the trainer's
loss: ``analysis.training.speed_probe.model_speed``), a sample being a frame for frame
models (also those a profile pools per video) and a clip or sequence for the others; and one ``preprocess`` row: videos per
second of the preprocessing pipeline on a rendered 640x360, 10 s video (in the
``forward_per_second`` column). All on this machine's CPU. Rows of the same name, profile
and device are replaced, others kept, so rows measured on a GPU machine (device
``cuda``, same columns) can join the CPU ones.

    .venv/bin/python benchmarks/model_costs.py [--profile paper] [--batch 2]
"""

from __future__ import annotations

import argparse
import os
import platform
import tempfile
import time
from dataclasses import replace
from datetime import date
from pathlib import Path

import pandas as pd
import torch

from analysis.models import get_spec
from analysis.plan import COSTS_FILE, PREPROCESS_ROW
from analysis.preprocess import face_detect, flow
from analysis.preprocess.pipeline import process_video
from analysis.profiles import Profile, get_profile
from analysis.training.crop_datasets import model_layout
from analysis.training.speed_probe import model_speed

DEVICE = "cpu"
COLUMNS = ["name", "profile", "device", "input", "batch", "forward_per_second", "train_per_second", "source"]


@torch.no_grad()
def forward_speed(name: str, profile: Profile, batch_size: int, seconds: float) -> float:
    """Samples per second of the model's forward pass in eval mode on one fixed batch."""
    spec, variant = get_spec(name), profile.variant(name)
    model = spec.builder(variant, weights_dir=None).eval()  # as registered: frame models per frame
    frames = 1 if spec.input_kind == "frame" else variant.frames
    inputs = model_layout(torch.randn(batch_size, frames, 3, variant.input_size, variant.input_size), spec)
    model(inputs)  # the first pass allocates
    steps, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds or steps == 0:
        model(inputs)
        steps += 1
    return steps * batch_size / (time.perf_counter() - start)


def preprocess_speed(profile: Profile) -> float:
    """Videos per second of the pipeline on one rendered 640x360 video of 10 s at 25 fps."""
    from preprocess import make_video  # benchmarks/preprocess.py, beside this script

    with tempfile.TemporaryDirectory() as folder:
        path = make_video(Path(folder) / "video.mp4", 640, 360, seed=0)
        detector, flow_fn = face_detect.make_detector(DEVICE), flow.make_flow(device=DEVICE)[0]
        process_video(str(path), profile.preprocessing, detector, flow_fn)  # warm-up
        start = time.perf_counter()
        process_video(str(path), profile.preprocessing, detector, flow_fn)
        return 1 / (time.perf_counter() - start)


def where() -> str:
    return f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores, {torch.get_num_threads()} torch threads"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--profile", default="paper")
    parser.add_argument("--batch", type=int, default=2, help="samples per measured step")
    parser.add_argument("--seconds", type=float, default=5.0, help="timing window per figure")
    parser.add_argument("--models", nargs="+", help="default: every model the profile trains")
    parser.add_argument("--out", type=Path, default=COSTS_FILE)
    args = parser.parse_args()
    os.environ.setdefault("TQDM_DISABLE", "1")
    profile = get_profile(args.profile)
    profile = replace(profile, models=replace(profile.models, pretrained=False), device=DEVICE)
    source = (f"benchmarks/model_costs.py, {where()}, load average {os.getloadavg()[0]:.1f} at the start, "
              f"{date.today().isoformat()}")
    rows = []
    for name in args.models or profile.model_names():
        variant = profile.variant(name)
        forward = forward_speed(name, profile, args.batch, args.seconds)
        train = model_speed(name, profile, args.batch, variant.channels_last, args.seconds)
        size = f"{variant.frames}x{variant.input_size}" if variant.frames > 1 else str(variant.input_size)
        rows.append([name, profile.name, DEVICE, size, args.batch, round(forward, 4), round(train, 4), source])
        print(f"{name:16} {size:>7}  forward {forward:8.3f}/s  train {train:8.3f}/s", flush=True)
    videos = preprocess_speed(profile)
    print(f"{PREPROCESS_ROW:16} {'':>7}  {videos:.3f} videos/s", flush=True)
    rows.append([PREPROCESS_ROW, profile.name, DEVICE, "640x360x250", 1, round(videos, 4), float("nan"), source])
    new = pd.DataFrame(rows, columns=COLUMNS)
    if args.out.is_file():
        old = pd.read_csv(args.out)
        replaced = old.set_index(["name", "profile", "device"]).index.isin(new.set_index(["name", "profile", "device"]).index)
        new = pd.concat([old[~replaced], new], ignore_index=True)
    new.to_csv(args.out, index=False)
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
