"""Peak host memory of each stage at 10 %, 50 % and 100 % of a full-size study.

Builds a fake FaceForensics++ tree with every id of the official splits and all five
methods (1,000 originals, 5,000 fakes) and a tree the size of Celeb-DF v2 (590
Celeb-real, 300 YouTube-real, 5,639 Celeb-synthesis videos, a 518-video test list), each
file a hard link to one of a few short videos of rendered faces (so MTCNN finds a face
and no video is left out). Both are indexed into the study manifest; then, for each
share of its videos (nested subsets), each stage runs in a fresh process that reports
its peak resident memory (``ru_maxrss`` of itself and of its child processes):

* index: index trees that hold the share of every folder's videos and combine the
  manifests;
* preprocess: the pipeline over the share's videos into one crop cache (resumed: a share
  preprocesses only the videos the smaller one did not);
* train: one epoch of ResNet-18 at small sizes, with validation and its final scoring;
* score: the trained model scoring the share's validation and test videos again.

The study's memory is flat if each stage's peak changes by less than 20 % from 10 % to
100 %. ``--scale`` shrinks both trees (a share of every folder's videos) for a machine
where the full size takes too long to preprocess. Validation and scoring run the model on
batches of the training batch's size in frames, the largest thing a stage holds, so a share
whose validation split does not fill one peaks lower for that reason alone: the table shows each share's validation rows, and a change from a share
that fills no batch is reported as not comparable, with the ``--scale`` that would fill it
(the change from 50 % is printed too). At full size the smallest share fills one.

    .venv/bin/python benchmarks/memory_scale.py [--scale 1.0] [--size 112] [--out runs/memory_scale]
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import replace
from multiprocessing import get_context
from pathlib import Path

import numpy as np
import pandas as pd

SHARES = (0.1, 0.5, 1.0)
FLAT = 0.2  # the largest change of a stage's peak from the smallest to the largest share
TEMPLATES = 12  # distinct face videos the tree's files link to
FFPP_METHODS = ("Deepfakes", "Face2Face", "FaceSwap", "NeuralTextures", "FaceShifter")
CELEBDF_IDS, CELEBDF_REAL, CELEBDF_YOUTUBE, CELEBDF_FAKE = 59, 590, 300, 5639
CELEBDF_TEST_REAL, CELEBDF_TEST_FAKE = 178, 340
MODEL = "resnet18"


def face_templates(folder: Path, frames: int) -> list[Path]:
    """A few short videos of rendered faces, each another person."""
    from analysis.benchmark.face_render import Expression, Light, Pose, random_identity, render
    from analysis.preprocess.video import write_video

    paths = []
    for seed in range(TEMPLATES):
        rng = np.random.default_rng(seed)
        person, size = random_identity(rng, f"template{seed}"), 96
        background = np.full((size, size, 3), rng.uniform(0.2, 0.8, 3), np.float32)
        light = Light((0.3, -0.3, 0.9), (1.0, 0.97, 0.92), 0.5, 0.6)
        images = [render(background, person, Pose(size / 2 + 2 * np.sin(i), size / 2, 0.3 * size),
                         Expression(mouth_open=i / frames), light) for i in range(frames)]
        paths.append(write_video(folder / f"template{seed}.mp4", (np.stack(images) * 255).astype(np.uint8),
                                 fps=10, crf=23))
    return paths


def link(templates: list[Path], path: Path, k: int) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    os.link(templates[k % len(templates)], path)


def every(items: list, scale: float) -> list:
    """The first ``scale`` of ``items`` (at least one)."""
    return items[: max(1, round(len(items) * scale))]


def build_trees(root: Path, templates: list[Path], scale: float) -> tuple[Path, Path]:
    """A full-size (times ``scale``) FF++ tree and a Celeb-DF-sized one; their roots."""
    from analysis.data.splits import load_official_pairs

    pairs = [p for split in load_official_pairs().values() for p in every(split, scale)]
    ffpp = root / "ffpp"
    for k, video in enumerate(sorted({i for p in pairs for i in p})):
        link(templates, ffpp / "original_sequences/youtube/c23/videos" / f"{video}.mp4", k)
    for m, method in enumerate(FFPP_METHODS):
        for k, (a, b) in enumerate(pairs):
            for name in (f"{a}_{b}", f"{b}_{a}"):
                link(templates, ffpp / f"manipulated_sequences/{method}/c23/videos/{name}.mp4", k + m)
    celebdf = root / "celebdf"
    real = every([f"id{k % CELEBDF_IDS}_{k // CELEBDF_IDS:04d}" for k in range(CELEBDF_REAL)], scale)
    youtube = every([f"{k:05d}" for k in range(CELEBDF_YOUTUBE)], scale)
    fake = every([f"id{k % CELEBDF_IDS}_id{(k + 1 + k // CELEBDF_IDS) % CELEBDF_IDS}_{k // CELEBDF_IDS:04d}"
                  for k in range(CELEBDF_FAKE)], scale)
    for folder, names in (("Celeb-real", real), ("YouTube-real", youtube), ("Celeb-synthesis", fake)):
        for k, name in enumerate(names):
            link(templates, celebdf / folder / f"{name}.mp4", k)
    test = [f"1 Celeb-real/{n}.mp4" for n in every(real, CELEBDF_TEST_REAL / CELEBDF_REAL)]
    test += [f"0 Celeb-synthesis/{n}.mp4" for n in every(fake, CELEBDF_TEST_FAKE / CELEBDF_FAKE)]
    (celebdf / "List_of_testing_videos.txt").write_text("\n".join(test) + "\n")
    return ffpp, celebdf


def peak_megabytes(status: Path = Path("/proc/self/status")) -> float:
    """The largest resident set of this process and of any child it waited for, in MB.

    This process's own comes from ``VmHWM``, the high-water mark of its address space,
    not from ``ru_maxrss``: Linux carries ``ru_maxrss`` over ``exec``, so a process
    started by this benchmark would report at least the benchmark's own resident memory
    when it started (760 MB in a run here), whatever the stage itself used."""
    children = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    if not status.is_file():  # not Linux: the ru_maxrss of this process is all there is
        return max(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, children) / 1024
    kilobytes = next(int(line.split()[1]) for line in status.read_text().splitlines() if line.startswith("VmHWM:"))
    return max(kilobytes, children) / 1024


def stage_index(ffpp: Path, celebdf: Path, out: Path) -> float:
    from analysis.data.indexing import index_celebdf, index_ffpp
    from analysis.data.manifest import write_manifest

    manifest = pd.concat([index_ffpp(ffpp).manifest, index_celebdf(celebdf).manifest], ignore_index=True)
    write_manifest(manifest, out)
    return peak_megabytes()


def stage_preprocess(manifest: Path, cache: Path, settings) -> float:
    import torch

    from analysis.data.manifest import read_manifest
    from analysis.preprocess.pipeline import preprocess

    torch.set_num_threads(1)
    preprocess(read_manifest(manifest), cache, settings, device="cpu")
    return peak_megabytes()


def stage_train(manifest: Path, cache: Path, out: Path, profile) -> float:
    from analysis.training.trainer import TrainConfig, train

    train(TrainConfig(model=MODEL, profile=profile, manifest=str(manifest), cache_dir=str(cache), out_dir=str(out)))
    return peak_megabytes()


def stage_score(manifest: Path, cache: Path, run: Path, profile) -> float:
    import torch

    from analysis.data.manifest import read_manifest
    from analysis.models import create_model, spec_for
    from analysis.paths import BEST_CHECKPOINT
    from analysis.training.scoring import score_manifest

    model = create_model(MODEL, profile)
    model.load_state_dict(torch.load(run / BEST_CHECKPOINT, weights_only=False)["model"])
    score_manifest(model, read_manifest(manifest), str(cache), spec_for(MODEL, profile), profile.variant(MODEL),
                   model=MODEL, seed=0, device="cpu", batch=profile.recipe_for(MODEL).batch_size)
    return peak_megabytes()


def in_fresh_process(function, *args) -> float:
    with ProcessPoolExecutor(1, mp_context=get_context("spawn")) as pool:
        return pool.submit(function, *args).result()


def nested_shares(manifest: pd.DataFrame, seed: int = 0) -> dict[float, pd.DataFrame]:
    """Each share of the videos, drawn within every (domain, split, label) so that even the
    smallest share has both classes in every split (at least one video of each), and each
    share inside the next."""
    rng = np.random.default_rng(seed)
    ranks = pd.Series(0.0, index=manifest.index)
    for _, stratum in manifest.groupby(["domain", "split", "label"]):
        ranks[stratum.index] = (rng.permutation(len(stratum)) + 1) / len(stratum)
    first = ranks == ranks.groupby([manifest["domain"], manifest["split"], manifest["label"]]).transform("min")
    return {share: manifest[(ranks <= share) | first] for share in SHARES}


def validation_rows(videos: pd.DataFrame, frames: int) -> int:
    """Frames of the training domain's validation videos among ``videos``: what the
    trainer's validation scores, its smallest scored set (a scoring batch holds as many
    frames as a training batch)."""
    from analysis.evaluation.scores_table import SOURCE

    return int(((videos["domain"] == SOURCE) & (videos["split"] == "val")).sum()) * frames


def small_profile(size: int, frames: int):
    """The paper profile's recipe at small sizes, one epoch, on the CPU."""
    from analysis.profiles import Preprocessing, apply_overrides, get_profile

    profile = apply_overrides(get_profile("paper"), [
        "device=cpu", "models.pretrained=false", f"models.input_size={size}", "recipe.warmup_epochs=0",
        "recipe.epochs=1", "recipe.batch_size=8", "recipe.train_frames_per_video=1", "threads_per_run=1",
        f"per_model.{MODEL}.epochs=1", f"per_model.{MODEL}.batch_size=8"])
    return replace(profile, preprocessing=Preprocessing(frames_per_video=frames, crop_size=size, clip_crop_size=size))


def main() -> None:
    from analysis.data.manifest import read_manifest, write_manifest
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=float, default=1.0, help="share of the full-size trees' videos")
    parser.add_argument("--size", type=int, default=112, help="crop and input size, px")
    parser.add_argument("--frames", type=int, default=4, help="frames per video")
    parser.add_argument("--out", type=Path, help="working folder (default: a temporary one, removed after)")
    args = parser.parse_args()
    os.environ.setdefault("TQDM_DISABLE", "1")
    profile = small_profile(args.size, args.frames)
    batch = profile.recipe_for(MODEL).batch_size  # frames of a scoring batch, as of a training one
    root = Path(args.out or tempfile.mkdtemp(prefix="memory_scale_"))
    root.mkdir(parents=True, exist_ok=True)
    try:
        templates = face_templates(root, frames=args.frames + 2)
        ffpp, celebdf = build_trees(root / "trees", templates, args.scale)
        full = root / "manifest_all.csv"
        index_mb = {1.0: in_fresh_process(stage_index, ffpp, celebdf, full)}
        for share in SHARES[:-1]:  # trees of the share's size, for the index stage alone
            trees = build_trees(root / f"trees_{share:.0%}", templates, args.scale * share)
            index_mb[share] = in_fresh_process(stage_index, *trees, root / f"index_{share:.0%}.csv")
        manifest = read_manifest(full)
        shares = nested_shares(manifest)
        rows = {share: validation_rows(videos, args.frames) for share, videos in shares.items()}
        print(f"{len(manifest)} videos indexed ({args.scale:.0%} of full size), crops {args.size} px, "
              f"{args.frames} frames; peak resident memory per stage, MB (val rows: the share's validation "
              f"frames, a scoring batch holds {batch}):", flush=True)
        print(f"{'share':>6} {'videos':>7} {'val rows':>8} {'index':>7} {'preprocess':>11} {'train':>7} {'score':>7}"
              "  seconds", flush=True)
        peaks = []
        for share, videos in shares.items():
            part = root / f"manifest_{share:.0%}.csv"
            write_manifest(videos, part)
            run, started = root / f"run_{share:.0%}", time.perf_counter()
            row, seconds = [index_mb[share]], []
            for stage, stage_args in ((stage_preprocess, (part, root / "cache", profile.preprocessing)),
                                      (stage_train, (part, root / "cache", run, profile)),
                                      (stage_score, (part, root / "cache", run, profile))):
                row.append(in_fresh_process(stage, *stage_args))
                seconds.append(f"{time.perf_counter() - started:.0f}")
                started = time.perf_counter()
            peaks.append(row)
            print(f"{share:6.0%} {len(videos):7d} {rows[share]:8d} "
                  + " ".join(f"{v:{w}.0f}" for v, w in zip(row, (7, 11, 7, 7))) + "  " + "/".join(seconds), flush=True)
        for first, peak in zip(SHARES[:2], peaks[:2]):
            change = np.array(peaks[-1]) / np.array(peak) - 1
            print(f"change from {first:.0%} to 100 %: " + ", ".join(
                f"{name} {c:+.0%}" for name, c in zip(("index", "preprocess", "train", "score"), change))
                + f" (flat: within {FLAT:.0%}: {'yes' if (np.abs(change) <= FLAT).all() else 'NO'})"
                + ("" if rows[first] >= batch else
                   f"; NOT COMPARABLE: the {first:.0%} share's validation fills {rows[first]} of a scoring batch's "
                   f"{batch} rows, so its train and score peaks are lower for that reason; --scale of "
                   f"about {args.scale * batch / rows[first]:.2f} or more fills it"))
    finally:
        if args.out is None:
            shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
