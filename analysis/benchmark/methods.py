"""Manipulation methods of the embedded benchmark, registered by name.

Each method is one :class:`Method`: its declared anomaly view, what it changes, its
parameters (a frozen dataclass, shown in the benchmark chapter) and the renderer that
turns a real video into a fake. The generator looks methods up with :func:`get_method`,
so a new method is one registered function, not another branch of an ``if`` chain.

How the parameters were fixed. Every value below was written down from what the artefact
of the real method it stands for should be, before any detector was trained on this
benchmark, and is not tuned to any detector's result:

* ``blend_swap`` stands for FF++ *Deepfakes*: an autoencoder synthesises the donor's face
  at 64 x 64 px and pastes it onto faces roughly 100 px wide in the C23 videos, so the
  pasted inner face is rendered at 0.6 of the resolution of a source-size face, with the
  hard mask edge and the partial colour match of that pipeline (skin tone half corrected).
  The synthesiser's size is fixed in pixels, not relative to the face: a face smaller in
  the frame loses less resolution (:func:`synthesis_factor`), and a face at 0.6 of the
  source's size or smaller loses none.
* ``relight`` stands for a global inconsistency (face lit from the other side than the
  scene): the light is mirrored, at least half sideways, with a warm or cool cast.
* ``jitter_swap`` stands for FF++ *FaceSwap*: a face model is fitted to landmarks in every
  frame independently, so it inherits the landmark detector's per-frame error. Landmark
  errors on small faces are a few per cent of the inter-ocular distance (IOD); we take
  4.5 % of the IOD per axis (1.2 px for a source face), 2.5 % in scale, 0.03 rad in roll,
  and a 4 % frame-to-frame gain change from per-frame colour fitting.
* ``lip_desync`` stands for FF++ *NeuralTextures*: the mouth follows another person's
  speech, out of step with the head nods that follow the person's own speech, and the
  re-rendered mouth region carries the renderer's resolution (the same 0.6 as the
  face swap: both are learned renderers of that era).
* ``refined_swap`` (the target domain's unseen method) stands for Celeb-DF v2, whose
  synthesis improved on FF++'s Deepfakes in resolution, colour transfer, mask smoothing
  and temporal stability. The rule: every artefact of the source swaps is kept at **half
  its dose** (resolution loss 0.4 -> 0.2, skin mismatch 0.5 -> 0.25, alignment error
  4.5 % -> 2.25 % of the IOD but smoothed over time, gain flicker 4 % -> 2 %, mask
  feathered over 4 px instead of 0.7-3), plus one trait no source method shows: the
  synthesised eyes never blink (early face-swap models were trained on open-eyed frames).
"""

from __future__ import annotations

import fnmatch
from dataclasses import asdict, dataclass, field, replace
from typing import Callable, Protocol

import cv2
import numpy as np

from analysis.benchmark.face_render import Expression, Identity, Light, Pose, region_alpha, render

REAL_METHOD = "original"
RELIGHT_TINTS = ((1.0, 0.9, 0.75), (0.8, 0.92, 1.0))  # warm or cool cast on the relit face


class SceneLike(Protocol):
    """What a renderer needs from a real video's scene (see ``synthetic.Scene``)."""

    background: np.ndarray
    light: Light
    poses: list[Pose]
    expressions: list[Expression]
    speech: np.ndarray


@dataclass(frozen=True)
class FakeInputs:
    """Everything a renderer may use: the target's real video and the donor's."""

    target: Identity
    donor: Identity
    scene: SceneLike  # the target's video, already rendered as ``real_frames``
    donor_scene: SceneLike
    real_frames: list[np.ndarray]


Renderer = Callable[[FakeInputs, object, np.random.Generator], list[np.ndarray]]


@dataclass(frozen=True)
class Method:
    """One registered manipulation method."""

    name: str
    view: str  # declared anomaly view: spatial, global, temporal, or a combination
    description: str
    params: object  # a frozen dataclass of the method's declared parameters
    renderer: Renderer = field(repr=False)

    def render(self, inputs: FakeInputs, rng: np.random.Generator) -> list[np.ndarray]:
        return self.renderer(inputs, self.params, rng)

    def param_dict(self) -> dict:
        return asdict(self.params)


_REGISTRY: dict[str, Method] = {}


def register_method(method: Method) -> Method:
    """Add a method; a second method with the same name is an error, not an override."""
    if method.name in _REGISTRY:
        raise ValueError(f"a manipulation method named {method.name!r} is already registered")
    if method.name == REAL_METHOD:
        raise ValueError(f"{REAL_METHOD!r} names the real videos and cannot be a manipulation method")
    _REGISTRY[method.name] = method
    return method


def get_method(name: str) -> Method:
    try:
        return _REGISTRY[name]
    except KeyError:
        raise ValueError(f"unknown manipulation method {name!r}; expected one of {sorted(_REGISTRY)}") from None


def list_methods(include: str = "*") -> list[str]:
    """Registered method names matching the glob ``include``, sorted."""
    return sorted(n for n in _REGISTRY if fnmatch.fnmatch(n, include))


def inter_ocular_px(identity: Identity, pose: Pose) -> float:
    """Distance between the eye centres in pixels: the unit of landmark error."""
    return 2 * identity.eye_spacing * pose.scale


SOURCE_FACE_HALF_WIDTH_PX = 33.5  # mid-range of the source capture's faces (generator.CAPTURES)


def synthesis_factor(synthesis_scale: float, pose: Pose) -> float:
    """Resolution of a synthesised face relative to the frame, for a synthesiser that
    renders a face at ``synthesis_scale`` of a source-size face's pixel size: a learned
    renderer works at a fixed size, so a face smaller in the frame loses less of its
    detail (at most all of it is kept)."""
    return min(1.0, synthesis_scale * SOURCE_FACE_HALF_WIDTH_PX / pose.scale)


def degrade(image: np.ndarray, factor: float) -> np.ndarray:
    """Down- then up-sample: the resolution of a face synthesised at ``factor`` of the
    frame's resolution (1 leaves the image as it is)."""
    if factor >= 1:
        return image
    h, w = image.shape[:2]
    small = cv2.resize(image, (max(2, round(w * factor)), max(2, round(h * factor))), interpolation=cv2.INTER_AREA)
    return cv2.resize(small, (w, h), interpolation=cv2.INTER_LINEAR)


def _composite(base: np.ndarray, donor: np.ndarray, alpha: np.ndarray) -> np.ndarray:
    return np.clip(base + alpha[..., None] * (donor - base), 0, 1)


def _mix_skin(donor: Identity, target: Identity, correction: float) -> Identity:
    """The donor with its skin tone moved ``correction`` of the way to the target's."""
    skin = np.asarray(donor.skin) + correction * (np.asarray(target.skin) - np.asarray(donor.skin))
    return replace(donor, skin=tuple(float(c) for c in skin))


@dataclass(frozen=True)
class BlendSwapParams:
    synthesis_scale: float = 0.6  # donor face rendered at this fraction of a source-size face's resolution
    skin_correction: float = 0.5  # share of the donor-target skin difference corrected
    feather_px: float = 0.7  # mask edge width: a hard seam


def _blend_swap(inputs: FakeInputs, p: BlendSwapParams, rng: np.random.Generator) -> list[np.ndarray]:
    s, shape = inputs.scene, inputs.real_frames[0].shape[:2]
    donor = _mix_skin(inputs.donor, inputs.target, p.skin_correction)
    out = []
    for frame, pose, expression in zip(inputs.real_frames, s.poses, s.expressions):
        donor_frame = render(s.background, donor, pose, expression, s.light)
        donor_frame = degrade(donor_frame, synthesis_factor(p.synthesis_scale, pose))
        out.append(_composite(frame, donor_frame, region_alpha(donor, pose, shape, "inner", p.feather_px)))
    return out


@dataclass(frozen=True)
class RelightParams:
    min_sideways: float = 0.5  # |x| of the mirrored light direction, at least
    feather_px: float = 1.0


def _relight(inputs: FakeInputs, p: RelightParams, rng: np.random.Generator) -> list[np.ndarray]:
    s, shape = inputs.scene, inputs.real_frames[0].shape[:2]
    lx, ly, lz = s.light.direction
    mirrored = np.array([-np.sign(lx or 1.0) * max(abs(lx), p.min_sideways), ly, lz])
    tint = RELIGHT_TINTS[rng.integers(len(RELIGHT_TINTS))]
    relit = replace(
        inputs.donor_scene.light,
        direction=tuple(float(x) for x in mirrored / np.linalg.norm(mirrored)),
        colour=tuple(float(c) for c in np.multiply(s.light.colour, tint)),
    )
    out = []
    for frame, pose, expression in zip(inputs.real_frames, s.poses, s.expressions):
        donor_frame = render(s.background, inputs.target, pose, expression, relit)
        out.append(_composite(frame, donor_frame, region_alpha(inputs.target, pose, shape, "face", p.feather_px)))
    return out


@dataclass(frozen=True)
class JitterSwapParams:
    shift_iod: float = 0.045  # per-frame alignment error, per axis, in inter-ocular distances
    scale_sd: float = 0.025
    roll_sd: float = 0.03  # radians
    gain_sd: float = 0.04  # per-frame brightness gain of the pasted face
    feather_px: float = 3.0


def _jitter_swap(inputs: FakeInputs, p: JitterSwapParams, rng: np.random.Generator) -> list[np.ndarray]:
    s, shape = inputs.scene, inputs.real_frames[0].shape[:2]
    matched = replace(inputs.donor, skin=inputs.target.skin)
    out = []
    for frame, pose, expression in zip(inputs.real_frames, s.poses, s.expressions):
        sd = p.shift_iod * inter_ocular_px(matched, pose)
        jittered = pose.shifted(rng.normal(0, sd), rng.normal(0, sd), 1 + rng.normal(0, p.scale_sd))
        jittered = replace(jittered, roll=jittered.roll + rng.normal(0, p.roll_sd))
        donor_frame = render(s.background, matched, jittered, expression, s.light) * (1 + rng.normal(0, p.gain_sd))
        out.append(_composite(frame, donor_frame, region_alpha(matched, jittered, shape, "inner", p.feather_px)))
    return out


@dataclass(frozen=True)
class LipDesyncParams:
    synthesis_scale: float = 0.6  # the re-rendered mouth region's resolution
    feather_px: float = 3.0


def _lip_desync(inputs: FakeInputs, p: LipDesyncParams, rng: np.random.Generator) -> list[np.ndarray]:
    s, shape = inputs.scene, inputs.real_frames[0].shape[:2]
    out = []
    for i, (frame, pose, expression) in enumerate(zip(inputs.real_frames, s.poses, s.expressions)):
        spoken = replace(expression, mouth_open=float(inputs.donor_scene.speech[i]))
        donor_frame = render(s.background, inputs.target, pose, spoken, s.light)
        donor_frame = degrade(donor_frame, synthesis_factor(p.synthesis_scale, pose))
        out.append(_composite(frame, donor_frame, region_alpha(inputs.target, pose, shape, "mouth", p.feather_px)))
    return out


@dataclass(frozen=True)
class RefinedSwapParams:
    synthesis_scale: float = 0.8  # half the blend swap's resolution loss (0.4 -> 0.2)
    skin_correction: float = 0.75  # half the blend swap's skin mismatch (0.5 -> 0.25)
    drift_iod: float = 0.0225  # half the jitter swap's alignment error, smoothed in time
    gain_sd: float = 0.02  # half the jitter swap's flicker
    feather_px: float = 4.0  # smoothed mask
    eyes_blink: bool = False  # the unseen trait: synthesised eyes stay open


def _refined_swap(inputs: FakeInputs, p: RefinedSwapParams, rng: np.random.Generator) -> list[np.ndarray]:
    s, shape = inputs.scene, inputs.real_frames[0].shape[:2]
    donor = _mix_skin(inputs.donor, inputs.target, p.skin_correction)
    n = len(inputs.real_frames)
    phase = rng.uniform(0, 2 * np.pi, 2)
    t = np.arange(n) / max(n, 1)
    out = []
    for i, (frame, pose, expression) in enumerate(zip(inputs.real_frames, s.poses, s.expressions)):
        amplitude = p.drift_iod * inter_ocular_px(donor, pose)  # smooth: one slow cycle per video
        steady = pose.shifted(amplitude * np.sin(2 * np.pi * t[i] + phase[0]), amplitude * np.sin(2 * np.pi * t[i] + phase[1]))
        eyes = expression if p.eyes_blink else replace(expression, eye_open=1.0)
        donor_frame = render(s.background, donor, steady, eyes, s.light)
        donor_frame = degrade(donor_frame, synthesis_factor(p.synthesis_scale, steady))
        donor_frame = donor_frame * (1 + rng.normal(0, p.gain_sd))
        out.append(_composite(frame, donor_frame, region_alpha(donor, steady, shape, "inner", p.feather_px)))
    return out


register_method(Method(
    "blend_swap", "spatial",
    "another identity's inner face, pasted at 0.6x resolution with a hard seam and its "
    "skin tone only half corrected towards the target's",
    BlendSwapParams(), _blend_swap,
))
register_method(Method(
    "relight", "global",
    "the face lit from the other side with the other video's light strength and a warm or "
    "cool cast, while hair, ears, neck and scene keep the scene's light",
    RelightParams(), _relight,
))
register_method(Method(
    "jitter_swap", "temporal",
    "another identity's inner face, colour-matched and feathered, but aligned independently "
    "in every frame (jitter of 4.5 % of the eye distance), with frame-to-frame gain flicker",
    JitterSwapParams(), _jitter_swap,
))
register_method(Method(
    "lip_desync", "temporal",
    "the mouth re-rendered at 0.6x resolution and driven by the other person's speech, out "
    "of step with the head nods that follow the person's own speech",
    LipDesyncParams(), _lip_desync,
))
register_method(Method(
    "refined_swap", "spatial+temporal",
    "a better face swap: every source-swap artefact at half its dose (0.8x resolution at source size, "
    "skin mismatch 0.25, smooth drift, 2 % flicker, 4 px feather), and eyes that never blink",
    RefinedSwapParams(), _refined_swap,
))
