"""Which videos a profile studies: the embedded benchmark, or the real datasets' manifests."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from analysis import synthetic
from analysis.errors import UserInputError
from analysis.manifest import read_manifest, write_manifest
from analysis.paths import MANIFEST_DIR, run_dir

REAL_MANIFESTS = {  # the paper profile's manifests, made by `python -m analysis index`
    "ffpp": MANIFEST_DIR / "ffpp_c23.csv",
    "celebdf": MANIFEST_DIR / "celebdf_v2.csv",
}
BENCHMARK_FOR_REAL_PROFILES = "cpu"  # the benchmark chapter's size when a profile has none


def benchmark_manifest(profile: str, seed: int) -> Path:
    """The embedded benchmark at the profile's size (the cpu size for ``paper``),
    generated if missing or stale."""
    size = profile if profile in synthetic.SIZES else BENCHMARK_FOR_REAL_PROFILES
    return synthetic.ensure_benchmark(run_dir(size) / "benchmark", profile=size, seed=seed)


def benchmark_face_detections(profile: str, seed: int, frames_per_video: int) -> pd.DataFrame:
    """MTCNN's per-video counts on the benchmark (``frames``, ``faces``).

    When the benchmark is the profile's own data, they come from the study's preprocessing
    (which runs MTCNN on every sampled frame anyway and caches the result), so MTCNN runs
    once per frame in the whole book. Otherwise (``paper``) ``frames_per_video`` frames of
    every benchmark video are sampled and detected here.
    """
    from analysis import face_detect
    from analysis.preprocess import ensure_preprocessed
    from analysis.profiles import get_profile

    manifest_path = benchmark_manifest(profile, seed)
    if profile not in synthetic.SIZES:
        return face_detect.detection_rate(read_manifest(manifest_path), frames_per_video)
    report = ensure_preprocessed(manifest_path, run_dir(profile) / "cache", get_profile(profile))
    ok = report[report["status"] == "ok"]
    return ok.rename(columns={"frames_sampled": "frames", "faces_found": "faces"})


def study_manifest(profile: str, seed: int) -> Path:
    """The manifest every stage of a profile reads.

    ``cpu`` and ``tiny`` study the embedded benchmark. ``paper`` studies FF++ C23 (the
    source domain) and Celeb-DF v2 (the target domain), combined from the manifests the
    ``index`` commands wrote under ``data_manifests/``.
    """
    if profile in synthetic.SIZES:
        return benchmark_manifest(profile, seed)
    missing = [name for name, path in REAL_MANIFESTS.items() if not path.is_file()]
    if missing:
        raise UserInputError(
            f"The {profile} profile needs the real datasets' manifests, and "
            f"{', '.join(str(REAL_MANIFESTS[m]) for m in missing)} is missing. Make them with "
            f"`python -m analysis index ffpp ROOT --out {REAL_MANIFESTS['ffpp']}` and "
            f"`python -m analysis index celebdf ROOT --out {REAL_MANIFESTS['celebdf']}` (see README)."
        )
    combined = pd.concat([read_manifest(path) for path in REAL_MANIFESTS.values()], ignore_index=True)
    return write_manifest(combined, run_dir(profile) / "manifest.csv")
