"""Megabytes per video of the crop cache at a profile's sizes, uncompressed and as stored.

No real FF++ video is here, so two stand-ins: crops of a photograph of a face
(matplotlib's ``grace_hopper.jpg``, shifted by a few pixels from frame to frame, as a
tracked face moves) and crops of a video of the embedded benchmark (rendered faces,
smoother than a photograph, so they compress more). Real C23 crops carry compression
noise and should land nearer the photograph.

    .venv/bin/python benchmarks/cache_size.py [--profile paper]
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

import cv2
import matplotlib
import numpy as np

from analysis.benchmark.generator import generate
from analysis.data.manifest import read_manifest
from analysis.preprocess import crop_cache, face_detect, flow
from analysis.preprocess.pipeline import process_video
from analysis.profiles import Preprocessing, get_profile

MAX_SHIFT = 20  # px of the photograph's frame-to-frame movement


def photograph_entry(profile: Preprocessing, seed: int = 0) -> dict[str, np.ndarray]:
    """A cache entry's arrays cut from shifted crops of one photograph."""
    image = cv2.imread(str(Path(matplotlib.get_data_path()) / "sample_data" / "grace_hopper.jpg"))[:, :, ::-1]
    rng = np.random.default_rng(seed)
    side = min(image.shape[:2]) - MAX_SHIFT

    def crops(size: int, n: int) -> np.ndarray:
        shifts = rng.integers(0, MAX_SHIFT, (n, 2))
        return np.stack([cv2.resize(image[y : y + side, x : x + side], (size, size), interpolation=cv2.INTER_AREA)
                         for y, x in shifts])

    k = profile.frames_per_video
    arrays = {"faces": crops(profile.crop_size, k), "clip": crops(profile.clip_crop_size, k),
              "flow_mid": crops(profile.clip_crop_size, k - 1)}
    if profile.sequence_frames:  # the sequence model's own sampling
        arrays["sequence"] = crops(profile.crop_size, profile.sequence_frames)
    return arrays


def megabytes(root: Path, arrays: dict[str, np.ndarray], compress: bool) -> tuple[float, float]:
    """(uncompressed, stored) MB of an entry holding ``arrays``."""
    path = crop_cache.write_entry(root, ("size", "probe", "entry"), arrays, {}, compress=compress)
    return sum(a.nbytes for a in arrays.values()) / 1e6, path.stat().st_size / 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--profile", default="paper")
    args = parser.parse_args()
    profile = get_profile(args.profile).preprocessing
    print(f"profile {args.profile}: {profile.frames_per_video} frames (sequence: {profile.sequence_frames}), "
          f"crops {profile.crop_size}/{profile.clip_crop_size} px")
    with tempfile.TemporaryDirectory() as folder:
        folder = Path(folder)
        raw, stored = megabytes(folder, photograph_entry(profile), profile.compress)
        print(f"photograph crops:          {raw:5.2f} MB uncompressed, {stored:5.2f} MB stored ({stored / raw:.0%})")
        generate(folder / "bench", profile="tiny", seed=0, workers=1)
        video = read_manifest(folder / "bench" / "manifest.csv").iloc[0]
        arrays, _ = process_video(video["path"], profile, face_detect.make_detector("cpu"), flow.make_flow()[0])
        raw, stored = megabytes(folder, arrays, profile.compress)
        print(f"embedded-benchmark video:  {raw:5.2f} MB uncompressed, {stored:5.2f} MB stored ({stored / raw:.0%}) "
              "(with boxes and indices)")


if __name__ == "__main__":
    main()
