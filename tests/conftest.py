"""Fixtures that make small but real inputs: H.264 videos and dataset trees on disk."""

from __future__ import annotations

import os
from pathlib import Path

import av
import numpy as np
import pytest


def write_video(path: Path, frames: int = 4, size: int = 32, seed: int = 0) -> Path:
    """Write a tiny H.264 MP4 of random colour frames."""
    rng = np.random.default_rng(seed)
    path.parent.mkdir(parents=True, exist_ok=True)
    with av.open(str(path), mode="w") as container:
        stream = container.add_stream("libx264", rate=10)
        stream.width = stream.height = size
        stream.pix_fmt = "yuv420p"
        for _ in range(frames):
            image = rng.integers(0, 256, (size, size, 3), dtype=np.uint8)
            container.mux(stream.encode(av.VideoFrame.from_ndarray(image, format="rgb24")))
        container.mux(stream.encode())
    return path


@pytest.fixture(scope="session")
def tiny_video(tmp_path_factory) -> Path:
    return write_video(tmp_path_factory.mktemp("video") / "tiny.mp4")


def link_videos(template: Path, folder: Path, stems) -> None:
    """Hard-link one real video under many names (fast, and every file decodes)."""
    folder.mkdir(parents=True, exist_ok=True)
    for stem in stems:
        os.link(template, folder / f"{stem}.mp4")


def assert_identity_disjoint(manifest) -> None:
    """No source or target id appears in two splits."""
    owners = {}
    for row in manifest.itertuples():
        for source_id in (row.source_id, row.target_id):
            if source_id:
                owners.setdefault(source_id, set()).add(row.split)
    assert all(len(splits) == 1 for splits in owners.values()), owners
