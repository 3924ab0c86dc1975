"""The detector people use: ``Detector.from_run(PATH).predict("face.jpg")``.

A detector is one trained run, or the study's ensemble of every run in a folder (such as
``runs/cpu/models``, which ``make book`` fills). A file goes through the same pipeline as
the benchmark videos (frames sampled uniformly in time, MTCNN face crops, flow
midpoints) and each member scores the face crops it can read: an image has no clip, so
temporal members sit out and the breakdown says so.

Ensembles are the study's own soft vote, :class:`~analysis.evaluation.ensembles.Ensemble`,
fitted on the training domain's validation videos of the members that took part: each
member's score is calibrated (Platt scaling) into a fake probability, the ensemble score
is their mean, and the default threshold maximises Youden's J on the same videos.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from pathlib import Path

import av
import numpy as np
import pandas as pd
import torch
from PIL import Image, UnidentifiedImageError

from analysis.evaluation import ensembles, metrics
from analysis.preprocess import face_detect, flow
from analysis.training.crop_datasets import cache_field, video_input
from analysis.errors import UserInputError
from analysis.models import get_spec, replace_pretrained
from analysis.paths import run_dir
from analysis.preprocess.pipeline import crop_frames
from analysis.profiles import DEFAULT_PROFILE, Profile, profile_from_dict
from analysis.evaluation.scores_table import SOURCE, VAL, subset
from analysis.training.run_record import BEST_CHECKPOINT, RECORD_FILE, Run, read_run
from analysis.training.scoring import score_batch
from analysis.preprocess.video import sample_frames

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


def prediction_table(results: list[dict]) -> pd.DataFrame:
    """One row per file: verdict, score, threshold, faces found, each model's own score,
    the models that sat out and why, and the error for a file that could not be scored."""
    rows = []
    for result in results:
        row = {key: value for key, value in result.items() if key not in ("models", "skipped")}
        row.update({f"{name} score": value for name, value in result.get("models", {}).items()})
        skipped = result.get("skipped", {})
        row["skipped"] = "; ".join(f"{name}: {why}" for name, why in skipped.items())
        rows.append(row)
    table = pd.DataFrame(rows)
    leading = [c for c in ("file", "is_fake", "score", "threshold", "frames", "faces_found") if c in table]
    return table[leading + [c for c in table.columns if c not in leading]]


def find_runs(path: str | Path | None = None) -> list[Path]:
    """The trained runs a detector is built from.

    ``path`` may be one run (a folder with ``record.json``), a folder of runs such as
    ``runs/cpu/models``, or a profile's folder such as ``runs/cpu``; without it, the
    default profile's models, which ``make book`` trains."""
    if path is None:
        models = run_dir(DEFAULT_PROFILE) / "models"
        runs = sorted(p.parent for p in models.rglob(RECORD_FILE)) if models.is_dir() else []
        if not runs:
            raise UserInputError(
                f"No trained models of the default profile {DEFAULT_PROFILE!r} in {models}: run `make book` "
                "first (it trains them), or pass --run with a profile folder, a models folder or one run.")
        return runs
    path = Path(path)
    if not path.is_dir():
        raise UserInputError(f"Run folder {path} does not exist; pass a profile folder (runs/cpu), its models "
                             "folder (runs/cpu/models) or one run written by `python -m analysis train`.")
    if (path / RECORD_FILE).is_file():
        return [path]
    search = path / "models" if (path / "models").is_dir() else path  # not the profile's crop cache
    runs = sorted(p.parent for p in search.rglob(RECORD_FILE))
    if not runs:
        raise UserInputError(f"{path} holds no trained run: expected record.json in it or in a folder below it "
                             "(a profile folder such as runs/cpu, its models folder, or one run).")
    return runs


def one_seed(runs: list[Run], seed: int | None = None) -> list[Run]:
    """The runs of one training seed: ``seed``, or the lowest seed present, the one the
    book's headline numbers read. Two runs of one model and seed are an error."""
    seeds = sorted({run.seed for run in runs})
    chosen = seeds[0] if seed is None else seed
    kept = [run for run in runs if run.seed == chosen]
    if not kept:
        raise UserInputError(f"No run of training seed {seed}; the runs have seeds {seeds}.")
    seen: dict[str, Path] = {}
    for run in kept:
        if run.model in seen:  # they would replace each other in the ensemble
            raise UserInputError(f"Two runs of {run.model} with seed {chosen}: {seen[run.model]} and {run.path}; "
                                 "pass a folder with one run per model and seed.")
        seen[run.model] = run.path
    return kept


def _load_member(run: Run, device: str) -> tuple[Member, Profile]:
    profile = profile_from_dict(run.record["config"]["profile"])
    spec = get_spec(run.model)
    variant = profile.variant(run.model)
    model = spec.builder(replace_pretrained(variant))
    checkpoint = run.path / BEST_CHECKPOINT
    if not checkpoint.is_file():
        raise UserInputError(f"{run.path} is incomplete: {BEST_CHECKPOINT} is written when training ends.")
    state = torch.load(checkpoint, map_location=device, weights_only=False)
    try:
        model.load_state_dict(state["model"])
    except RuntimeError as err:
        raise UserInputError(f"{checkpoint} does not fit the current {spec.name} architecture: {err}") from None
    validation = subset(run.scores, SOURCE, VAL)
    return Member(spec.name, spec, variant, model.to(device).eval(), validation), profile


class Detector:
    """One run or an ensemble of runs, ready to score image and video files."""

    def __init__(self, members: list[Member], profile: Profile, device: str = "cpu"):
        self.members = {m.name: m for m in members}
        self.profile = profile
        self.device = device
        self.validation = ensembles.to_wide(pd.concat([m.validation for m in members]))
        self._one_class = [m.name for m in members if m.spec.one_class]
        self._ensembles: dict[tuple[str, ...], ensembles.Ensemble] = {}
        self._threshold: float | None = None
        self._face_detector = face_detect.make_detector(device)
        self._flow, _ = flow.make_flow(None, device)

    @classmethod
    def from_run(cls, path: str | Path | None = None, device: str | None = None,
                 seed: int | None = None) -> "Detector":
        """Load one run, or every run of a models or profile folder (see :func:`find_runs`;
        no path: the default profile's models), one training seed of each model (see
        :func:`one_seed`)."""
        device = device or ("cuda" if torch.cuda.is_available() else "cpu")
        runs = one_seed([read_run(run) for run in find_runs(path)], seed)
        loaded = [_load_member(run, device) for run in runs]
        profiles = {profile.name for _, profile in loaded}
        if len(profiles) > 1:
            raise UserInputError(f"{path} mixes runs of profiles {sorted(profiles)}; use one profile's runs.")
        return cls([member for member, _ in loaded], loaded[0][1], device)

    @property
    def names(self) -> list[str]:
        return list(self.members)

    def set_threshold(self, threshold: float) -> None:
        """Use a fixed threshold instead of the one chosen on validation videos."""
        self._threshold = float(threshold)

    def ensemble(self, names: list[str]) -> ensembles.Ensemble:
        """The soft vote of ``names``, fitted on their validation videos (once per set of
        members: an image leaves out the temporal members)."""
        key = tuple(sorted(names))
        if key not in self._ensembles:
            self._ensembles[key] = ensembles.Ensemble("soft_vote", key, raw_scores=self._one_class).fit(self.validation)
        return self._ensembles[key]

    def threshold(self, names: list[str]) -> float:
        """The current threshold for an ensemble of ``names`` (one run: on its own score)."""
        if self._threshold is not None:
            return self._threshold
        if len(self.members) == 1:
            validation = self.validation[names[0]].dropna()
            return metrics.youden_threshold(validation.index.get_level_values("label").to_numpy(), validation.to_numpy())
        return self.ensemble(names).threshold_

    def _combine(self, own: dict[str, float]) -> float:
        """A single run's own score, or the soft vote of the members' calibrated scores."""
        if len(self.members) == 1:
            return next(iter(own.values()))
        return float(self.ensemble(list(own)).score(pd.DataFrame([own])).iloc[0])

    def predict(self, path: str | Path) -> Prediction:
        """Score one image or video file; raises :class:`UserInputError` for a file that
        cannot be read or shows no face."""
        path = Path(path)
        frames = _read_media(path, self.profile.preprocessing.frames_per_video)
        arrays = crop_frames(frames, self.profile.preprocessing, self._face_detector, self._flow)
        if not arrays["detected"].any():
            raise UserInputError(f"{path}: MTCNN found no face in {len(frames)} frame(s).")
        own, skipped = {}, {}
        for name, member in self.members.items():
            needed = cache_field(member.spec)
            if needed != "faces" and len(arrays["faces"]) < 2:
                skipped[name] = "needs a video, not a single image"
                continue
            batch = video_input(arrays[needed], member.spec, member.variant).to(self.device)
            own[name] = float(score_batch(member.model, batch).mean())
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
