"""Optical flow and flow-based midpoint interpolation for the R3D-18 + flow view.

Between two consecutive sampled frames ``I0`` and ``I1`` with forward flow ``F``
(``I0(x) ~ I1(x + F(x))``), the frame at ``t = 0.5`` is estimated by warping both
halfway towards it, ``I0(x - F/2)`` and ``I1(x + F/2)``, and averaging. Warping with the
opposite sign (a defect of the reference implementation) moves content away from the
midpoint; ``tests/test_flow.py`` checks the sign with a synthetic shift.

The profile chooses the flow (``Preprocessing.flow``): RAFT (torchvision), whose weights
must then be on disk (the paper profile: a missing file stops the run before any work,
never a silent fallback), OpenCV's Farneback, or ``auto``: RAFT when its weights are on
disk, else Farneback (the cpu profile). The preprocessing record says which ran.
"""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import torch

from analysis.errors import UserInputError
from analysis.profiles import AUTO_FLOW, FARNEBACK, RAFT

RAFT_MIN_SIDE = 128  # RAFT's correlation pyramid needs at least 128 px
RAFT_WEIGHT_FILES = {
    "raft_small": "raft_small_C_T_V2-01064c6d.pth",
    "raft_large": "raft_large_C_T_SKHT_V2-ff5fadd5.pth",
}


def farneback_flow(frame0: np.ndarray, frame1: np.ndarray) -> np.ndarray:
    """Dense forward flow (H, W, 2) in pixels, ``(dx, dy)``, from OpenCV's Farneback method."""
    grey0 = cv2.cvtColor(frame0, cv2.COLOR_RGB2GRAY)
    grey1 = cv2.cvtColor(frame1, cv2.COLOR_RGB2GRAY)
    return cv2.calcOpticalFlowFarneback(
        grey0, grey1, None, pyr_scale=0.5, levels=3, winsize=15, iterations=3,
        poly_n=5, poly_sigma=1.2, flags=0,
    )


def warp(image: np.ndarray, displacement: np.ndarray) -> np.ndarray:
    """Sample ``image`` at ``x + displacement(x)`` (bilinear, edges replicated)."""
    h, w = image.shape[:2]
    xs, ys = np.meshgrid(np.arange(w, dtype=np.float32), np.arange(h, dtype=np.float32))
    map_x = xs + displacement[..., 0].astype(np.float32)
    map_y = ys + displacement[..., 1].astype(np.float32)
    return cv2.remap(image, map_x, map_y, interpolation=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)


def midpoint(frame0: np.ndarray, frame1: np.ndarray, flow: np.ndarray) -> np.ndarray:
    """The frame at ``t = 0.5`` between ``frame0`` and ``frame1`` given the forward flow."""
    from_start = warp(frame0, -0.5 * flow)
    from_end = warp(frame1, 0.5 * flow)
    blended = (from_start.astype(np.float32) + from_end.astype(np.float32)) / 2
    return np.clip(blended.round(), 0, 255).astype(frame0.dtype)


class RaftFlow:
    """torchvision RAFT with weights loaded from a local file (no download)."""

    def __init__(self, weights_path: Path, device: str = "cpu") -> None:
        from torchvision.models.optical_flow import raft_large, raft_small

        builder = raft_small if "small" in Path(weights_path).name else raft_large
        self.model = builder(weights=None)
        self.model.load_state_dict(torch.load(weights_path, map_location="cpu", weights_only=True))
        self.model.eval().to(device)
        self.device = device

    @torch.no_grad()
    def __call__(self, frame0: np.ndarray, frame1: np.ndarray) -> np.ndarray:
        h, w = frame0.shape[:2]
        # RAFT needs sides that are multiples of 8 and at least 128: resize, then scale back
        grow = max(1.0, RAFT_MIN_SIDE / min(h, w))
        size_w, size_h = (int(np.ceil(side * grow / 8) * 8) for side in (w, h))

        def prepare(frame):  # to [-1, 1], NCHW
            resized = cv2.resize(frame, (size_w, size_h), interpolation=cv2.INTER_LINEAR)
            tensor = torch.from_numpy(resized).permute(2, 0, 1).float().div(127.5).sub(1)
            return tensor.unsqueeze(0).to(self.device)

        field = self.model(prepare(frame0), prepare(frame1))[-1][0].permute(1, 2, 0).cpu().numpy()
        field = cv2.resize(field, (w, h), interpolation=cv2.INTER_LINEAR)
        return field * np.array([w / size_w, h / size_h], np.float32)


def find_raft_weights(weights_dir: Path | None) -> Path | None:
    """A local RAFT weights file, from ``weights_dir`` or torch's hub cache, if any."""
    folders = [Path(weights_dir)] if weights_dir else []
    folders.append(Path(torch.hub.get_dir()) / "checkpoints")
    for folder in folders:
        for name in RAFT_WEIGHT_FILES.values():
            if (folder / name).is_file():
                return folder / name
    return None


FLOW_METHODS = (RAFT, FARNEBACK, AUTO_FLOW)


def missing_raft_message(weights_dir: Path | None) -> str:
    """What to put where when RAFT is required and its weights are not on disk."""
    where = f"in {weights_dir} (--weights-dir)" if weights_dir else "(no --weights-dir given)"
    folder = Path(torch.hub.get_dir()) / "checkpoints"
    return (f"The flow view uses RAFT, and no RAFT weights were found {where} or in {folder}: put "
            f"{RAFT_WEIGHT_FILES['raft_small']} (torchvision's raft_small, the one card 000's code used) or "
            f"{RAFT_WEIGHT_FILES['raft_large']} in the folder you pass with --weights-dir, or choose OpenCV's "
            "Farneback flow on purpose with -o preprocessing.flow=farneback.")


def make_flow(method: str = AUTO_FLOW, weights_dir: Path | None = None, device: str = "cpu"):
    """Return ``(flow_function, description)`` for ``method``: RAFT (its weights must be
    on disk, else :class:`UserInputError`), Farneback, or AUTO_FLOW (RAFT when its weights
    are on disk, else Farneback; the description says which)."""
    if method not in FLOW_METHODS:
        raise UserInputError(f"Unknown flow method {method!r}; choose one of {', '.join(FLOW_METHODS)}.")
    if method == FARNEBACK:
        return farneback_flow, "OpenCV Farneback (chosen)"
    weights = find_raft_weights(weights_dir)
    if weights is not None:
        return RaftFlow(weights, device), f"RAFT ({weights.name})"
    if method == RAFT:
        raise UserInputError(missing_raft_message(weights_dir))
    return farneback_flow, "OpenCV Farneback (no RAFT weights on disk)"


def flow_to_rgb(field: np.ndarray) -> np.ndarray:
    """Colour-code a flow field (H, W, 2) for display: hue is direction, saturation size
    (torchvision's ``flow_to_image``)."""
    from torchvision.utils import flow_to_image

    image = flow_to_image(torch.from_numpy(np.ascontiguousarray(field)).permute(2, 0, 1).float())
    return image.permute(1, 2, 0).numpy()
