"""Time the preprocessing pipeline against the reference approach on the same videos.

Reference approach (as in the model cards' companion code): seek each sampled frame
with OpenCV (``CAP_PROP_POS_FRAMES``) and call MTCNN once per full-resolution frame to
get the face crop. Pipeline: ``analysis.preprocess.pipeline.process_video`` (decode once, one
MTCNN batch per video on frames downscaled to at most 640 px, crops at two sizes, flow
midpoints). Videos: rendered faces at 1280x720, 640x360 and 320x240, 10 s at 25 fps.

    .venv/bin/python benchmarks/preprocess.py [--profile paper] [--videos-per-size 2]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import cv2
import numpy as np

from analysis.preprocess import face_detect, flow
from analysis.benchmark.face_render import Expression, Light, Pose, random_identity, render
from analysis.preprocess.pipeline import process_video
from analysis.profiles import get_profile
from analysis.preprocess.video import sample_indices, write_video

SIZES = ((1280, 720), (640, 360), (320, 240))
SECONDS, FPS = 10, 25


def make_video(path: Path, width: int, height: int, seed: int) -> Path:
    rng = np.random.default_rng(seed)
    person = random_identity(rng, "bench")
    background = np.full((height, width, 3), rng.uniform(0.2, 0.8, 3), np.float32)
    light = Light((0.3, -0.3, 0.9), (1.0, 0.97, 0.92), 0.5, 0.6)
    frames = []
    for i in range(SECONDS * FPS):
        pose = Pose(width / 2 + 20 * np.sin(i / 15), height * 0.45, height * 0.2, roll=0.05 * np.sin(i / 20))
        frames.append(render(background, person, pose, Expression(mouth_open=0.5 + 0.5 * np.sin(i / 3)), light))
    return write_video(path, (np.stack(frames) * 255).astype(np.uint8), fps=FPS, crf=23)


def reference(path: Path, k: int, detector) -> int:
    """Seek each frame with OpenCV, one MTCNN call per full-resolution frame."""
    capture = cv2.VideoCapture(str(path))
    total = int(capture.get(cv2.CAP_PROP_FRAME_COUNT))
    faces = 0
    for index in sample_indices(total, k):
        capture.set(cv2.CAP_PROP_POS_FRAMES, int(index))
        ok, frame = capture.read()
        if not ok:
            continue
        crop = detector(cv2.cvtColor(frame, cv2.COLOR_BGR2RGB))
        faces += crop is not None
    capture.release()
    return faces


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--profile", default="paper")
    parser.add_argument("--videos-per-size", type=int, default=2)
    args = parser.parse_args()
    name = args.profile
    profile = get_profile(name).preprocessing
    k = profile.frames_per_video
    pipeline_detector = face_detect.make_detector()
    reference_detector = face_detect.make_detector()
    reference_detector.image_size = profile.crop_size
    reference_detector.margin = face_detect.MARGIN_AT_224
    flow_fn, flow_name = flow.make_flow()  # RAFT when its weights are on disk; the line below says which
    print(f"profile {name}: {k} frames per video, crops {profile.crop_size}/{profile.clip_crop_size} px, flow: {flow_name}")
    print(f"{'video':>12} {'reference f/s':>14} {'pipeline f/s':>13} {'ratio':>6}")
    totals = {"reference": 0.0, "pipeline": 0.0, "frames": 0}
    with tempfile.TemporaryDirectory() as folder:
        for width, height in SIZES:
            for n in range(args.videos_per_size):
                path = make_video(Path(folder) / f"{width}x{height}_{n}.mp4", width, height, seed=n)
                start = time.perf_counter()
                reference(path, k, reference_detector)
                ref_seconds = time.perf_counter() - start
                start = time.perf_counter()
                process_video(str(path), profile, pipeline_detector, flow_fn)
                pipe_seconds = time.perf_counter() - start
                totals["reference"] += ref_seconds
                totals["pipeline"] += pipe_seconds
                totals["frames"] += k
                print(f"{width}x{height}:{n} {k / ref_seconds:14.1f} {k / pipe_seconds:13.1f} {ref_seconds / pipe_seconds:6.2f}")
    frames = totals["frames"]
    print(
        f"{'all':>12} {frames / totals['reference']:14.1f} {frames / totals['pipeline']:13.1f} "
        f"{totals['reference'] / totals['pipeline']:6.2f}  (pipeline speed-up over the reference)"
    )


if __name__ == "__main__":
    main()
