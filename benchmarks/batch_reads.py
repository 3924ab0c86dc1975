"""Milliseconds to get one training batch: streamed from the split file, against indexing
the same split held in memory (as the trainer did before), and the whole
``training_batch`` (read, convert, augment) for scale.

A shared machine makes ``benchmarks/train_throughput.py``'s two columns drift apart; this
times only the part the streaming changed, so it reads the same on a busy machine.

    .venv/bin/python benchmarks/batch_reads.py [--profile cpu] [--models resnet18 r3d18]
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import torch

from analysis.data.manifest import read_manifest
from analysis.data.sources import study_manifest
from analysis.models import get_spec
from analysis.profiles import get_profile
from analysis.paths import cache_dir
from analysis.training.crop_datasets import StreamedSplit, epoch_generator


def per_batch(get, order: np.ndarray, batch: int) -> float:
    """Mean seconds of ``get(indices)`` over the batches of one epoch in ``order``."""
    starts = range(0, len(order) - batch + 1, batch)
    started = time.perf_counter()
    for start in starts:
        get(torch.as_tensor(order[start : start + batch]))
    return (time.perf_counter() - started) / len(starts)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--profile", default="cpu")
    parser.add_argument("--models", nargs="+", default=["resnet18", "r3d18"])
    args = parser.parse_args()
    torch.set_num_threads(1)
    profile = get_profile(args.profile)
    manifest = read_manifest(study_manifest(profile))
    videos = manifest[(manifest["domain"] == "source") & (manifest["split"] == "train")]
    for name in args.models:
        spec, variant, batch = get_spec(name), profile.variant(name), profile.recipe_for(name).batch_size
        split = StreamedSplit.load(videos, cache_dir(profile.name), spec, variant)
        held = split.items(torch.arange(len(split)))  # the whole split in memory
        order = np.random.default_rng(0).permutation(len(split))
        streamed, indexed = per_batch(split.items, order, batch), per_batch(lambda i: held[i], order, batch)
        whole = per_batch(lambda i: split.training_batch(i.tolist(), epoch_generator(0, 0), variant.channels_last),
                          order, batch)
        print(f"{name:16} batch {batch:3d}: streamed {1e3 * streamed:6.2f} ms, from memory {1e3 * indexed:6.2f} ms, "
              f"whole training_batch {1e3 * whole:6.1f} ms")


if __name__ == "__main__":
    main()
