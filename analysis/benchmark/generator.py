"""The embedded benchmark: procedurally generated face videos in named subsets.

The ``source`` domain stands in for FaceForensics++ C23 (detectors train and are selected
there). The ``target`` domain stands in for Celeb-DF v2 (seen once, for testing) and is
made of three named subsets, one per declared mechanism of domain shift, so that the
generalization gap can be read per kind of shift:

* ``unseen_method``: the source's capture and codec, but a manipulation method no source
  video uses (``refined_swap``: every source-swap artefact at half its dose, plus eyes
  that never blink);
* ``unseen_capture``: the source's four methods, but an unseen capture and codec
  (stronger H.264 compression, faces at 2/3 of the pixel size, more camera noise,
  outdoor scenes);
* ``unseen_both``: the unseen method in the unseen capture, as Celeb-DF differs from FF++
  in both.

Like FF++, identities come in pairs ``(a, b)``; a manipulated video ``a_b`` shows ``a``'s
video with something taken from ``b``. Every pair yields one real video per identity and
``fakes_per_pair`` fakes, methods taken in turn (:func:`fake_schedule`). Every fake is a
composite of its real video's frame and a second render (the methods are registered in
:mod:`analysis.benchmark.methods`, which says how each parameter was fixed), so a frame changes only
inside the method's mask. Camera noise is added after compositing with the same draw as
the real video, and each capture is encoded at one fixed H.264 quality.

All parameters here and in :mod:`analysis.benchmark.methods` were written down from what the
artefact and the shift should be before any detector was trained on this benchmark, and
are not tuned to any detector's result. While generating, the shortcut probes' features of
every video are measured (:mod:`analysis.benchmark.probes`) and written next to the manifest,
and so is every fake's change against its source (:mod:`analysis.benchmark.changes`), from
the same decoded files.
"""

from __future__ import annotations

import json
import os
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import asdict, dataclass
from pathlib import Path

import av
import cv2
import numpy as np
import pandas as pd
from tqdm import tqdm

from analysis.profiles import PROFILES, BenchmarkSize, Profile, as_profile
from analysis.benchmark import changes, probes
from analysis.benchmark.face_render import Expression, Identity, Light, Pose, random_identity, render
from analysis.benchmark.methods import REAL_METHOD, FakeInputs, get_method
from analysis.data.manifest import KEY_COLUMNS, check_disjoint, read_manifest, write_manifest
from analysis.data.splits import identity_split
from analysis.paths import FAKE_CHANGES_FILE
from analysis.preprocess.video import read_video, write_video

DATASET = "synthetic"
SOURCE, TARGET = "source", "target"


@dataclass(frozen=True)
class Capture:
    """How a domain's videos are filmed and encoded: frame size, codec quality, scenes,
    lighting, camera noise and how large the face is in the frame."""

    name: str
    width: int
    height: int
    crf: int  # H.264 constant rate factor, fixed for the capture
    background: str  # "studio" or "outdoor"
    warmth: tuple[float, float]  # light colour: < 0 cool, > 0 warm
    ambient: tuple[float, float]
    diffuse: tuple[float, float]
    noise_sigma: tuple[float, float]  # camera noise, in 8-bit grey levels
    face_scale: tuple[float, float]  # face half-width as a fraction of the frame height


# The source capture stands for FF++ C23: one fixed quality (CRF 23), even studio light,
# faces about as wide (60-75 px) as the 64 px crops the cpu models read.
# The target capture is an *unseen capture and codec*, fixed from what moves a real
# detector off its training distribution, before any detector saw it:
#   - compression CRF 32, halfway between FF++'s c23 and c40 (+9 CRF is about 2.8x the
#     quantiser step), which removes much of the high-frequency detail swaps leave;
#   - faces at 2/3 of the source's pixel size (a wider shot), so crops are upsampled 1.5x;
#   - more camera noise (2.5-5 grey levels: less light), outdoor scenes, wider light colours.
CAPTURES = {
    "studio": Capture(
        name="studio", width=144, height=144, crf=23, background="studio",
        warmth=(-0.2, 0.4), ambient=(0.45, 0.58), diffuse=(0.5, 0.65),
        noise_sigma=(1.5, 3.5), face_scale=(0.21, 0.255),
    ),
    "outdoor": Capture(
        name="outdoor", width=160, height=128, crf=32, background="outdoor",
        warmth=(-0.6, 0.9), ambient=(0.3, 0.45), diffuse=(0.6, 0.8),
        noise_sigma=(2.5, 5.0), face_scale=(0.157, 0.191),
    ),
}


@dataclass(frozen=True)
class Subset:
    """A named part of a domain: one capture, its manipulation methods, and the kind of
    domain shift it declares relative to the source (``none`` for the source itself)."""

    name: str
    domain: str
    shift: str
    capture: str
    methods: tuple[str, ...]
    fakes_per_pair: int  # fakes made from each identity pair, methods taken in turn


SOURCE_METHODS = ("blend_swap", "relight", "jitter_swap", "lip_desync")
UNSEEN_METHODS = ("refined_swap",)
SUBSETS = {
    s.name: s
    for s in (
        Subset("source", SOURCE, "none", "studio", SOURCE_METHODS, fakes_per_pair=4),
        Subset("unseen_method", TARGET, "method", "studio", UNSEEN_METHODS, fakes_per_pair=2),
        Subset("unseen_capture", TARGET, "capture", "outdoor", SOURCE_METHODS, fakes_per_pair=2),
        Subset("unseen_both", TARGET, "method+capture", "outdoor", UNSEEN_METHODS, fakes_per_pair=2),
    )
}
ANOMALY_VIEWS = {name: get_method(name).view for s in SUBSETS.values() for name in s.methods}


SIZES = {name: profile.data.benchmark for name, profile in PROFILES.items()}  # a view of analysis.profiles


def get_size(profile: str | Profile) -> BenchmarkSize:
    """The benchmark size of a profile (a name or a resolved profile object)."""
    return as_profile(profile).data.benchmark


@dataclass
class Scene:
    """One real video before encoding: everything but the person's identity."""

    background: np.ndarray
    light: Light
    poses: list[Pose]
    expressions: list[Expression]
    speech: np.ndarray  # mouth-opening envelope that drove this video's mouth and nods
    noise_seed: int
    noise_sigma: float


def _smooth_noise(rng: np.random.Generator, n: int, sigma_frames: float) -> np.ndarray:
    raw = rng.normal(size=n + 8)
    kernel = np.exp(-0.5 * (np.arange(-4, 5) / sigma_frames) ** 2)
    smooth = np.convolve(raw, kernel / kernel.sum(), mode="same")[4:-4]
    return (smooth - smooth.min()) / (np.ptp(smooth) + 1e-9)


def _light(rng: np.random.Generator, style: Capture) -> Light:
    direction = np.array([rng.uniform(-0.8, 0.8), rng.uniform(-0.6, 0.2), rng.uniform(0.6, 1.0)])
    warmth = rng.uniform(*style.warmth)
    colour = (1.0, 1.0 - 0.08 * warmth, 1.0 - 0.2 * warmth) if warmth > 0 else (1.0 + 0.15 * warmth, 1.0, 1.0)
    return Light(
        direction=tuple(float(x) for x in direction / np.linalg.norm(direction)),
        colour=tuple(float(c) for c in colour),
        ambient=float(rng.uniform(*style.ambient)),
        diffuse=float(rng.uniform(*style.diffuse)),
    )


def _background(rng: np.random.Generator, style: Capture, light: Light) -> np.ndarray:
    h, w = style.height, style.width
    ys, xs = np.mgrid[0:h, 0:w].astype(np.float32)
    top, bottom = rng.uniform(0.15, 0.9, 3), rng.uniform(0.1, 0.8, 3)
    if style.background == "studio":  # vertical gradient and a few wall panels
        image = top + (bottom - top) * (ys / h)[..., None]
        for _ in range(rng.integers(2, 5)):
            x0, y0 = rng.integers(0, w - 10), rng.integers(0, h - 10)
            x1, y1 = x0 + rng.integers(15, w // 2), y0 + rng.integers(15, h // 2)
            image[y0:y1, x0:x1] = image[y0:y1, x0:x1] * 0.5 + rng.uniform(0.1, 0.9, 3) * 0.5
    else:  # sky, horizon and out-of-focus blobs
        horizon = rng.uniform(0.35, 0.65) * h
        image = np.where((ys < horizon)[..., None], top, bottom).astype(np.float32)
        for _ in range(rng.integers(5, 11)):
            cx, cy, r = rng.uniform(0, w), rng.uniform(0, h), rng.uniform(6, 22)
            blob = np.clip(1 - np.hypot(xs - cx, ys - cy) / r, 0, 1)[..., None] ** 0.5
            image = image * (1 - 0.6 * blob) + 0.6 * blob * rng.uniform(0.3, 1.0, 3)
    lx, ly, _ = light.direction
    gradient = 0.5 + 0.5 * ((xs / w - 0.5) * lx + (ys / h - 0.5) * ly)
    shade = light.ambient + light.diffuse * (0.4 + 0.4 * gradient)
    lit = image * shade[..., None] * np.asarray(light.colour, np.float32)
    return np.clip(lit, 0, 1).astype(np.float32)


def _blinks(rng: np.random.Generator, frames: int) -> np.ndarray:
    eye_open = np.ones(frames)
    profile = np.array([0.45, 0.0, 0.5])
    for start in rng.choice(max(frames - 3, 1), size=1 + int(rng.random() < 0.4), replace=False):
        eye_open[start : start + 3] = np.minimum(eye_open[start : start + 3], profile[: frames - start])
    return eye_open


def make_scene(rng: np.random.Generator, style: Capture, size: BenchmarkSize) -> Scene:
    """Draw a real video's scene: background, light, head motion, blinks and speech."""
    light = _light(rng, style)
    background = _background(rng, style, light)
    n, t = size.frames, np.arange(size.frames) / size.fps
    speech = _smooth_noise(rng, n, sigma_frames=0.8) * rng.uniform(0.6, 1.0)
    nod_lag = 1  # the head follows the speech one frame later
    nods = 0.35 * np.concatenate([[speech[0]] * nod_lag, speech[:-nod_lag]])
    scale0 = rng.uniform(*style.face_scale) * style.height
    cx0 = style.width / 2 + rng.uniform(-0.08, 0.08) * style.width
    cy0 = style.height * rng.uniform(0.42, 0.5)
    phase = rng.uniform(0, 2 * np.pi, 5)
    freq = rng.uniform(0.15, 0.45, 5)
    wave = [np.sin(2 * np.pi * freq[i] * t + phase[i]) for i in range(5)]
    yaw0, roll0 = rng.uniform(-0.25, 0.25), rng.uniform(-0.08, 0.08)
    poses = [
        Pose(
            cx=float(cx0 + rng.uniform(2, 6) * wave[0][i]),
            cy=float(cy0 + 2.5 * wave[1][i] + 3.0 * nods[i]),
            scale=float(scale0 * (1 + 0.03 * wave[2][i])),
            roll=float(roll0 + 0.05 * wave[3][i]),
            yaw=float(yaw0 + 0.15 * wave[4][i]),
            pitch=float(nods[i]),
        )
        for i in range(n)
    ]
    expressions = [Expression(eye_open=float(e), mouth_open=float(m)) for e, m in zip(_blinks(rng, n), speech)]
    return Scene(
        background=background,
        light=light,
        poses=poses,
        expressions=expressions,
        speech=speech,
        noise_seed=int(rng.integers(2**31)),
        noise_sigma=float(rng.uniform(*style.noise_sigma)),
    )


def camera_noise(scene: Scene, shape: tuple[int, ...]) -> np.ndarray:
    """The scene's camera noise in grey levels: one draw, the same for a real video and
    every fake made from it (so drawn once per scene and reused)."""
    return np.random.default_rng(scene.noise_seed).normal(0, scene.noise_sigma, shape)


def _finish(frames: list[np.ndarray], noise: np.ndarray) -> np.ndarray:
    """Frames in [0, 1] plus the scene's camera noise -> uint8."""
    return np.clip(np.stack(frames) * 255.0 + noise, 0, 255).round().astype(np.uint8)


def render_real(identity: Identity, scene: Scene) -> list[np.ndarray]:
    return [render(scene.background, identity, p, e, scene.light) for p, e in zip(scene.poses, scene.expressions)]


SUBSET_PREFIX = {"source": "s", "unseen_method": "m", "unseen_capture": "c", "unseen_both": "b"}


def fake_schedule(subset: Subset, index: int) -> list[tuple[str, int]]:
    """``(method, direction)`` of every fake made from pair ``index``: methods are taken
    in turn across pairs and directions alternate, so each method gets the same number
    of fakes and of both directions."""
    n = subset.fakes_per_pair
    return [
        (subset.methods[(index * n + slot) % len(subset.methods)], (index + slot) % 2)
        for slot in range(n)
    ]


def background_mask(real_frames: list[np.ndarray], background: np.ndarray, margin_px: int = 6) -> np.ndarray:
    """Pixels that show only the scene in every frame of a real video (and so in every
    fake made from it), ``margin_px`` away from the person: the background-only probe's
    region."""
    person = np.any([np.abs(f - background).max(axis=-1) > 1e-6 for f in real_frames], axis=0)
    kernel = np.ones((2 * margin_px + 1, 2 * margin_px + 1), np.uint8)
    return cv2.dilate(person.astype(np.uint8), kernel) == 0


def _pair_job(args: tuple) -> tuple[list[dict], list[dict]]:
    """Render and encode one identity pair's real and fake videos; return the manifest
    rows (with the shortcut probes' features) and the two identities."""
    seed, subset_name, index, size, out_dir = args
    subset, subset_index = SUBSETS[subset_name], list(SUBSETS).index(subset_name)
    capture = CAPTURES[subset.capture]
    rng = np.random.default_rng([seed, subset_index, index])
    prefix = SUBSET_PREFIX[subset_name]
    ids = (f"{prefix}{2 * index:03d}", f"{prefix}{2 * index + 1:03d}")
    people = {i: random_identity(rng, i) for i in ids}
    scenes = {i: make_scene(rng, capture, size) for i in ids}
    reals = {i: render_real(people[i], scenes[i]) for i in ids}
    masks = {i: background_mask(reals[i], scenes[i].background) for i in ids}
    rows, decoded_reals = [], {}

    def emit(method: str, video_id: str, frames: np.ndarray, source_id: str, target_id: str) -> None:
        relative = Path("videos") / subset_name / method / f"{video_id}.mp4"
        decoded = read_video(write_video(out_dir / relative, frames, fps=size.fps, crf=capture.crf))
        if method == REAL_METHOD:
            decoded_reals[video_id] = decoded
        rows.append(
            {
                "dataset": DATASET, "domain": subset.domain, "subset": subset_name, "shift": subset.shift,
                "video_id": video_id, "path": str(relative),
                "label": int(method != REAL_METHOD), "method": method,
                "source_id": source_id, "target_id": target_id,
                "anomaly_view": ANOMALY_VIEWS.get(method, "none"),
                "frames": size.frames, "fps": size.fps, "width": capture.width,
                "height": capture.height, "crf": capture.crf, "noise_sigma": round(scenes[source_id].noise_sigma, 3),
                **probes.video_features(out_dir / relative, masks[source_id], decoded),
                **({} if method == REAL_METHOD else changes.change(decoded_reals[source_id], decoded)),
            }
        )

    noise = {i: camera_noise(scenes[i], (len(reals[i]), *reals[i][0].shape)) for i in ids}
    for i in ids:
        emit(REAL_METHOD, i, _finish(reals[i], noise[i]), i, "")
    for method_name, direction in fake_schedule(subset, index):
        a, b = ids if direction == 0 else ids[::-1]
        inputs = FakeInputs(people[a], people[b], scenes[a], scenes[b], reals[a])
        frames = get_method(method_name).render(inputs, rng)
        emit(method_name, f"{a}_{b}", _finish(frames, noise[a]), a, b)
    return rows, [{"domain": subset.domain, "subset": subset_name, **asdict(p)} for p in people.values()]


def generate(out_dir: Path, *, profile: str | Profile = "cpu", seed: int = 0, workers: int | None = None) -> pd.DataFrame:
    """Write the benchmark's videos, ``manifest.csv``, ``identities.csv``,
    ``probe_features.csv``, the fakes' changes and ``benchmark.json`` into ``out_dir``; return the manifest,
    with absolute paths."""
    size = get_size(profile)
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    jobs = [(seed, name, k, size, out_dir) for name, subset in SUBSETS.items() for k in range(size.pairs(subset))]
    workers = workers or min(len(jobs), os.cpu_count() or 1)
    started = time.perf_counter()
    with ProcessPoolExecutor(max_workers=workers) as pool:
        results = list(tqdm(pool.map(_pair_job, jobs, chunksize=4), total=len(jobs), desc="identity pairs", unit="pair"))
    table = pd.DataFrame([row for rows, _ in results for row in rows])
    features = [c for c in table.columns if c.startswith(probes.FEATURE_PREFIX)]
    table["split"] = assign_splits(table, size, seed=seed)
    write_manifest(table.drop(columns=[*features, *changes.CHANGE_COLUMNS]), out_dir / "manifest.csv")
    (out_dir / FAKE_CHANGES_FILE).parent.mkdir(parents=True, exist_ok=True)
    table.loc[table["label"] == 1, ["domain", "subset", "method", "video_id", *changes.CHANGE_COLUMNS]].to_csv(
        out_dir / FAKE_CHANGES_FILE, index=False)
    table[[*KEY_COLUMNS, "domain", "subset", "split", "label", "source_id", "target_id", *features]].to_csv(
        out_dir / probes.FEATURES_FILE, index=False
    )
    pd.DataFrame([p for _, people in results for p in people]).to_csv(out_dir / "identities.csv", index=False)
    record = {
        "profile": as_profile(profile).name, "seed": seed, "size": asdict(size),
        "captures": {name: asdict(c) for name, c in CAPTURES.items()},
        "subsets": {name: asdict(s) for name, s in SUBSETS.items()},
        "methods": {name: {"view": m.view, **m.param_dict()} for name, m in ((n, get_method(n)) for n in ANOMALY_VIEWS)},
        "videos": len(table),
        "seconds": round(time.perf_counter() - started, 1), "workers": workers,
    }
    (out_dir / "benchmark.json").write_text(json.dumps(record, indent=2))
    return read_manifest(out_dir / "manifest.csv")


def assign_splits(manifest: pd.DataFrame, size: BenchmarkSize, *, seed: int) -> pd.Series:
    """Identity-component split of the source domain (the one ``index ffpp`` uses), with
    the profile's numbers of train, validation and test pairs; the target domain is test
    only."""
    source = manifest["domain"] == SOURCE
    fakes = manifest[source & (manifest["target_id"] != "")]
    total = size.train_pairs + size.val_pairs + size.test_pairs
    fractions = {"train": size.train_pairs / total, "val": size.val_pairs / total, "test": size.test_pairs / total}
    assignment = identity_split(
        manifest.loc[source, "source_id"], zip(fakes["source_id"], fakes["target_id"]), seed=seed,
        fractions={k: v for k, v in fractions.items() if v > 0},
    )
    split = manifest["source_id"].map(assignment).where(source, "test")
    check_disjoint(((s, t), sp) for s, t, sp in zip(manifest["source_id"], manifest["target_id"], split))
    return split


def method_table() -> pd.DataFrame:
    """The manipulation methods: where each is used, its declared view and what it changes."""
    rows = [
        {"method": m, "subsets": ", ".join(n for n, s in SUBSETS.items() if m in s.methods),
         "anomaly view": get_method(m).view, "what it changes": get_method(m).description}
        for m in ANOMALY_VIEWS
    ]
    return pd.DataFrame(rows)


def parameter_table() -> pd.DataFrame:
    """Every declared parameter of every method, one row each (the chapter's record of
    what was fixed before any detector was trained)."""
    return pd.DataFrame(
        [{"method": m, "parameter": k, "value": str(v)} for m in ANOMALY_VIEWS for k, v in get_method(m).param_dict().items()]
    )


def subset_table() -> pd.DataFrame:
    """The named subsets: domain, declared shift, capture (size, codec, noise) and methods."""
    rows = []
    for s in SUBSETS.values():
        c = CAPTURES[s.capture]
        rows.append({
            "subset": s.name, "domain": s.domain, "shift": s.shift, "capture": c.name,
            "frame size": f"{c.width}x{c.height}", "H.264 CRF": c.crf,
            "camera noise (grey levels)": f"{c.noise_sigma[0]}-{c.noise_sigma[1]}",
            "face width (px)": f"{2 * c.face_scale[0] * c.height:.0f}-{2 * c.face_scale[1] * c.height:.0f}",
            "methods": ", ".join(s.methods), "fakes per pair": s.fakes_per_pair,
        })
    return pd.DataFrame(rows)


def source_video(manifest: pd.DataFrame, fake: pd.Series) -> pd.Series:
    """The real video a manipulated one was made from (same subset, id ``source_id``)."""
    match = manifest[
        (manifest["subset"] == fake["subset"])
        & (manifest["method"] == REAL_METHOD)
        & (manifest["video_id"] == fake["source_id"])
    ]
    return match.iloc[0]


def example_pairs(manifest: pd.DataFrame, subset: str, n: int) -> list[dict[str, str]]:
    """For every method of a subset, its first ``n`` test fakes and the real video each
    was made from: ``{"method", "real", "fake"}`` paths."""
    rows = manifest[(manifest["subset"] == subset) & (manifest["split"] == "test")]
    examples = []
    for method in SUBSETS[subset].methods:
        for _, fake in rows[rows["method"] == method].head(n).iterrows():
            examples.append({"method": method, "real": source_video(manifest, fake)["path"], "fake": fake["path"]})
    return examples
