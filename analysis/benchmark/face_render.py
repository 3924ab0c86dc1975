"""Parametric, shaded face renderer for the embedded benchmark.

A face is drawn from implicit shapes (ellipses) in face-local coordinates ``(u, v)``:
``u`` runs left to right in units of the face's half-width, ``v`` top to bottom, and the
face outline spans ``v`` in ``[-aspect, aspect]``. An identity fixes shapes and colours;
a :class:`Pose` and an :class:`Expression` place and animate it in one frame; a
:class:`Light` shades it with a Lambertian model on an ellipsoid, so faces have the
shading gradients a face detector expects. Every manipulation of the benchmark is a
composite of such renders, which is what lets the benchmark say where each method
changes the frame.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

RGB = tuple[float, float, float]

SKIN_TONES = np.array(
    [[0.96, 0.80, 0.69], [0.90, 0.71, 0.56], [0.80, 0.60, 0.45], [0.67, 0.47, 0.33],
     [0.60, 0.42, 0.30], [0.52, 0.36, 0.26], [0.98, 0.86, 0.78]]
)
HAIR_COLOURS = np.array(
    [[0.08, 0.06, 0.05], [0.25, 0.16, 0.09], [0.45, 0.30, 0.15], [0.70, 0.55, 0.30],
     [0.55, 0.20, 0.08], [0.55, 0.55, 0.55], [0.15, 0.12, 0.10]]
)
SPECULAR, SHININESS = 0.22, 14  # skin highlight strength and sharpness
IRIS_COLOURS = np.array([[0.30, 0.18, 0.08], [0.20, 0.35, 0.55], [0.25, 0.40, 0.25], [0.15, 0.10, 0.05]])


@dataclass(frozen=True)
class Identity:
    """Shapes and colours of one synthetic person (all lengths in face half-widths)."""

    identity_id: str
    aspect: float  # face half-height / half-width
    jaw_taper: float  # narrowing of the face towards the chin
    skin: RGB
    eye_spacing: float  # horizontal offset of each eye centre
    eye_level: float  # vertical position of the eyes, as a fraction of aspect
    eye_size: float  # horizontal radius of an eye
    iris: RGB
    brow_thickness: float
    brow_raise: float
    nose_length: float
    mouth_width: float
    lips: RGB
    hair: RGB
    hairline: float  # where the fringe ends, as a fraction of aspect (negative = up)
    hair_length: float  # how far down the sides the hair falls, fraction of aspect
    hair_volume: float
    clothing: RGB
    glasses: bool
    beard: bool


def _jitter(rng: np.random.Generator, colour: np.ndarray, amount: float) -> RGB:
    return tuple(float(c) for c in np.clip(colour + rng.normal(0, amount, 3), 0, 1))


def random_identity(rng: np.random.Generator, identity_id: str) -> Identity:
    """Draw an identity; every field comes from ``rng``, so a seed fixes a person."""
    return Identity(
        identity_id=identity_id,
        aspect=float(rng.uniform(1.22, 1.42)),
        jaw_taper=float(rng.uniform(0.05, 0.3)),
        skin=_jitter(rng, SKIN_TONES[rng.integers(len(SKIN_TONES))], 0.03),
        eye_spacing=float(rng.uniform(0.36, 0.44)),
        eye_level=float(rng.uniform(-0.16, -0.04)),
        eye_size=float(rng.uniform(0.17, 0.22)),
        iris=_jitter(rng, IRIS_COLOURS[rng.integers(len(IRIS_COLOURS))], 0.03),
        brow_thickness=float(rng.uniform(0.035, 0.07)),
        brow_raise=float(rng.uniform(0.2, 0.28)),
        nose_length=float(rng.uniform(0.3, 0.42)),
        mouth_width=float(rng.uniform(0.24, 0.34)),
        lips=_jitter(rng, np.array([0.70, 0.35, 0.35]), 0.05),
        hair=_jitter(rng, HAIR_COLOURS[rng.integers(len(HAIR_COLOURS))], 0.03),
        hairline=float(rng.uniform(-0.78, -0.55)),
        hair_length=float(rng.uniform(-0.3, 0.7)),
        hair_volume=float(rng.uniform(1.08, 1.22)),
        clothing=_jitter(rng, rng.uniform(0.1, 0.9, 3), 0.0),
        glasses=bool(rng.random() < 0.25),
        beard=bool(rng.random() < 0.2),
    )


@dataclass(frozen=True)
class Pose:
    """Where the face is in one frame (pixels and radians; yaw and pitch in face units)."""

    cx: float
    cy: float
    scale: float  # face half-width in pixels
    roll: float = 0.0
    yaw: float = 0.0
    pitch: float = 0.0

    def shifted(self, dx: float = 0.0, dy: float = 0.0, scale_factor: float = 1.0) -> Pose:
        return replace(self, cx=self.cx + dx, cy=self.cy + dy, scale=self.scale * scale_factor)


@dataclass(frozen=True)
class Expression:
    eye_open: float = 1.0  # 1 open, 0 closed (blink)
    mouth_open: float = 0.0  # 0 closed, 1 wide open


@dataclass(frozen=True)
class Light:
    """A directional light plus ambient term; ``direction`` points from the face to the light
    in image axes (x right, y down, z towards the camera)."""

    direction: tuple[float, float, float]
    colour: RGB
    ambient: float
    diffuse: float


def face_coordinates(shape: tuple[int, int], pose: Pose) -> tuple[np.ndarray, np.ndarray]:
    """Face-local ``(u, v)`` of every pixel centre for a frame of ``shape`` (height, width)."""
    ys, xs = np.mgrid[0 : shape[0], 0 : shape[1]].astype(np.float32) + 0.5
    dx, dy = xs - pose.cx, ys - pose.cy
    cos, sin = np.cos(pose.roll), np.sin(pose.roll)
    return (cos * dx + sin * dy) / pose.scale, (-sin * dx + cos * dy) / pose.scale


def ellipse_alpha(u, v, cu, cv, ru, rv, scale: float, feather_px: float = 1.0) -> np.ndarray:
    """Anti-aliased coverage of an ellipse, with an edge ``feather_px`` pixels wide."""
    q = np.sqrt(((u - cu) / ru) ** 2 + ((v - cv) / rv) ** 2)
    distance_px = (q - 1.0) * min(ru, rv) * scale
    return np.clip(0.5 - distance_px / max(feather_px, 1e-3), 0.0, 1.0)


Ellipse = tuple[float, float, float, float, float]  # cu, cv, ru, rv, feather_px: ellipse_alpha's shape


def support_box(shape: tuple[int, int], pose: Pose, ellipses: list[Ellipse], shift: tuple[float, float] = (0.0, 0.0),
                ) -> tuple[slice, slice]:
    """The rows and columns, a pixel to spare, outside which every one of ``ellipses`` has
    zero coverage; their coordinates are face-local less ``shift`` (the features' yaw and
    pitch offset). A feature a few pixels wide is then drawn on these pixels alone: the
    same values, bit for bit, at a small share of the frame's arithmetic."""
    cos, sin = np.cos(pose.roll), np.sin(pose.roll)
    top, left, bottom, right = np.inf, np.inf, -np.inf, -np.inf
    for cu, cv, ru, rv, feather in ellipses:
        # coverage is zero where q >= 1 + feather / 2 / (min radius in px): within reach of the centre
        reach = max(ru, rv) * (1 + 0.5 * max(feather, 1e-3) / (min(ru, rv) * pose.scale)) * pose.scale + 1.0
        u, v = cu + shift[0], cv + shift[1]
        x = pose.cx + pose.scale * (cos * u - sin * v) - 0.5  # the column whose pixel centre is there
        y = pose.cy + pose.scale * (sin * u + cos * v) - 0.5
        top, bottom = min(top, y - reach), max(bottom, y + reach)
        left, right = min(left, x - reach), max(right, x + reach)
    rows = slice(max(0, int(np.floor(top))), max(0, int(np.ceil(bottom)) + 1))
    cols = slice(max(0, int(np.floor(left))), max(0, int(np.ceil(right)) + 1))
    return rows, cols


def _paint(image: np.ndarray, alpha: np.ndarray, colour) -> None:
    """Alpha-blend a flat colour into ``image`` in place, only over the layer's bounding box."""
    rows = np.flatnonzero(alpha.any(axis=1))
    cols = np.flatnonzero(alpha.any(axis=0))
    if rows.size == 0:
        return
    box = (slice(rows[0], rows[-1] + 1), slice(cols[0], cols[-1] + 1))
    a = alpha[box][..., None]
    image[box] += a * (np.asarray(colour, dtype=np.float32) - image[box])


def face_outline_alpha(identity: Identity, u, v, scale: float) -> np.ndarray:
    a = identity.aspect
    width = 1.0 - identity.jaw_taper * np.clip(v / a, 0, 1) ** 2
    return ellipse_alpha(u / width, v, 0, 0, 1.0, a, scale)


def render(
    background: np.ndarray,
    identity: Identity,
    pose: Pose,
    expression: Expression,
    light: Light,
) -> np.ndarray:
    """Render one frame: ``background`` (H, W, 3 float in [0, 1], already lit) plus a lit
    person. Returns a new float32 image in [0, 1]. The small features (ears, eyes, nose,
    mouth) are drawn on their :func:`support_box` only."""
    h, w = background.shape[:2]
    u, v = face_coordinates((h, w), pose)
    s, a = pose.scale, identity.aspect
    albedo = np.zeros((h, w, 3), np.float32)
    cover = np.zeros((h, w), np.float32)
    whole = (slice(None), slice(None))

    def layer(alpha, colour, box=whole):
        _paint(albedo[box], alpha, colour)
        np.maximum(cover[box], alpha, out=cover[box])

    def features(ellipses: dict[str, Ellipse], shifted: bool = True):
        """The box of ``ellipses``, its coordinates and each ellipse's coverage on it."""
        shift = (pose.yaw * 0.3, pose.pitch * 0.2) if shifted else (0.0, 0.0)
        box = support_box((h, w), pose, list(ellipses.values()), shift)
        bu, bv = (fu[box], fv[box]) if shifted else (u[box], v[box])
        return box, bu, bv, {name: ellipse_alpha(bu, bv, cu, cv, ru, rv, s, feather)
                             for name, (cu, cv, ru, rv, feather) in ellipses.items()}

    skin = np.asarray(identity.skin, np.float32)
    hair = np.asarray(identity.hair, np.float32)
    # body, neck, hair behind the head, ears
    layer(ellipse_alpha(u, v, 0, a * 2.45, 2.3, 1.25, s), identity.clothing)
    layer(ellipse_alpha(u, v, 0, a * 1.0, 0.52, 0.7, s), skin * 0.82)
    back_hair = ellipse_alpha(u, v, 0, -0.08 * a, identity.hair_volume, identity.hair_volume * a, s)
    back_hair *= np.clip((identity.hair_length * a - v) * s, 0, 1)
    layer(back_hair, hair)
    fu, fv = u - pose.yaw * 0.3, v - pose.pitch * 0.2
    for side in (-1, 1):
        box, _, _, ear = features({"ear": (side * 0.98, -0.02 * a, 0.14, 0.24, 1.0)}, shifted=False)
        layer(ear["ear"], skin * 0.92, box)
    # the face, features offset by yaw and pitch
    outline = face_outline_alpha(identity, u, v, s)
    layer(outline, skin)
    fringe = outline * np.clip((identity.hairline * a + 0.25 * fu**2 - fv) * s * 0.5, 0, 1)
    layer(fringe, hair)
    ey = identity.eye_level * a
    eye_size = identity.eye_size
    openness = max(expression.eye_open, 0.0)
    eye_rv = eye_size * 0.5 * openness
    lid_rv = eye_size * 0.5 * max(openness, 0.08)
    for side in (-1, 1):
        ex = side * identity.eye_spacing
        ix = ex + pose.yaw * 0.05
        box, bu, bv, eye = features({
            "brow": (ex, ey - identity.brow_raise, eye_size * 1.1, identity.brow_thickness, 1.0),
            "socket": (ex, ey, eye_size * 1.3, eye_size * 0.75, 3.0),
            **({"sclera": (ex, ey, eye_size, eye_rv, 1.0), "iris": (ix, ey, eye_size * 0.48, eye_size * 0.48, 1.0),
                "pupil": (ix, ey, eye_size * 0.22, eye_size * 0.22, 1.0)} if openness > 0.05 else {}),
            "lid": (ex, ey - 0.01, eye_size * 1.02, lid_rv + 0.02, 1.0),
            "lid_opening": (ex, ey, eye_size, lid_rv, 1.0),
            **({"ring": (ex, ey, eye_size * 1.45, eye_size * 1.1, 1.0),
                "ring_hole": (ex, ey, eye_size * 1.3, eye_size * 0.95, 1.0)} if identity.glasses else {}),
        })
        brow = eye["brow"]
        brow *= np.clip((ey - identity.brow_raise - bv) * s + 1.0, 0, 1)  # upper half: an arc
        layer(brow, hair * 0.8, box)
        _paint(albedo[box], eye["socket"] * 0.35, skin * 0.6)
        if openness > 0.05:
            layer(eye["sclera"], (0.93, 0.92, 0.9), box)
            layer(eye["iris"] * eye["sclera"], identity.iris, box)
            layer(eye["pupil"] * eye["sclera"], (0.03, 0.03, 0.03), box)
        lid = eye["lid"]
        lid *= np.clip((ey - bv) * s, 0, 1) * (1 - eye["lid_opening"])
        layer(lid, (0.12, 0.08, 0.07), box)
        if identity.glasses:
            ring = eye["ring"]
            ring -= eye["ring_hole"]
            layer(np.clip(ring, 0, 1), (0.1, 0.1, 0.12), box)
    if identity.glasses:
        box, _, _, bridge = features({"bridge": (0, ey - 0.05, identity.eye_spacing - eye_size * 1.3, 0.025, 1.0)})
        layer(bridge["bridge"], (0.1, 0.1, 0.12), box)
    nose_top, nose_end = ey + 0.05, ey + identity.nose_length
    box, _, _, nose = features({"ridge": (0.06, (nose_top + nose_end) / 2, 0.08, identity.nose_length / 2, 2.0),
                                "left": (-0.075, nose_end, 0.05, 0.03, 1.0),
                                "right": (0.075, nose_end, 0.05, 0.03, 1.0)})
    _paint(albedo[box], nose["ridge"] * 0.25, skin * 0.55)
    for nostril in ("left", "right"):
        layer(nose[nostril] * 0.8, skin * 0.35, box)
    mouth_y = nose_end + 0.22 * a
    opening = float(np.clip(expression.mouth_open, 0, 1))
    if identity.beard:
        beard = outline * np.clip((fv - mouth_y + 0.12 + 0.5 * np.abs(fu)) * s * 0.5, 0, 1)
        layer(beard * 0.6, hair)
    lips_rv = 0.06 + 0.1 * opening
    lips = 0.5 * np.asarray(identity.lips, np.float32) + 0.5 * skin * (0.8, 0.45, 0.45)
    box, _, bv, mouth = features({"lips": (0, mouth_y, identity.mouth_width, lips_rv, 1.0),
                                  "inner": (0, mouth_y, identity.mouth_width * 0.8, max(0.09 * opening, 0.012), 1.0)})
    layer(mouth["lips"], lips, box)
    inner = mouth["inner"]
    layer(inner, (0.25, 0.05, 0.06) if opening > 0.1 else lips * 0.5, box)
    if opening > 0.25:
        teeth = inner * np.clip((mouth_y - 0.03 * opening - bv) * s, 0, 1)
        layer(teeth, (0.9, 0.88, 0.82), box)
    # Lambertian shading on an ellipsoid around the head
    ru, rv = u / 1.15, v / (a * 1.15)
    nz = np.sqrt(np.clip(1 - ru**2 - rv**2, 0.04, 1))
    normal_norm = np.sqrt(ru**2 + rv**2 + nz**2)
    lx, ly, lz = light.direction
    lambert = np.clip((ru * lx + rv * ly + nz * lz) / normal_norm, 0, 1)
    shade = light.ambient + light.diffuse * lambert
    # Blinn-Phong highlight on the skin, halfway between the light and the camera
    hx, hy, hz = lx, ly, lz + 1.0
    half_norm = np.sqrt(hx**2 + hy**2 + hz**2)
    highlight = np.clip((ru * hx + rv * hy + nz * hz) / (normal_norm * half_norm), 0, 1) ** SHININESS
    lit = albedo * shade[..., None] + (SPECULAR * highlight * outline)[..., None]
    lit *= np.asarray(light.colour, np.float32)
    out = background * (1 - cover[..., None]) + lit * cover[..., None]
    return np.clip(out, 0, 1).astype(np.float32)


def region_alpha(identity: Identity, pose: Pose, shape: tuple[int, int], region: str, feather_px: float) -> np.ndarray:
    """Coverage of a face region (``inner``, ``face`` or ``mouth``) used as a blending mask."""
    u, v = face_coordinates(shape, pose)
    fu, fv = u - pose.yaw * 0.3, v - pose.pitch * 0.2
    a = identity.aspect
    if region == "face":
        return face_outline_alpha(identity, u, v, pose.scale) if feather_px <= 1 else ellipse_alpha(
            u, v, 0, 0, 1.0, a, pose.scale, feather_px
        )
    if region == "inner":  # brows to chin, inside the outline: where face swaps paste
        return ellipse_alpha(fu, fv, 0, 0.12 * a, 0.8, 0.78 * a, pose.scale, feather_px)
    if region == "mouth":
        mouth_y = identity.eye_level * a + identity.nose_length + 0.22 * a
        return ellipse_alpha(fu, fv, 0, mouth_y, identity.mouth_width * 1.5, 0.28, pose.scale, feather_px)
    raise ValueError(f"unknown face region {region!r}; expected 'inner', 'face' or 'mouth'")
