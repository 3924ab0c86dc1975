"""Which videos a profile studies: the embedded benchmark, or the real datasets' manifests.

Paths only: the ``data`` stage of :mod:`analysis.run` generates the benchmark and writes
the study manifest; chapters and later stages read them from here.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from analysis.data.manifest import read_manifest, write_manifest
from analysis.errors import UserInputError
from analysis.paths import benchmark_dir, benchmark_manifest  # noqa: F401  (callers' names)
from analysis.paths import MANIFEST_DIR, combined_manifest
from analysis.profiles import Profile, as_profile


def study_manifest(profile: str | Profile) -> Path:
    """The manifest every stage of a profile reads (written by the ``data`` stage): the
    benchmark's own, or FF++ and Celeb-DF combined."""
    profile = as_profile(profile)
    if profile.studies_benchmark:
        return benchmark_manifest(profile.name)
    return combined_manifest(profile.name)


def real_manifests(profile: Profile) -> list[Path]:
    """The real datasets' manifests a REAL profile combines, or a message naming what to run."""
    paths = [MANIFEST_DIR / name for name in profile.data.manifests]
    missing = [p for p in paths if not p.is_file()]
    if missing:
        raise UserInputError(
            f"The {profile.name} profile needs the real datasets' manifests, and "
            f"{', '.join(str(p) for p in missing)} is missing. Make them with "
            f"`python -m analysis index ffpp ROOT --out {paths[0]}` and "
            f"`python -m analysis index celebdf ROOT --out {paths[-1]}` (see README)."
        )
    return paths


def combine_real_manifests(profile: Profile, out: Path) -> Path:
    """FF++ (source domain) and Celeb-DF (target domain) in one manifest."""
    combined = pd.concat([read_manifest(path) for path in real_manifests(profile)], ignore_index=True)
    return write_manifest(combined, out)
