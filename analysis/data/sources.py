"""Which videos a profile studies: the embedded benchmark, or the real datasets' manifests.

Paths only: the ``data`` stage of :mod:`analysis.run` generates the benchmark and writes
the study manifest; chapters and later stages read them from here.
"""

from __future__ import annotations

import os
from pathlib import Path

import pandas as pd

from analysis.data.manifest import read_manifest, validate_manifest, write_manifest
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


# what the study reads of each domain: the detectors learn and choose on source train and
# val, and are tested on both domains' test videos, real and fake
STUDY_DESIGN = {"source": ("train", "val", "test"), "target": ("test",)}


def real_videos(profile: Profile) -> pd.DataFrame:
    """FF++ (source domain) and Celeb-DF (target domain) as one manifest, refused, naming
    what to fix, when it cannot carry the study: a video in two manifests, a split of
    :data:`STUDY_DESIGN` without real or without fake videos, or videos that are not on
    this machine (preprocessing would count them as unreadable and go on without them)."""
    paths = real_manifests(profile)
    origin = " and ".join(str(p) for p in paths)
    combined = validate_manifest(pd.concat([read_manifest(p) for p in paths], ignore_index=True), origin=origin)
    domains = combined["domain"] if "domain" in combined.columns else pd.Series("", index=combined.index)
    for domain, splits in STUDY_DESIGN.items():
        for split in splits:
            labels = set(combined.loc[(domains == domain) & (combined["split"] == split), "label"])
            if labels != {0, 1}:
                lacking = " or ".join(name for label, name in ((0, "real"), (1, "fake")) if label not in labels)
                raise UserInputError(
                    f"{origin} hold no {lacking} video in the {domain} domain's {split} split, which the study "
                    "reads: index FaceForensics++ (source) and Celeb-DF (target) with `python -m analysis index` "
                    "and list both manifests in the profile's data.manifests.")
    missing = combined.loc[~combined["path"].map(os.path.isfile), "path"]
    if len(missing):
        raise UserInputError(
            f"{len(missing)} of the {len(combined)} videos {origin} list are not on this machine, e.g. "
            f"{missing.iloc[0]}: make the datasets reachable at the paths they were indexed at (every machine "
            "of a run needs the same paths), or index them again here.")
    return combined


def combine_real_manifests(profile: Profile, out: Path) -> Path:
    """Write :func:`real_videos` as the study manifest."""
    return write_manifest(real_videos(profile), out)
