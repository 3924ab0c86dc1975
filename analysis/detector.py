"""The detector people use: ``Detector.from_run(PATH).predict("face.jpg")``.

A detector is one trained run, or the study's ensemble of every run in a folder (such as
``runs/cpu/models``, which ``make book`` fills). A file goes through the same pipeline as
the benchmark videos (frames sampled uniformly in time, MTCNN face crops, flow
midpoints) and each member scores the face crops it can read: an image has no clip, so
temporal members sit out and the breakdown says so.

Ensembles are the study's own soft vote, :class:`~analysis.evaluation.ensembles.Ensemble`,
fitted on the training domain's validation videos of the members that took part: each
member's score is calibrated (Platt scaling) into a fake probability, the ensemble score
is their mean, and the default threshold maximises Youden's J on the same videos. A
prediction shows the calibrated probabilities it averaged (and each model's raw output),
says where its threshold comes from, and says what the models were trained on: the cpu
profile's models have seen synthetic faces only, so their verdict on a real file means
nothing, and the prediction says so.
"""

from __future__ import annotations

import math
import re
import warnings
from dataclasses import asdict, dataclass, field
from pathlib import Path

import av
import numpy as np
import pandas as pd
import torch
from PIL import ExifTags, Image, ImageOps, UnidentifiedImageError
from pillow_heif import register_heif_opener

from analysis.evaluation import ensembles, metrics
from analysis.preprocess import face_detect, flow
from analysis.training.crop_datasets import cache_field, video_input
from analysis.errors import UserInputError
from analysis.models import replace_pretrained, spec_for
from analysis.models.registry import VIDEO
from analysis.paths import LAST_CHECKPOINT, MODELS, RESULTS, RUN_FOLDER, SUMMARY, models_dir
from analysis.preprocess.crop_cache import SAME_AS
from analysis.preprocess.pipeline import SEQUENCE, crop_frames, sequence_faces
from analysis.profiles import DEFAULT_PROFILE, Profile, profile_from_dict
from analysis.evaluation.scores_table import SOURCE, VAL, subset
from analysis.training.run_record import BEST_CHECKPOINT, RECORD_FILE, Run, read_run
from analysis.training.scoring import score_batch
from analysis.preprocess.video import NoVideoStream, declared_frames, error_words, sample_frames, sample_indices

# Longer photos are read downscaled to this side. Any face MTCNN finds in a frame shrunk
# to face_detect.DETECT_MAX_SIDE (640 px) then still spans at least 8192 / 640 * 20 = 256 px,
# more than any profile's crop keeps; 8K video frames (7680 px) and 48-megapixel phone
# photos (8064 px) are read whole. A 168-megapixel photo took 4.1 GB before.
IMAGE_MAX_SIDE = 8192
IMAGE_SUFFIXES = {".jpg", ".jpeg", ".jfif", ".jpe", ".png", ".bmp", ".webp", ".tif", ".tiff", ".heic", ".heif",
                  ".avif"}  # a damaged file named so is called a damaged image, not tried as a video
READ_IMAGES = IMAGE_SUFFIXES | {".gif"}  # what a user may pass as a photo: a GIF too (FFmpeg tries one Pillow cannot)


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
    models: dict[str, float]  # what was combined: each member's calibrated fake probability (one run: its score)
    raw_scores: dict[str, float] = field(default_factory=dict)  # each member's own output (one-class: a distance)
    skipped: dict[str, str] = field(default_factory=dict)  # members that could not read the file, why
    frames: int = 0  # frames scored
    faces_found: int = 0
    face_px: int = 0  # the largest face MTCNN found, its longer side in pixels
    face_prob: float = float("nan")  # MTCNN's probability that the boxes are faces, median over frames with one
    frames_expected: int = 0  # frames the profile samples from a file like this one (an image: 1)
    decoding: str = ""  # why fewer frames than expected were decoded, if they were
    threshold_basis: str = ""  # where the threshold comes from, for the members that scored this file
    trained_on: str = ""  # the data the detector's models learned from
    warning: str = ""  # what the verdict cannot tell, said with every verdict
    caution: str = ""  # what makes this file's verdict less reliable than most (_cautions)
    error: str = ""  # a file in a list that could not be scored: why (its other fields are empty)

    def as_dict(self) -> dict:
        """Every field, ``error`` only for a file that could not be scored; such a file's row
        keeps only what it has (its file, error, and what the models learned from), no NaN."""
        fields = asdict(self)
        if fields["error"]:
            return {key: fields[key] for key in ("file", "error", "trained_on", "warning")}
        del fields["error"]
        return fields

    def __str__(self) -> str:
        return self.text()

    def text(self, batch: bool = False) -> str:
        """The verdict in lines; in a ``batch`` without the warning and the threshold's
        basis, which repeat from file to file, so a batch says each once after the verdicts."""
        if self.error:
            return f"{self.file}: error: {self.error}"
        verdict = "FAKE" if self.is_fake else "real"
        parts = ", ".join(f"{name} {value:.3f}" for name, value in self.models.items())
        reasons: dict[str, list[str]] = {}
        for name, why in self.skipped.items():
            reasons.setdefault(why, []).append(name)
        skipped = "".join(f"; {', '.join(names)} skipped ({why})" for why, names in reasons.items())
        lines = [f"{self.file}: {verdict}  score {self.score:.3f} (threshold {self.threshold:.3f}); "
                 f"{self.faces_found}/{self.frames} frames with a face (largest {self.face_px} px); "
                 f"{parts}{skipped}"]
        if self.caution:  # right under the verdict: what makes this one less reliable
            lines.append(f"  caution: {self.caution}")
        if self.warning and not batch:  # what no verdict of these models can tell
            lines.append(f"  warning: {self.warning}")
        if not batch:
            lines.append(f"  threshold: {self.threshold_basis}")
        if self.decoding:
            lines.append(f"  decoding: {self.decoding}")
        return "\n".join(lines)


def prediction_table(results: list[dict]) -> pd.DataFrame:
    """One row per file: verdict, score, threshold, faces found, each model's calibrated
    probability (``NAME score``) and own output (``NAME raw``), the models that sat out and
    why, what the models were trained on, and the error for a file that could not be scored."""
    rows = []
    for result in results:
        row = {key: value for key, value in result.items() if key not in ("models", "raw_scores", "skipped")}
        row.update({f"{name} score": value for name, value in result.get("models", {}).items()})
        row.update({f"{name} raw": value for name, value in result.get("raw_scores", {}).items()})
        if "skipped" in result:  # a file that could not be scored has no models to skip
            row["skipped"] = "; ".join(f"{name}: {why}" for name, why in result["skipped"].items())
        rows.append(row)
    table = pd.DataFrame(rows)
    for column, kind in (("is_fake", "boolean"), ("frames", "Int64"), ("faces_found", "Int64"), ("face_px", "Int64"),
                         ("frames_expected", "Int64")):
        if column in table:  # a failed file's empty cell would otherwise turn counts into floats
            table[column] = table[column].astype(kind)
    leading = [c for c in ("file", "is_fake", "score", "threshold", "frames", "faces_found", "face_px", "face_prob",
                           "caution")
               if c in table]
    models = sorted(c for c in table.columns if c.endswith((" score", " raw")))  # the same order whichever file led
    trailing = [c for c in ("skipped", "trained_on", "warning", "error") if c in table]
    rest = [c for c in table.columns if c not in leading + models + trailing]
    return table[leading + rest + models + trailing]


def find_runs(path: str | Path | None = None) -> list[Path]:
    """The trained runs a detector is built from.

    ``path`` may be one run (a folder with ``record.json``), a folder of runs such as
    ``runs/cpu/models``, or a profile's folder such as ``runs/cpu``; without it, the
    default profile's models, which ``make book`` trains."""
    if path is None:
        models = models_dir(DEFAULT_PROFILE)
        runs = sorted(p.parent for p in models.rglob(RECORD_FILE)) if models.is_dir() else []
        if not runs:
            raise UserInputError(
                f"No trained models of the default profile {DEFAULT_PROFILE!r} in {models}: run `make book` "
                "first (it trains them), or pass --run with a profile folder, a models folder or one run.")
        return runs
    path = Path(path)
    if path.is_file():
        raise UserInputError(f"Run folder {path} is a file; pass the folder that holds it: a profile folder "
                             "(runs/cpu), its models folder (runs/cpu/models) or one run's folder.")
    if not path.is_dir():
        raise UserInputError(f"Run folder {path} does not exist; pass a profile folder (runs/cpu), its models "
                             "folder (runs/cpu/models) or one run written by `python -m analysis train`.")
    if (path / RECORD_FILE).is_file():
        return [path]
    runs = sorted(p.parent for p in _search_root(path).rglob(RECORD_FILE))
    if not runs:
        raise UserInputError(f"{path} holds no trained run: expected record.json in it or in a folder below it "
                             "(a profile folder such as runs/cpu, its models folder, or one run).")
    return runs


def _search_root(path: Path) -> Path:
    """Where the runs of ``path`` lie: its models folder if it is a profile's (not its crop cache)."""
    return path / MODELS if (path / MODELS).is_dir() else path


def unfinished_runs(path: str | Path | None = None, seed: int | None = None) -> tuple[str, ...]:
    """The folders under ``path`` (as :func:`find_runs` reads it) holding a checkpoint but
    no ``record.json``: runs still training, or stopped before they ended, which do not vote.
    With ``seed``, a run folder named for another seed is left out (it would not vote anyway)."""
    path = models_dir(DEFAULT_PROFILE) if path is None else Path(path)
    if not path.is_dir() or (path / RECORD_FILE).is_file():
        return ()
    root = _search_root(path)
    any_seed, this_seed = re.compile(RUN_FOLDER.format(seed=r"\d+")), RUN_FOLDER.format(seed=seed)
    return tuple(str(p.parent.relative_to(root)) for p in sorted(root.rglob(LAST_CHECKPOINT))
                 if not (p.parent / RECORD_FILE).is_file()
                 and (seed is None or p.parent.name == this_seed or not any_seed.fullmatch(p.parent.name)))


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
    spec = spec_for(run.model, profile)  # pooled per video where its recipe did
    variant = profile.variant(run.model)
    model = spec.builder(replace_pretrained(variant))
    checkpoint = run.path / BEST_CHECKPOINT
    if not checkpoint.is_file():
        raise UserInputError(f"{run.path} is incomplete: {BEST_CHECKPOINT} is written when training ends.")
    try:  # on the CPU, so that a failure here is the file's, not the device's
        state = torch.load(checkpoint, map_location="cpu", weights_only=False)
    except Exception as err:  # noqa: BLE001  unpickling a damaged file can raise almost anything
        first_line = (str(err).splitlines() or [""])[0]
        raise UserInputError(f"{checkpoint} cannot be read ({type(err).__name__}: {first_line}): "
                             "a damaged or partly copied checkpoint; copy or retrain the run.") from None
    if not isinstance(state, dict) or "model" not in state:
        raise UserInputError(f"{checkpoint} is not a checkpoint written by this project's trainer "
                             "(no model weights in it); copy or retrain the run.")
    try:
        model.load_state_dict(state["model"])
    except RuntimeError as err:
        raise UserInputError(f"{checkpoint} does not fit the current {spec.name} architecture: {err}") from None
    validation = subset(run.scores, SOURCE, VAL)
    return Member(spec.name, spec, variant, model.to(device).eval(), validation), profile


class Detector:
    """One run or an ensemble of runs, ready to score image and video files."""

    def __init__(self, members: list[Member], profile: Profile, device: str = "cpu", unfit: tuple[str, ...] = (),
                 unfinished: tuple[str, ...] = ()):
        self.members = {m.name: m for m in members}
        self.unfit = unfit  # failed the study's fit gate: out of a vote of several, alone if asked for
        self.unfinished = unfinished  # runs beside the members that have not finished training, not voting
        self.profile = profile
        self.device = device
        self.validation = ensembles.to_wide(pd.concat([m.validation for m in members]))
        self._one_class = [m.name for m in members if m.spec.one_class]
        self._ensembles: dict[tuple[str, ...], ensembles.Ensemble] = {}
        self._threshold: float | None = None
        self._face_detector = face_detect.make_detector(device)
        self._flow, _ = flow.make_flow(profile.preprocessing.flow, None, device)

    @classmethod
    def from_run(cls, path: str | Path | None = None, device: str | None = None,
                 seed: int | None = None) -> "Detector":
        """Load one run, or every run of a models or profile folder (see :func:`find_runs`;
        no path: the default profile's models), one training seed of each model (see
        :func:`one_seed`)."""
        device = _checked_device(device)
        runs = one_seed([read_run(run) for run in find_runs(path)], seed)
        unfit = tuple(m for m in _unfit(runs) if m in {run.model for run in runs})  # of these runs only
        if len(runs) > 1 and any(run.model not in unfit for run in runs):  # as in the study's ensemble
            runs = [run for run in runs if run.model not in unfit]
        loaded = [_load_member(run, device) for run in runs]
        profiles = {profile.name for _, profile in loaded}
        if len(profiles) > 1:
            raise UserInputError(f"{path} mixes runs of profiles {sorted(profiles)}; use one profile's runs.")
        return cls([member for member, _ in loaded], loaded[0][1], device, unfit,
                   unfinished_runs(path, runs[0].seed))

    @property
    def names(self) -> list[str]:
        return list(self.members)

    @property
    def trained_on(self) -> str:
        """The data the models learned from, as every prediction states it."""
        if self.profile.studies_benchmark:
            return (f"the embedded synthetic benchmark of the {self.profile.name} profile "
                    "(procedurally rendered faces, not real video)")
        return self.profile.data.source_dataset

    @property
    def warning(self) -> str:
        """What no verdict of this detector can tell."""
        said = []
        if self.profile.studies_benchmark:
            said.append("these models learned from synthetic faces only: a verdict on a real photo or video says "
                        "nothing about whether it is fake")
        voting = [name for name in self.unfit if name in self.members]
        left_out = [name for name in self.unfit if name not in self.members]
        if left_out:
            said.append(f"{', '.join(left_out)} did not learn in training (the study's fit gate) and "
                        f"{'is' if len(left_out) == 1 else 'are'} left out of the vote, as in the study's ensemble")
        if voting:
            said.append(f"{', '.join(voting)} did not learn in training (the study's fit gate), so "
                        f"{'its' if len(voting) == 1 else 'their'} score says little")
        if self.unfinished:
            has, does = ("has", "does") if len(self.unfinished) == 1 else ("have", "do")
            said.append(f"{', '.join(self.unfinished)} {has} not finished training (no record.json) and "
                        f"{does} not vote")
        return "; ".join(said)

    def __repr__(self) -> str:
        kind = "one run" if len(self.members) == 1 else f"soft vote of {len(self.members)} runs"
        return (f"Detector({kind}: {', '.join(self.members)}; profile {self.profile.name!r}; "
                f"trained on {self.trained_on}; device {self.device!r})")

    def set_threshold(self, threshold: float) -> None:
        """Use a fixed threshold instead of the one chosen on validation videos."""
        threshold = float(threshold)
        if not math.isfinite(threshold):
            raise UserInputError(f"The threshold must be a finite number, not {threshold}.")
        probability = len(self.members) > 1 or not self._one_class  # a lone one-class run scores a distance
        if probability and not 0 < threshold < 1:
            raise UserInputError(f"The threshold {threshold:g} lies outside (0, 1), the range of this detector's "
                                 "score (a fake probability): every file would get the same verdict.")
        if not probability and threshold <= 0:
            raise UserInputError(f"The threshold {threshold:g} is not above 0, and {self.names[0]} scores a distance "
                                 "(0 or more): every file would get the same verdict.")
        self._threshold = threshold

    def ensemble(self, names: list[str] | None = None) -> ensembles.Ensemble:
        """The soft vote of ``names`` (default: every member), fitted on their validation
        videos (once per set of members: an image leaves out the temporal members)."""
        key = tuple(sorted(names or self.names))
        if key not in self._ensembles:
            self._ensembles[key] = ensembles.Ensemble("soft_vote", key, raw_scores=self._one_class).fit(self.validation)
        return self._ensembles[key]

    def threshold(self, names: list[str] | None = None) -> float:
        """The threshold for the members ``names`` that scored a file (default: every
        member); one run: on its own score. A file that some members cannot read (an
        image has no clip) is judged by the vote of the others, with that vote's threshold."""
        names = names or self.names
        if self._threshold is not None:
            return self._threshold
        if len(self.members) == 1:
            validation = self.validation[names[0]].dropna()
            labels = validation.index.get_level_values("label").to_numpy()
            return metrics.youden_threshold(labels, validation.to_numpy())
        return self.ensemble(names).threshold_

    def threshold_basis(self, names: list[str]) -> str:
        """Where :meth:`threshold` comes from for the members ``names``, in words."""
        rule = "score at or above it: FAKE"
        if self._threshold is not None:
            return f"fixed by the user; {rule}"
        youden = "the score that maximises true minus false positive rate on the source validation videos"
        if len(self.members) == 1:
            return f"{rule}; {youden} (Youden's J), for {names[0]}'s own score"
        basis = f"{rule}; {youden} (Youden's J), for the soft vote of the {len(names)} models that scored this file"
        if len(names) < len(self.members):
            basis += (f"; a file all {len(self.members)} models read is judged by their vote, threshold "
                      f"{self.threshold():.3f}")
        return basis

    def _combine(self, own: dict[str, float]) -> tuple[float, dict[str, float]]:
        """The score and what it combined: a single run's own score, or the mean of the
        members' calibrated fake probabilities (the soft vote)."""
        if len(self.members) == 1:
            return next(iter(own.values())), dict(own)
        vote = self.ensemble(list(own))
        calibrated = vote.calibrated(pd.DataFrame([own])).iloc[0]
        return float(vote.score(pd.DataFrame([own])).iloc[0]), {name: float(calibrated[name]) for name in own}

    def predict(self, path: str | Path | list) -> Prediction | list[Prediction]:
        """Score one image or video file (a list of files: one prediction each); raises
        :class:`UserInputError` for a file that cannot be read or shows no face."""
        if isinstance(path, (list, tuple)):
            return [self._predict_or_error(one) for one in path]
        if "://" in str(path):
            raise UserInputError(f"{path}: an address, not a file; download it and pass the file's path.")
        path = Path(path)
        media = _read_media(path, self.profile.preprocessing.frames_per_video)
        frames = media.frames
        arrays = crop_frames(frames, self.profile.preprocessing, self._face_detector, self._flow)
        if not arrays["detected"].any():
            if media.decoding:
                raise UserInputError(f"{path}: a damaged video: {media.decoding}, and MTCNN found no face in the "
                                     f"{len(frames)} frame(s) decoded.")
            height, width = frames.shape[1:3]
            small = ""
            if face_detect.too_small_to_search(height, width, self._face_detector):
                small = (f" ({width}x{height} px: too small or too narrow for the "
                         f"{self._face_detector.min_face_size} px faces MTCNN looks for)")
            where = "its one frame" if len(frames) == 1 else f"{len(frames)} frames"
            raise UserInputError(f"{path}: MTCNN found no face in {where}{small}.")
        settings = self.profile.preprocessing
        if settings.sequence_frames and len(frames) > 1 and any(m.spec.input_kind == "sequence"
                                                                for m in self.members.values()):
            sequence = _read_media(path, settings.sequence_frames).frames  # the sequence model's own sampling
            arrays[SEQUENCE] = sequence_faces(sequence, settings, self._face_detector)
        own, skipped = {}, {}
        for name, member in self.members.items():
            # a pooling frame model reads an image as a video of one frame
            if member.spec.input_kind not in ("frame", VIDEO) and len(arrays["faces"]) < 2:
                skipped[name] = f"needs a clip of at least 2 frames, this file gave {len(arrays['faces'])}"
                continue
            needed = cache_field(member.spec)
            needed = needed if needed in arrays else SAME_AS.get(needed, needed)
            batch = video_input(arrays[needed], member.spec, member.variant).to(self.device)
            own[name] = float(score_batch(member.model, batch).mean())
        if not own:  # every model sat out: say why (an image, or a clip too short, for clip models)
            why = "; ".join(f"{name} {reason}" for name, reason in skipped.items())
            raise UserInputError(f"{path}: none of the detector's models can score it: {why}.")
        score, combined = self._combine(own)
        threshold = self.threshold(list(own))
        face_px = largest_face(arrays)
        face_prob = float(np.median(arrays["face_prob"][arrays["detected"]]))
        return Prediction(str(path), score, score >= threshold, threshold, combined, own, skipped,
                          len(frames), int(arrays["detected"].sum()), face_px, face_prob, media.expected,
                          media.decoding, self.threshold_basis(list(own)), self.trained_on, self.warning,
                          _cautions(frames, arrays["detected"], face_px, face_prob, settings.crop_size))

    def _predict_or_error(self, path: str | Path) -> Prediction:
        """One file of a list: its prediction, or its error (the other files still go on)."""
        try:
            return self.predict(path)
        except Exception as err:  # noqa: BLE001  one file's failure must not lose the others' results
            error = str(err) if isinstance(err, UserInputError) else (
                f"{path}: could not be scored ({type(err).__name__}: {err}); this is a bug, please report it.")
            return Prediction(str(path), float("nan"), False, float("nan"), {}, error=error,
                              trained_on=self.trained_on, warning=self.warning)


def largest_face(arrays: dict[str, np.ndarray]) -> int:
    """The longer side in pixels of the largest face MTCNN found in a file's frames."""
    boxes = arrays["detector_boxes"][arrays["detected"]]
    return int(round(float(np.maximum(boxes[:, 2] - boxes[:, 0], boxes[:, 3] - boxes[:, 1]).max())))


# MTCNN keeps a box from a probability of 0.7. Faces in photos score above 0.99 (scikit-image's
# astronaut 1.000, cameraman 0.999) and the benchmark's faces a median 0.999 per frame (1.4 % of
# 359 frames below 0.95), while a box MTCNN drew on a motorcycle's engine scored 0.892 (2026-12-06).
FACE_SURE = 0.95


def _cautions(frames: np.ndarray, detected: np.ndarray, face_px: int, face_prob: float, crop_size: int) -> str:
    """What makes one file's verdict less reliable than the models' usual: faces in fewer
    than half its frames (the rest are scored on the nearest face's box, as in the crop
    cache), MTCNN unsure that its boxes are faces, a face enlarged more than twice to the
    models' crop (MTCNN also fires on small non-faces), and no colour (every model learned
    from colour faces)."""
    said = []
    found, n = int(detected.sum()), len(detected)
    if 2 * found < n:
        said.append(f"MTCNN found a face in only {found} of {n} frames; the others were scored on the nearest "
                    "face's box, so most of the verdict comes from frames without a face")
    if face_prob < FACE_SURE:
        said.append(f"MTCNN gives its boxes a face probability of only {face_prob:.2f} (faces in photos score "
                    "above 0.99): what was scored may not be a face")
    if 2 * face_px < crop_size:
        said.append(f"the largest face found is {face_px} px across, enlarged more than twice to the models' "
                    f"{crop_size} px crops: little detail to judge, and it may not be a face at all")
    sample = frames[:, ::4, ::4].astype(np.int16)  # a colour cast shows at any scale
    if np.abs(sample[..., 0] - sample[..., 1]).max() <= 2 and np.abs(sample[..., 0] - sample[..., 2]).max() <= 2:
        said.append("the file has no colour (greyscale), and the models learned from colour faces only")
    return "; ".join(said)


def _checked_device(device: str | None) -> str:
    """``device``, or CUDA where there is one; a clear error for a device torch cannot use."""
    if device is None:
        return "cuda" if torch.cuda.is_available() else "cpu"
    try:
        parsed = torch.device(device)
    except RuntimeError:
        raise UserInputError(f"--device {device}: not a torch device; use cpu or cuda (cuda:0, ...).") from None
    if parsed.type not in ("cpu", "cuda"):
        raise UserInputError(f"--device {device}: the detector runs on cpu or cuda (cuda:0, ...).")
    if parsed.type == "cuda" and not torch.cuda.is_available():
        raise UserInputError(f"--device {device}: this machine has no usable CUDA GPU; use --device cpu.")
    if parsed.type == "cuda" and parsed.index is not None and parsed.index >= torch.cuda.device_count():
        raise UserInputError(f"--device {device}: this machine has {torch.cuda.device_count()} CUDA GPU(s), "
                             f"cuda:0 to cuda:{torch.cuda.device_count() - 1}.")
    return device


@dataclass
class _Media:
    frames: np.ndarray  # (T, H, W, 3) uint8 RGB
    expected: int  # frames the profile would sample from it
    decoding: str = ""  # why fewer were decoded, if they were


def _unfit(runs: list[Run]) -> tuple[str, ...]:
    """The models the study's fit gate left out, from the results its profile folder holds
    (``results/summary/fit_gate.csv`` beside ``models/``); none when there is no such table."""
    tables = {run.path.parents[2] / RESULTS / SUMMARY / "fit_gate.csv" for run in runs if len(run.path.parents) > 2}
    failed = []
    for table in tables:
        if table.is_file():
            gate = pd.read_csv(table)
            failed += gate.loc[~gate["passes"].astype(bool), "model"].tolist()
    return tuple(dict.fromkeys(failed))


def _rgb(image: Image.Image, max_side: int) -> np.ndarray:
    """An image as (H, W, 3) uint8 RGB, as a viewer shows it: upright (its EXIF orientation
    applied: phones store portraits sideways), transparent parts on white (what lies under
    them is hidden, often black), greyscale of more than 8 bits scaled to 8 bits; a longer
    side than ``max_side`` downscaled to it, before any copy at full size."""
    if image.getexif().get(ExifTags.Base.Orientation, 1) != 1:  # a TIFF's tag does not survive a resize
        image = ImageOps.exif_transpose(image)
    if max(image.size) > max_side:
        image = image.resize(_within(image.size, max_side), Image.Resampling.LANCZOS, reducing_gap=3.0)
    if image.mode.startswith("I;16") or image.mode in ("I", "F"):
        values = np.nan_to_num(np.asarray(image, np.float64))
        image = Image.fromarray((values * 255 / _full_scale(image.mode, values)).round().clip(0, 255).astype(np.uint8))
    if image.has_transparency_data:
        image = Image.alpha_composite(Image.new("RGBA", image.size, "white"), image.convert("RGBA"))
    return np.asarray(image.convert("RGB"))


def _within(size: tuple[int, int], max_side: int) -> tuple[int, int]:
    """``size`` scaled so that its longer side is ``max_side``."""
    scale = max_side / max(size)
    return max(1, round(size[0] * scale)), max(1, round(size[1] * scale))


def _full_scale(mode: str, values: np.ndarray) -> float:
    """The value that means white in a greyscale image of more than 8 bits. Pillow reads a
    16-bit PNG as ``I;16`` or ``I``, and floats (``F``) come in [0, 1] or in 8 or 16 bits, so
    for ``I`` and ``F`` the values' own range tells which."""
    if mode.startswith("I;16"):
        return 65535.0
    top = float(values.max()) if values.size else 0.0
    if mode == "F" and top <= 1.0:
        return 1.0
    return 255.0 if top <= 255 else 65535.0 if top <= 65535 else top


def _read_media(path: Path, frames_per_video: int, max_side: int = IMAGE_MAX_SIDE) -> _Media:
    """The frames of an image (one, or for an animated one its frames sampled as a clip's,
    at most ``max_side`` pixels long) or a video (sampled in time), and whether a video
    stopped decoding before the frames it lists. Any file is first offered to Pillow, by
    its content, not its name; one it cannot identify is read as a video."""
    if path.is_dir():
        raise UserInputError(f"{path}: a folder, not a file; pass the image and video files in it.")
    if not path.exists():
        if path.is_symlink():
            raise UserInputError(f"{path}: a symbolic link to nothing (broken, or a loop); pass the file it should "
                                 "point to.")
        raise UserInputError(f"{path}: no such file.")
    if not path.is_file():
        raise UserInputError(f"{path}: not a regular file (a pipe or a device); save it to a file and pass that.")
    if path.stat().st_size == 0:
        raise UserInputError(f"{path}: an empty file (0 bytes), not an image or a video.")
    not_an_image = None
    named_image = path.suffix.lower() in IMAGE_SUFFIXES
    register_heif_opener()  # HEIC and HEIF, as phones save photos, decoded by libheif
    try:  # Pillow first, whatever the name (.jfif, .jpe, none): the same bytes must give the same frames
        with warnings.catch_warnings():  # a large photo is no threat; only the hard limit below stops one
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            with Image.open(path) as image:
                return _image_frames(image, frames_per_video, max_side)
    except Image.DecompressionBombError as err:
        raise UserInputError(f"{path}: too large to read ({err}); downscale it first.") from None
    except PermissionError:
        raise UserInputError(f"{path}: permission denied (this user may not read it).") from None
    except UnidentifiedImageError as err:
        not_an_image = err if named_image else None  # perhaps a video with an image's name
    except (OSError, ValueError, SyntaxError) as err:  # a damaged file, as Pillow or pillow-heif says it
        if named_image:
            raise UserInputError(f"{path}: not a readable image ({err}).") from None
        # a video Pillow mistook for an image it can only identify (an MPEG stream): FFmpeg reads it below
    try:
        sampled = sample_frames(path, frames_per_video)
    except NoVideoStream:
        raise UserInputError(f"{path}: no video stream in it (an audio file?); nothing to score.") from None
    except PermissionError:
        raise UserInputError(f"{path}: permission denied (this user may not read it).") from None
    except (av.error.FFmpegError, ValueError, OSError) as err:
        if not_an_image is not None:
            raise UserInputError(f"{path}: not a readable image ({not_an_image}), nor a video.") from None
        reason = error_words(err)
        raise UserInputError(
            f"{path}: not a readable video or image ({type(err).__name__}: {reason}): not a video, or one cut "
            f"short before its index (an MP4 cut part-way often is). Images: {', '.join(sorted(READ_IMAGES))}; "
            "videos: anything FFmpeg decodes."
        ) from None
    estimate = declared_frames(path)
    declared = max(sampled.frames_in_video, estimate)
    expected = min(frames_per_video, declared)
    short = len(sampled.frames) < expected
    problems = [f"{len(sampled.frames)} of {expected} sampled frames decoded"] if short else []
    # a count in the header is exact; an estimate from the duration is trusted where frames
    # are missing or where it exceeds the frames found by more than a rounded duration can
    if sampled.frames_in_video < (declared if short else declared_frames(path, counted_only=True)):
        problems.append(f"the file ends after {sampled.frames_in_video} of the {declared} frames its header "
                        "declares (cut short), so every frame scored comes from its start")
    elif sampled.frames_in_video < CUT_SHORT * estimate:
        problems.append(f"the file holds {sampled.frames_in_video} frames where its header's duration implies "
                        f"about {estimate}: it may be cut short, and then every frame scored comes from its start")
    if sampled.error:
        problems.append(sampled.error)
    return _Media(sampled.frames, expected, "; ".join(problems))


CUT_SHORT = 0.8  # frames found under this share of the duration's estimate: a file cut short, said so

ANIMATED_FORMATS = {"GIF", "PNG", "WEBP"}  # their frames are a clip's; a TIFF's pages, an MPO's previews are not


def _image_frames(image: Image.Image, frames_per_video: int, max_side: int) -> _Media:
    """A still as one frame; an animated GIF, PNG or WebP as a clip, its frames sampled as
    a video's are. Other images with several frames (a TIFF's pages, the preview a camera
    stores in a JPEG, a HEIC's extra images) are read as their first. A large JPEG is
    decoded at a reduced scale still at least ``max_side`` long (libjpeg's draft mode)."""
    animated = image.format in ANIMATED_FORMATS and getattr(image, "is_animated", False)
    if image.format == "JPEG" and max(image.size) > max_side:
        image.draft(image.mode, _within(image.size, max_side))  # libjpeg picks a scale at least this large
    frames = []
    for index in sample_indices(image.n_frames if animated else 1, frames_per_video):
        image.seek(int(index))
        frames.append(_rgb(image, max_side))
    if any(frame.shape != frames[0].shape for frame in frames):  # frames of an animation may be cropped
        frames = frames[:1]
    return _Media(np.stack(frames), len(frames))
