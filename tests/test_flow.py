"""Flow midpoints move content halfway: the sign check of DESIGN rule 5."""

from __future__ import annotations

import numpy as np
import pytest

from analysis.preprocess import flow


def textured(size: int = 64, seed: int = 0) -> np.ndarray:
    """A smooth random texture (flow needs structure at several scales)."""
    import cv2

    rng = np.random.default_rng(seed)
    noise = rng.uniform(0, 255, (size, size, 3)).astype(np.float32)
    return np.clip(cv2.GaussianBlur(noise, (0, 0), 2.0) * 3 - 255, 0, 255).astype(np.uint8)


def shift_right(image: np.ndarray, k: float) -> np.ndarray:
    """Content moved right by ``k`` pixels: out(x) = image(x - k)."""
    displacement = np.zeros(image.shape[:2] + (2,), np.float32)
    displacement[..., 0] = -k
    return flow.warp(image, displacement)


def best_shift(reference: np.ndarray, moved: np.ndarray, candidates: np.ndarray) -> float:
    """The horizontal shift of ``reference`` that best matches ``moved`` (inner region)."""
    inner = (slice(12, -12), slice(12, -12))
    errors = [np.abs(shift_right(reference, c)[inner].astype(float) - moved[inner]).mean() for c in candidates]
    return float(candidates[int(np.argmin(errors))])


def test_midpoint_with_exact_flow_is_halfway():
    start = textured()
    end = shift_right(start, 6)
    exact = np.zeros(start.shape[:2] + (2,), np.float32)
    exact[..., 0] = 6.0
    mid = flow.midpoint(start, end, exact)
    assert best_shift(start, mid, np.arange(0, 7, 0.25)) == pytest.approx(3.0, abs=0.25)


@pytest.mark.parametrize("k", [4, 8])
def test_farneback_midpoint_is_shifted_by_half(k):
    start = textured(seed=k)
    end = shift_right(start, k)
    mid = flow.midpoint(start, end, flow.farneback_flow(start, end))
    assert abs(best_shift(start, mid, np.arange(0, k + 0.01, 0.25)) - k / 2) <= 1.0


def test_raft_midpoint_is_shifted_by_half():
    weights = flow.find_raft_weights(None)
    if weights is None:
        pytest.skip("no RAFT weights on disk (they cannot be downloaded here); Farneback is tested above")
    raft = flow.RaftFlow(weights)
    start = textured(seed=3)
    end = shift_right(start, 6)
    mid = flow.midpoint(start, end, raft(start, end))
    assert abs(best_shift(start, mid, np.arange(0, 6.01, 0.25)) - 3) <= 1.0


def test_wrong_sign_would_be_caught():
    """Warping away from t = 0.5 (the reference defect) lands far from k/2."""
    start = textured()
    end = shift_right(start, 8)
    exact = np.zeros(start.shape[:2] + (2,), np.float32)
    exact[..., 0] = 8.0
    wrong = flow.midpoint(start, end, -exact)
    assert abs(best_shift(start, wrong, np.arange(-8, 16.01, 0.5)) - 4) > 1.0


def test_make_flow_prefers_raft_weights_found_on_disk(tmp_path, monkeypatch):
    import torch
    from torchvision.models.optical_flow import raft_small

    torch.manual_seed(0)
    torch.save(raft_small(weights=None).state_dict(), tmp_path / flow.RAFT_WEIGHT_FILES["raft_small"])
    flow_fn, name = flow.make_flow("auto", tmp_path)
    assert name.startswith("RAFT")
    field = flow_fn(textured(), textured(seed=1))
    assert field.shape == (64, 64, 2) and np.isfinite(field).all()
    monkeypatch.setattr(torch.hub, "get_dir", lambda: str(tmp_path / "hub"))
    assert flow.make_flow("auto", tmp_path / "empty")[1].startswith("OpenCV")


def test_raft_required_without_weights_names_the_file_and_weights_dir(tmp_path, monkeypatch):
    import torch

    from analysis.errors import UserInputError

    monkeypatch.setattr(torch.hub, "get_dir", lambda: str(tmp_path / "hub"))
    with pytest.raises(UserInputError, match="raft_small_C_T_V2-01064c6d.pth") as caught:
        flow.make_flow("raft", tmp_path / "weights")
    assert "--weights-dir" in str(caught.value) and "preprocessing.flow=farneback" in str(caught.value)
    assert flow.make_flow("farneback", None)[1] == "OpenCV Farneback (chosen)"
    with pytest.raises(UserInputError, match="Unknown flow method 'sparse'"):
        flow.make_flow("sparse")
