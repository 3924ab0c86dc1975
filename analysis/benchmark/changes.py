"""How much a manipulated video changes the video it was made from.

The generator measures every fake against its source while both are decoded for the
shortcut probes' features, so the benchmark chapter reads one table instead of decoding
every pair again (:data:`analysis.paths.FAKE_CHANGES_FILE`).
"""

from __future__ import annotations

import numpy as np

CHANGE_COLUMNS = ("mean change", "temporal variation")


def difference_maps(real: np.ndarray, fake: np.ndarray) -> np.ndarray:
    """Per-frame absolute difference ``|fake - real|``, averaged over colour: (T, H, W).

    Both are (T, H, W, 3) arrays of the same video before and after manipulation.
    """
    if real.shape != fake.shape:
        raise ValueError(f"real and fake videos differ in shape: {real.shape} vs {fake.shape}")
    return np.abs(fake.astype(np.float32) - real.astype(np.float32)).mean(axis=-1)


def temporal_variation(real: np.ndarray, fake: np.ndarray) -> float:
    """How much the manipulation itself changes from frame to frame.

    The mean absolute frame-to-frame change of ``fake - real``, relative to the mean
    size of ``fake - real``: near 0 for a change that is the same in every frame,
    around 1 or more for one that jumps between frames.
    """
    delta = fake.astype(np.float32) - real.astype(np.float32)
    return float(np.abs(np.diff(delta, axis=0)).mean() / max(np.abs(delta).mean(), 1e-9))


def change(real: np.ndarray, fake: np.ndarray) -> dict[str, float]:
    """The :data:`CHANGE_COLUMNS` of a decoded manipulated video against its decoded source:
    the mean size of the change (grey levels) and its temporal variation."""
    return dict(zip(CHANGE_COLUMNS, (float(difference_maps(real, fake).mean()), temporal_variation(real, fake))))
