"""Fixtures that make small but real inputs: H.264 videos and dataset trees on disk."""

from __future__ import annotations

import os
from pathlib import Path

import av
import numpy as np
import pytest


def write_video(path: Path, frames: int = 4, size: int = 32, seed: int = 0, options: dict | None = None) -> Path:
    """Write a tiny H.264 video of random colour frames, in the container the name's suffix
    says (MP4 unless told), with the muxer's ``options``."""
    rng = np.random.default_rng(seed)
    path.parent.mkdir(parents=True, exist_ok=True)
    with av.open(str(path), mode="w", options=options or {}) as container:
        stream = container.add_stream("libx264", rate=10)
        stream.width = stream.height = size
        stream.pix_fmt = "yuv420p"
        for _ in range(frames):
            image = rng.integers(0, 256, (size, size, 3), dtype=np.uint8)
            container.mux(stream.encode(av.VideoFrame.from_ndarray(image, format="rgb24")))
        container.mux(stream.encode())
    return path


def write_face_video(path: Path, frames: int = 6, size: int = 64, seed: int = 0) -> Path:
    """Write a tiny H.264 MP4 of one rendered face (the benchmark's renderer), drifting and
    opening its mouth: MTCNN finds the face, and every seed draws another person."""
    from analysis.benchmark.face_render import Expression, Light, Pose, random_identity, render
    from analysis.preprocess.video import write_video as encode

    rng = np.random.default_rng(seed)
    person = random_identity(rng, f"person{seed}")
    background = np.full((size, size, 3), rng.uniform(0.2, 0.8, 3), np.float32)
    light = Light((0.3, -0.3, 0.9), (1.0, 0.97, 0.92), 0.5, 0.6)
    images = [render(background, person, Pose(size / 2 + 2 * np.sin(i), size / 2, 0.3 * size),
                     Expression(mouth_open=i / frames), light) for i in range(frames)]
    return encode(path, (np.stack(images) * 255).astype(np.uint8), fps=10, crf=23)


@pytest.fixture(scope="session")
def tiny_video(tmp_path_factory) -> Path:
    return write_video(tmp_path_factory.mktemp("video") / "tiny.mp4")


def link_videos(template: Path, folder: Path, stems) -> None:
    """Hard-link one real video under many names (fast, and every file decodes)."""
    folder.mkdir(parents=True, exist_ok=True)
    for stem in stems:
        os.link(template, folder / f"{stem}.mp4")


def study_manifests(video: Path, source_ids: tuple[str, ...] = ()) -> tuple[list[dict], list[dict]]:
    """Rows of the smallest FF++ and Celeb-DF manifests the study can read: a real and a
    fake video in every split it reads (source train, val and test; target test), each
    the file ``video``; ``source_ids`` add originals to the source train split."""
    def row(dataset, domain, split, label, video_id, method):
        return {"dataset": dataset, "domain": domain, "video_id": video_id, "path": str(video), "label": label,
                "method": method, "split": split, "source_id": video_id.split("_")[0], "target_id": ""}

    source = [row("ffpp", "source", split, label, f"{split}{label}", ("original", "Deepfakes")[label])
              for split in ("train", "val", "test") for label in (0, 1)]
    source += [row("ffpp", "source", "train", 0, i, "original") for i in source_ids]
    target = [row("celebdf", "target", "test", label, f"id{label}_0000", ("Celeb-real", "Celeb-synthesis")[label])
              for label in (0, 1)]
    return source, target


def assert_identity_disjoint(manifest) -> None:
    """No source or target id appears in two splits."""
    owners = {}
    for row in manifest.itertuples():
        for source_id in (row.source_id, row.target_id):
            if source_id:
                owners.setdefault(source_id, set()).add(row.split)
    assert all(len(splits) == 1 for splits in owners.values()), owners


@pytest.fixture(scope="session")
def prepared(tmp_path_factory) -> tuple[Path, Path]:
    """The tiny benchmark and its crop cache: (manifest path, cache folder)."""
    from analysis.data.manifest import read_manifest
    from analysis.preprocess.pipeline import preprocess
    from analysis.profiles import get_profile
    from analysis.benchmark.generator import generate

    root = tmp_path_factory.mktemp("prepared")
    generate(root / "bench", profile="tiny", seed=0, workers=2)
    manifest = root / "bench" / "manifest.csv"
    preprocess(read_manifest(manifest), root / "cache", get_profile("tiny").preprocessing)
    return manifest, root / "cache"


def train_config(prepared, out, model="resnet18", **changes):
    from analysis.profiles import get_profile
    from analysis.training.trainer import TrainConfig

    manifest, cache_dir = prepared
    return TrainConfig(model=model, profile=get_profile("tiny"), manifest=str(manifest), cache_dir=str(cache_dir),
                       out_dir=str(out), seed=3, **changes)


@pytest.fixture(scope="session")
def trained_runs(prepared, tmp_path_factory) -> Path:
    """A folder of tiny runs, as ``make book`` fills ``runs/<profile>/models``: two
    classifiers (a frame and a clip model) and the two one-class scorers."""
    from analysis.training.trainer import train

    root = tmp_path_factory.mktemp("runs")
    for model in ("resnet18", "r3d18", "deep_svdd", "autoencoder"):
        train(train_config(prepared, root / model, model=model))
    return root


def without_batch_statistics(*args, **kwargs):
    """The registry's model with every BatchNorm replaced by an identity: micro-batches
    then see exactly what the whole batch sees (batch statistics are the one thing a
    smaller batch changes, and DDP without SyncBatchNorm changes them the same way)."""
    from torch import nn

    from analysis.models import create_model

    model = create_model(*args, **kwargs)
    for parent in list(model.modules()):
        for name, child in parent.named_children():
            if isinstance(child, nn.modules.batchnorm._BatchNorm):
                setattr(parent, name, nn.Identity())
    return model
