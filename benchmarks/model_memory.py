"""Parameters and activation memory per sample of every paper model at its paper input
size, measured on this CPU with a few training steps (analysis.training.gpu_memory), into
the CSV the training chapter reads; then the profile's step per model against a 24 GB card.

    .venv/bin/python benchmarks/model_memory.py [--models resnet18 r3d18] [--out PATH]

With --models, only those models are measured again and their rows replaced.

Takes a few minutes on a 2-core CPU (the ResNeXt + LSTM's steps of 20 and 40 frames at
224 px are most of it). Rerun it when a paper variant's architecture or size changes.
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path

import pandas as pd

from analysis.profiles import get_profile
from analysis.training import gpu_memory


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", nargs="+", help="default: every model of the paper profile")
    parser.add_argument("--steps", type=int, default=2, help="training steps at each measured batch size")
    parser.add_argument("--out", type=Path, default=gpu_memory.MEMORY_FILE)
    args = parser.parse_args()
    os.environ.setdefault("TQDM_DISABLE", "1")
    profile = get_profile("paper")
    rows = []
    for name in args.models or profile.model_names():
        rows.append(gpu_memory.measure(name, profile, steps=args.steps))
        print(rows[-1], flush=True)
    table = pd.DataFrame(rows, columns=list(gpu_memory.COLUMNS))
    if args.models and args.out.is_file():  # measured again: replace those models' rows, keep the others
        kept = gpu_memory.read_measurements(args.out)
        table = pd.concat([kept[~kept["model"].isin(table["model"])], table], ignore_index=True)
        order = {name: i for i, name in enumerate(profile.model_names())}
        table = table.sort_values("model", key=lambda names: names.map(order))
    table.to_csv(args.out, index=False)
    print(f"wrote {args.out}")
    print(gpu_memory.plan(profile, args.out).to_string(index=False, float_format="{:.2f}".format))


if __name__ == "__main__":
    main()
