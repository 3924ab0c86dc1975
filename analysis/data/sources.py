"""Which videos a profile studies: the embedded benchmark, or the real datasets' manifests.

Paths only: the ``data`` stage of :mod:`analysis.run` generates the benchmark and writes
the study manifest; chapters and later stages read them from here.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import pandas as pd

from analysis.data.indexing import CELEBDF_ALL, CELEBDF_OFFICIAL, SELECTION
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


def manifest_path(name: str) -> Path:
    """Where a profile's manifest name points: ``~`` expanded; a relative name under
    ``data_manifests/``, or else, if the file is there, under the current folder."""
    path = Path(name).expanduser()
    if path.is_absolute() or (MANIFEST_DIR / path).is_file() or not path.is_file():
        return MANIFEST_DIR / path
    return path.absolute()


def real_manifests(profile: Profile) -> list[Path]:
    """The real datasets' manifests a REAL profile combines, or a message naming what to run."""
    if not profile.data.manifests:
        raise UserInputError(
            f"The {profile.name} profile lists no manifests (data.manifests is empty): give the FF++ and the "
            "Celeb-DF manifests that `python -m analysis index ffpp ROOT --out F` and `... index celebdf ROOT "
            "--out C` wrote, e.g. -o 'data.manifests=[F,C]' (see README).")
    paths = [manifest_path(name) for name in profile.data.manifests]
    missing = [p for p in paths if not p.is_file()]
    if missing:
        raise UserInputError(
            f"The {profile.name} profile needs the real datasets' manifests, and "
            f"{', '.join(str(p) for p in missing)} {'is' if len(missing) == 1 else 'are'} missing (a relative name "
            f"is read under {MANIFEST_DIR}, or the current folder). Make them with "
            f"`python -m analysis index ffpp ROOT --out {paths[0]}` and "
            f"`python -m analysis index celebdf ROOT --out {paths[-1]}` (see README)."
        )
    return paths


# the word of a profile's dataset name that says which part of the release a manifest holds, and that part in words
_SELECTION_WORDS = {"raw": "raw", "c23": "c23", "c40": "c40", CELEBDF_OFFICIAL: "official", CELEBDF_ALL: "all"}
_SELECTION_TEXT = {CELEBDF_OFFICIAL: "the official test list's videos",
                   CELEBDF_ALL: "every video (indexed with --all-videos)"}


def _named_as_indexed(combined: pd.DataFrame, profile: Profile) -> None:
    """Refuse a manifest of another part of the release than the profile's dataset names
    say (the book prints them): FF++ at c40 under "FaceForensics++ C23", Celeb-DF's every
    video under "official test list". Manifests written before the column say nothing."""
    if SELECTION not in combined.columns:
        return
    for domain, attribute in (("source", "source_dataset"), ("target", "target_dataset")):
        name = getattr(profile.data, attribute)
        held = sorted(set(combined.loc[combined["domain"] == domain, SELECTION].astype(str)) - {"", "nan"})
        wrong = [s for s in held if s in _SELECTION_WORDS and not re.search(rf"\b{_SELECTION_WORDS[s]}\b", name, re.I)]
        if wrong:
            raise UserInputError(
                f"The {domain} domain's manifest holds "
                f"{' and '.join(_SELECTION_TEXT.get(s, f'videos at compression {s}') for s in held)}, but the "
                f"{profile.name} profile "
                f"names its {domain} data {name!r}, as the book will print it: index what the profile names, or "
                f"name what was indexed with -o \"data.{attribute}=...\".")


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
    _named_as_indexed(combined.assign(domain=domains), profile)
    for domain, splits in STUDY_DESIGN.items():
        for split in splits:
            labels = set(combined.loc[(domains == domain) & (combined["split"] == split), "label"])
            if labels != {0, 1}:
                lacking = " or ".join(name for label, name in ((0, "real"), (1, "fake")) if label not in labels)
                raise UserInputError(
                    f"{origin} {'hold' if len(paths) > 1 else 'holds'} no {lacking} video in the {domain} domain's "
                    f"{split} split, which the study "
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
