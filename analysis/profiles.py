"""Profiles: one named, frozen set of run parameters.

``cpu`` is the default and runs the embedded benchmark on a laptop CPU; ``paper`` is the
seeds' recipe on FaceForensics++ C23 -> Celeb-DF v2 on CUDA; ``tiny`` exists for tests.
Chapters receive the profile name as a papermill parameter and look it up here.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

from analysis.errors import UserInputError


@dataclass(frozen=True)
class Profile:
    """Parameters that differ between a laptop run and the paper recipe."""

    name: str
    description: str
    source_dataset: str  # training domain
    target_dataset: str  # cross-domain test set, touched once for reporting
    frames_per_video: int
    crop_size: int  # face crops for the 2-D models
    clip_crop_size: int  # face crops for the 3-D (R3D) models

    def as_dict(self) -> dict:
        return asdict(self)


PROFILES = {
    "cpu": Profile(
        name="cpu",
        description="embedded synthetic benchmark, sized for a 2-core laptop CPU",
        source_dataset="synthetic source domain",
        target_dataset="synthetic target domain",
        frames_per_video=8,
        crop_size=64,
        clip_crop_size=64,
    ),
    "paper": Profile(
        name="paper",
        description="the seeds' recipe on the real datasets, on a CUDA GPU",
        source_dataset="FaceForensics++ C23",
        target_dataset="Celeb-DF v2 (official 518-video test list)",
        frames_per_video=20,  # ResNeXt50 + LSTM reads 20; the 16-frame models take 16 of them
        crop_size=224,
        clip_crop_size=112,
    ),
    "tiny": Profile(
        name="tiny",
        description="a few seconds of work, for tests",
        source_dataset="synthetic source domain",
        target_dataset="synthetic target domain",
        frames_per_video=4,
        crop_size=48,
        clip_crop_size=32,
    ),
}


def get_profile(name: str) -> Profile:
    """Look a profile up by name, with the list of choices on a typo."""
    try:
        return PROFILES[name]
    except KeyError:
        raise UserInputError(
            f"Unknown profile {name!r}; choose one of {sorted(PROFILES)}."
        ) from None
