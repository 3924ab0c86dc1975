"""The detector people use: ``Detector.from_run(PATH).predict("face.jpg")``.

A detector is one trained run, or the study's ensemble of every run in a folder (such as
``runs/cpu/models``, which ``make book`` fills). A file goes through the same pipeline as
the benchmark videos (frames sampled uniformly in time, MTCNN face crops, flow
midpoints) and each member scores the face crops it can read: an image has no clip, so
temporal members sit out and the breakdown says so.

Ensembles are soft votes: every member's video-level score becomes a fake probability
(classifiers already give one; a one-class scorer's anomaly score is mapped with a
logistic fit on the training domain's validation videos), and the ensemble score is their
mean. The default threshold maximises Youden's J on the same validation videos, for the
members that took part.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path

import av
import numpy as np
import pandas as pd
import torch
from PIL import Image, UnidentifiedImageError

from analysis import ensembles, face_detect, flow, metrics
from analysis.datasets import cache_field, video_input
from analysis.errors import UserInputError
from analysis.models import get_spec, replace_pretrained
from analysis.preprocess import crop_frames
from analysis.profiles import get_profile
from analysis.train import RUN_FORMAT, score_batch
from analysis.video import sample_frames

IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".bmp", ".webp", ".tif", ".tiff"}


@dataclass
class Member:
    """One trained run inside a detector."""

    name: str
    spec: object
    variant: object
    model: torch.nn.Module
    validation: pd.DataFrame  # its video-level scores on the source domain's validation split


@dataclass
class Prediction:
    file: str
    score: float  # ensemble fake probability (a single run: its own score)
    is_fake: bool
    threshold: float
    models: dict[str, float]  # each member's own score (probability or anomaly score)
    skipped: dict[str, str] = field(default_factory=dict)  # members that could not read the file, why
    frames: int = 0
    faces_found: int = 0

    def as_dict(self) -> dict:
        return asdict(self)

    def __str__(self) -> str:
        verdict = "FAKE" if self.is_fake else "real"
        parts = ", ".join(f"{name} {value:.3f}" for name, value in self.models.items())
        skipped = "".join(f"; {name} skipped ({why})" for name, why in self.skipped.items())
        return (f"{self.file}: {verdict}  score {self.score:.3f} (threshold {self.threshold:.3f}); "
                f"{self.faces_found}/{self.frames} frames with a face; {parts}{skipped}")


def _run_folders(path: Path) -> list[Path]:
    path = Path(path)
    if not path.is_dir():
        raise UserInputError(f"Run folder {path} does not exist; pass a folder written by "
                             "`python -m analysis train` or a folder of such runs (runs/cpu/models).")
    if (path / "record.json").is_file():
        return [path]
    runs = sorted(p.parent for p in path.glob("*/record.json"))
    if not runs:
        raise UserInputError(f"{path} holds no trained run: expected record.json in it or in its sub-folders.")
    return runs


def _load_member(run: Path, device: str) -> tuple[Member, str]:
    record = json.loads((run / "record.json").read_text())
    if record.get("run_format") != RUN_FORMAT:
        raise UserInputError(
            f"{run} was written by another version of the study (run format {record.get('run_format')}, "
            f"this code reads {RUN_FORMAT}); retrain it with `python -m analysis train`."
        )
    checkpoint = run / "best.pt"
    if not checkpoint.is_file() or not (run / "scores.csv").is_file():
        raise UserInputError(f"{run} is incomplete: best.pt and scores.csv are written when training ends.")
    spec = get_spec(record["model"])
    profile = record["config"]["profile"]
    variant = spec.variant(profile)
    model = spec.builder(replace_pretrained(variant))
    state = torch.load(checkpoint, map_location=device, weights_only=False)
    try:
        model.load_state_dict(state["model"])
    except RuntimeError as err:
        raise UserInputError(f"{checkpoint} does not fit the current {spec.name} architecture: {err}") from None
    scores = pd.read_csv(run / "scores.csv", dtype={"video_id": str})
    validation = metrics.subset(scores, "source", "val")
    return Member(spec.name, spec, variant, model.to(device).eval(), validation), profile


class Detector:
    """One run or an ensemble of runs, ready to score image and video files."""

    def __init__(self, members: list[Member], profile: str, device: str = "cpu"):
        self.members = {m.name: m for m in members}
        self.profile = get_profile(profile)
        self.device = device
        validation = ensembles.to_wide(pd.concat([m.validation for m in members]))
        self.maps = ensembles.fit_probability_maps(validation, [m.name for m in members if m.spec.one_class])
        self.validation = ensembles.to_probabilities(validation, self.maps) if len(members) > 1 else validation
        self._threshold: float | None = None
        self._face_detector = face_detect.make_detector(device)
        self._flow, _ = flow.make_flow(None, device)

    @classmethod
    def from_run(cls, path: str | Path, device: str | None = None) -> "Detector":
        """Load one run folder, or every run in a folder of runs (one profile)."""
        device = device or ("cuda" if torch.cuda.is_available() else "cpu")
        loaded = [_load_member(run, device) for run in _run_folders(Path(path))]
        profiles = {profile for _, profile in loaded}
        if len(profiles) > 1:
            raise UserInputError(f"{path} mixes runs of profiles {sorted(profiles)}; use one profile's runs.")
        return cls([member for member, _ in loaded], profiles.pop(), device)

    @property
    def names(self) -> list[str]:
        return list(self.members)

    def set_threshold(self, threshold: float) -> None:
        """Use a fixed threshold instead of the one chosen on validation videos."""
        self._threshold = float(threshold)

    def threshold(self, names: list[str]) -> float:
        """The current threshold for an ensemble of ``names``."""
        if self._threshold is not None:
            return self._threshold
        validation = self.validation[names].dropna()
        labels = validation.index.get_level_values("label").to_numpy()
        return metrics.youden_threshold(labels, validation.mean(axis=1).to_numpy())

    def _combine(self, own: dict[str, float]) -> float:
        """A single run's own score, or the soft vote of the members' probabilities."""
        if len(self.members) == 1:
            return next(iter(own.values()))
        row = ensembles.to_probabilities(pd.DataFrame([own]), self.maps)
        return float(row.mean(axis=1).iloc[0])

    def predict(self, path: str | Path) -> Prediction:
        """Score one image or video file; raises :class:`UserInputError` for a file that
        cannot be read or shows no face."""
        path = Path(path)
        frames = _read_media(path, self.profile.frames_per_video)
        arrays = crop_frames(frames, self.profile, self._face_detector, self._flow)
        if not arrays["detected"].any():
            raise UserInputError(f"{path}: MTCNN found no face in {len(frames)} frame(s).")
        own, skipped = {}, {}
        for name, member in self.members.items():
            needed = cache_field(member.spec)
            if needed != "faces" and len(arrays["faces"]) < 2:
                skipped[name] = "needs a video, not a single image"
                continue
            batch = video_input(arrays[needed], member.spec, member.variant).to(self.device)
            own[name] = float(score_batch(member.model, batch, member.spec).mean())
        if not own:
            raise UserInputError(f"{path}: none of the detector's models ({', '.join(self.members)}) reads a single image.")
        score = self._combine(own)
        threshold = self.threshold(list(own))
        return Prediction(str(path), score, score >= threshold, threshold, own, skipped,
                          len(frames), int(arrays["detected"].sum()))


def _read_media(path: Path, frames_per_video: int) -> np.ndarray:
    """Frames (T, H, W, 3) uint8 RGB of an image (T = 1) or a video (sampled in time)."""
    if not path.is_file():
        raise UserInputError(f"{path}: no such file.")
    if path.suffix.lower() in IMAGE_SUFFIXES:
        try:
            with Image.open(path) as image:
                return np.asarray(image.convert("RGB"))[None]
        except (UnidentifiedImageError, OSError) as err:
            raise UserInputError(f"{path}: not a readable image ({err}).") from None
    try:
        return sample_frames(path, frames_per_video).frames
    except (av.error.FFmpegError, ValueError, OSError) as err:
        raise UserInputError(
            f"{path}: not a readable video or image ({type(err).__name__}: {err}). "
            f"Images: {', '.join(sorted(IMAGE_SUFFIXES))}; videos: anything FFmpeg decodes."
        ) from None
