"""The embedded benchmark: procedurally generated face videos in two domains.

It stands in for FaceForensics++ C23 (the ``source`` domain, where detectors train) and
Celeb-DF v2 (the ``target`` domain, seen only at test time). Each manipulation method
is built to carry one declared kind of anomaly (``METHODS`` says which and how).

Like FF++, identities come in pairs ``(a, b)``; a manipulated video ``a_b`` shows
``a``'s video with something taken from ``b``, and every pair yields one real video per
identity and one fake per method and direction (real:fake = 1:4 in the source domain).
Every manipulated frame is a composite of the source video's frame and a second render,
so the frame changes only inside the method's mask. Camera noise is added after
compositing with the same noise as the source video, and each domain is encoded at one
fixed H.264 quality, as FF++ "c23" is.

The strengths below were fixed when the methods were written, from what each artefact
should look like, and are not tuned to any detector's results.
"""

from __future__ import annotations

import json
import os
import shutil
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import asdict, dataclass, replace
from pathlib import Path

import av
import cv2
import numpy as np
import pandas as pd
from tqdm import tqdm

from analysis.errors import UserInputError
from analysis.faces import Expression, Identity, Light, Pose, random_identity, region_alpha, render
from analysis.manifest import read_manifest, write_manifest
from analysis.splits import check_disjoint, identity_split
from analysis.video import write_video

DATASET = "synthetic"
REAL_METHOD = "original"
METHODS = {  # method: (declared anomaly view, what it changes)
    "blend_swap": (
        "spatial",
        "another identity's inner face, pasted at 0.6x resolution with a hard seam and "
        "its skin tone only half corrected towards the target's",
    ),
    "relight": (
        "global",
        "the face lit from the other side with the other video's light strength and a "
        "warm or cool cast, while hair, ears, neck and scene keep the scene's light",
    ),
    "jitter_swap": (
        "temporal",
        "another identity's inner face, colour-matched and feathered, but aligned "
        "independently in every frame (jitter), with frame-to-frame brightness flicker",
    ),
    "lip_desync": (
        "temporal",
        "the mouth driven by the other person's speech, out of step with the head nods "
        "that follow the person's own speech",
    ),
    "refined_swap": (
        "spatial+temporal",
        "a colour-corrected, feathered, temporally stabilised swap at 0.75x resolution "
        "whose swapped eyes never blink",
    ),
}
ANOMALY_VIEWS = {method: view for method, (view, _) in METHODS.items()}


RELIGHT_TINTS = ((1.0, 0.9, 0.75), (0.8, 0.92, 1.0))  # warm or cool cast on the relit face


@dataclass(frozen=True)
class DomainStyle:
    """What a domain looks like: image size, quality, scenes, lighting, methods."""

    name: str
    width: int
    height: int
    crf: int  # H.264 constant rate factor, fixed for the domain
    background: str  # "studio" or "outdoor"
    warmth: tuple[float, float]  # light colour: < 0 cool, > 0 warm
    ambient: tuple[float, float]
    diffuse: tuple[float, float]
    noise_sigma: tuple[float, float]  # camera noise, in 8-bit grey levels
    face_scale: tuple[float, float]  # face half-width as a fraction of the frame height
    methods: tuple[str, ...]


DOMAINS = {
    "source": DomainStyle(
        name="source", width=160, height=160, crf=23, background="studio",
        warmth=(-0.2, 0.4), ambient=(0.45, 0.58), diffuse=(0.5, 0.65),
        noise_sigma=(1.5, 3.5), face_scale=(0.19, 0.23),
        methods=("blend_swap", "relight", "jitter_swap", "lip_desync"),
    ),
    "target": DomainStyle(
        name="target", width=176, height=144, crf=30, background="outdoor",
        warmth=(-0.6, 0.9), ambient=(0.3, 0.45), diffuse=(0.6, 0.8),
        noise_sigma=(2.5, 5.0), face_scale=(0.2, 0.25),
        methods=("refined_swap",),
    ),
}


@dataclass(frozen=True)
class BenchmarkSize:
    source_pairs: int
    target_pairs: int
    frames: int
    fps: int


SIZES = {
    "cpu": BenchmarkSize(source_pairs=40, target_pairs=15, frames=16, fps=8),
    "tiny": BenchmarkSize(source_pairs=4, target_pairs=2, frames=6, fps=6),
}


def get_size(profile: str) -> BenchmarkSize:
    if profile not in SIZES:
        raise UserInputError(
            f"The embedded benchmark has no size for profile {profile!r}; choose one of "
            f"{sorted(SIZES)}. The paper profile runs on the real datasets (see README)."
        )
    return SIZES[profile]


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


def _light(rng: np.random.Generator, style: DomainStyle) -> Light:
    direction = np.array([rng.uniform(-0.8, 0.8), rng.uniform(-0.6, 0.2), rng.uniform(0.6, 1.0)])
    warmth = rng.uniform(*style.warmth)
    colour = (1.0, 1.0 - 0.08 * warmth, 1.0 - 0.2 * warmth) if warmth > 0 else (1.0 + 0.15 * warmth, 1.0, 1.0)
    return Light(
        direction=tuple(float(x) for x in direction / np.linalg.norm(direction)),
        colour=tuple(float(c) for c in colour),
        ambient=float(rng.uniform(*style.ambient)),
        diffuse=float(rng.uniform(*style.diffuse)),
    )


def _background(rng: np.random.Generator, style: DomainStyle, light: Light) -> np.ndarray:
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


def make_scene(rng: np.random.Generator, style: DomainStyle, size: BenchmarkSize) -> Scene:
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


def _finish(frames: list[np.ndarray], scene: Scene) -> np.ndarray:
    """Add the scene's camera noise (same draw for a real video and its fakes) -> uint8."""
    stack = np.stack(frames) * 255.0
    noise = np.random.default_rng(scene.noise_seed).normal(0, scene.noise_sigma, stack.shape)
    return np.clip(stack + noise, 0, 255).round().astype(np.uint8)


def _composite(base: np.ndarray, donor: np.ndarray, alpha: np.ndarray) -> np.ndarray:
    return base + alpha[..., None] * (donor - base)


def _degrade(image: np.ndarray, factor: float) -> np.ndarray:
    """Down- then up-sample: the resolution mismatch of a face synthesised at low resolution."""
    h, w = image.shape[:2]
    small = cv2.resize(image, (max(2, round(w * factor)), max(2, round(h * factor))), interpolation=cv2.INTER_AREA)
    return cv2.resize(small, (w, h), interpolation=cv2.INTER_LINEAR)


def render_real(identity: Identity, scene: Scene) -> list[np.ndarray]:
    return [render(scene.background, identity, p, e, scene.light) for p, e in zip(scene.poses, scene.expressions)]


def render_fake(
    method: str,
    target: Identity,
    donor: Identity,
    scene: Scene,
    donor_scene: Scene,
    real_frames: list[np.ndarray],
    rng: np.random.Generator,
) -> list[np.ndarray]:
    """Manipulate ``target``'s video (``scene``, already rendered as ``real_frames``)
    with what ``method`` takes from ``donor`` and its video ``donor_scene``."""
    shape = real_frames[0].shape[:2]
    out = []
    if method == "relight":
        lx, ly, lz = scene.light.direction
        flipped = np.array([-np.sign(lx or 1.0) * max(abs(lx), 0.5), ly, lz])
        tint = RELIGHT_TINTS[rng.integers(len(RELIGHT_TINTS))]
        relit = replace(
            donor_scene.light,
            direction=tuple(float(x) for x in flipped / np.linalg.norm(flipped)),
            colour=tuple(float(c) for c in np.multiply(scene.light.colour, tint)),
        )
    for i, (frame, pose, expression) in enumerate(zip(real_frames, scene.poses, scene.expressions)):
        if method == "blend_swap":
            halfway = replace(donor, skin=tuple((np.add(donor.skin, target.skin) / 2).tolist()))
            donor_frame = _degrade(render(scene.background, halfway, pose, expression, scene.light), 0.6)
            alpha = region_alpha(halfway, pose, shape, "inner", feather_px=0.7)
        elif method == "relight":
            donor_frame = render(scene.background, target, pose, expression, relit)
            alpha = region_alpha(target, pose, shape, "face", feather_px=1.0)
        elif method == "jitter_swap":
            matched = replace(donor, skin=target.skin)
            jittered = pose.shifted(rng.normal(0, 1.2), rng.normal(0, 1.2), 1 + rng.normal(0, 0.025))
            jittered = replace(jittered, roll=jittered.roll + rng.normal(0, 0.03))
            donor_frame = render(scene.background, matched, jittered, expression, scene.light)
            donor_frame = donor_frame * (1 + rng.normal(0, 0.04))
            alpha = region_alpha(matched, jittered, shape, "inner", feather_px=3.0)
        elif method == "lip_desync":
            spoken = replace(expression, mouth_open=float(donor_scene.speech[i]))
            donor_frame = render(scene.background, target, pose, spoken, scene.light)
            alpha = region_alpha(target, pose, shape, "mouth", feather_px=3.0)
        elif method == "refined_swap":
            matched = replace(donor, skin=target.skin)
            drift = 0.6 * np.sin(2 * np.pi * 0.7 * i / len(real_frames) + rng.uniform(0, 0.3))
            steady = pose.shifted(drift, 0.5 * drift)
            never_blinks = replace(expression, eye_open=1.0)
            donor_frame = _degrade(render(scene.background, matched, steady, never_blinks, scene.light), 0.75)
            donor_frame = donor_frame * (1 + rng.normal(0, 0.015))
            alpha = region_alpha(matched, steady, shape, "inner", feather_px=4.0)
        else:
            raise ValueError(f"unknown manipulation method {method!r}; expected one of {sorted(ANOMALY_VIEWS)}")
        out.append(np.clip(_composite(frame, donor_frame, alpha), 0, 1))
    return out


def _pair_job(args: tuple) -> tuple[list[dict], list[Identity]]:
    """Render and encode one identity pair's real and fake videos; return the manifest
    rows and the two identities."""
    seed, domain, index, size, out_dir = args
    style = DOMAINS[domain]
    domain_index = list(DOMAINS).index(domain)
    rng = np.random.default_rng([seed, domain_index, index])
    prefix = domain[0]
    ids = (f"{prefix}{2 * index:03d}", f"{prefix}{2 * index + 1:03d}")
    people = {i: random_identity(rng, i) for i in ids}
    scenes = {i: make_scene(rng, style, size) for i in ids}
    reals = {i: render_real(people[i], scenes[i]) for i in ids}
    rows = []

    def emit(method: str, video_id: str, frames: np.ndarray, source_id: str, target_id: str) -> None:
        relative = Path("videos") / domain / method / f"{video_id}.mp4"
        write_video(out_dir / relative, frames, fps=size.fps, crf=style.crf)
        rows.append(
            {
                "dataset": DATASET, "domain": domain, "video_id": video_id, "path": str(relative),
                "label": int(method != REAL_METHOD), "method": method,
                "source_id": source_id, "target_id": target_id,
                "anomaly_view": ANOMALY_VIEWS.get(method, "none"),
                "frames": size.frames, "fps": size.fps, "width": style.width,
                "height": style.height, "crf": style.crf,
            }
        )

    for i in ids:
        emit(REAL_METHOD, i, _finish(reals[i], scenes[i]), i, "")
    for method in style.methods:
        for a, b in (ids, ids[::-1]):
            frames = render_fake(method, people[a], people[b], scenes[a], scenes[b], reals[a], rng)
            emit(method, f"{a}_{b}", _finish(frames, scenes[a]), a, b)
    return rows, list(people.values())


def generate(out_dir: Path, *, profile: str = "cpu", seed: int = 0, workers: int | None = None) -> pd.DataFrame:
    """Write the benchmark's videos, ``manifest.csv``, ``identities.csv`` and
    ``benchmark.json`` into ``out_dir``; return the manifest, with absolute paths."""
    size = get_size(profile)
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    jobs = [(seed, "source", k, size, out_dir) for k in range(size.source_pairs)]
    jobs += [(seed, "target", k, size, out_dir) for k in range(size.target_pairs)]
    workers = workers or min(len(jobs), os.cpu_count() or 1)
    started = time.perf_counter()
    with ProcessPoolExecutor(max_workers=workers) as pool:
        results = list(tqdm(pool.map(_pair_job, jobs), total=len(jobs), desc="identity pairs", unit="pair"))
    manifest = pd.DataFrame([row for rows, _ in results for row in rows])
    people = [
        {"domain": "source" if p.identity_id.startswith("s") else "target", **asdict(p)}
        for _, identities in results
        for p in identities
    ]
    manifest["split"] = assign_splits(manifest, seed=seed)
    write_manifest(manifest, out_dir / "manifest.csv")
    pd.DataFrame(people).to_csv(out_dir / "identities.csv", index=False)
    record = {
        "profile": profile, "seed": seed, "size": asdict(size),
        "domains": {name: asdict(style) for name, style in DOMAINS.items()},
        "anomaly_views": ANOMALY_VIEWS, "videos": len(manifest),
        "seconds": round(time.perf_counter() - started, 1), "workers": workers,
        "fingerprint": fingerprint(profile, seed),
    }
    (out_dir / "benchmark.json").write_text(json.dumps(record, indent=2))
    return read_manifest(out_dir / "manifest.csv")


def assign_splits(manifest: pd.DataFrame, *, seed: int) -> pd.Series:
    """Identity-component split of the source domain (the one ``index ffpp`` uses);
    the target domain is test only."""
    source = manifest["domain"] == "source"
    fakes = manifest[source & (manifest["target_id"] != "")]
    assignment = identity_split(
        manifest.loc[source, "source_id"], zip(fakes["source_id"], fakes["target_id"]), seed=seed
    )
    split = manifest["source_id"].map(assignment).where(source, "test")
    check_disjoint(((s, t), sp) for s, t, sp in zip(manifest["source_id"], manifest["target_id"], split))
    return split


def fingerprint(profile: str, seed: int) -> str:
    """Identifies what a generated benchmark depends on: the generator's code, the video
    library, the size and the seed. A benchmark with another fingerprint is stale."""
    import hashlib

    from analysis import faces, video

    digest = hashlib.sha256()
    for path in (faces.__file__, video.__file__, __file__):
        digest.update(Path(path).read_bytes())
    digest.update(f"{av.__version__}|{profile}|{seed}".encode())
    return digest.hexdigest()[:16]


def ensure_benchmark(out_dir: Path, *, profile: str, seed: int) -> Path:
    """Generate the benchmark into ``out_dir`` unless an up-to-date one is there;
    return the path of its manifest."""
    out_dir = Path(out_dir)
    record_path = out_dir / "benchmark.json"
    expected = fingerprint(profile, seed)
    if record_path.is_file() and json.loads(record_path.read_text()).get("fingerprint") == expected:
        return out_dir / "manifest.csv"
    if out_dir.exists():
        shutil.rmtree(out_dir)
    generate(out_dir, profile=profile, seed=seed)
    return out_dir / "manifest.csv"


def method_table() -> pd.DataFrame:
    """The manipulation methods, the domain that uses each and its declared view."""
    rows = [
        {"method": m, "domain": d, "anomaly view": view, "what it changes": text}
        for d, style in DOMAINS.items()
        for m in style.methods
        for view, text in [METHODS[m]]
    ]
    return pd.DataFrame(rows)


def source_video(manifest: pd.DataFrame, fake: pd.Series) -> pd.Series:
    """The real video a manipulated one was made from (same domain, id ``source_id``)."""
    match = manifest[
        (manifest["domain"] == fake["domain"])
        & (manifest["method"] == REAL_METHOD)
        & (manifest["video_id"] == fake["source_id"])
    ]
    return match.iloc[0]


def example_videos(manifest: pd.DataFrame, domain: str, n: int) -> list[dict[str, str]]:
    """For the first ``n`` real videos of a domain's test split: the path of the real
    video and of each method's fake made from it (``{method: path}``)."""
    rows = manifest[(manifest["domain"] == domain) & (manifest["split"] == "test")]
    examples = []
    for real in rows[rows["method"] == REAL_METHOD].head(n).itertuples():
        fakes = rows[(rows["source_id"] == real.source_id) & (rows["label"] == 1)]
        examples.append({REAL_METHOD: real.path, **dict(zip(fakes["method"], fakes["path"]))})
    return examples
