"""Measure where and when a manipulation changes its source video."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from tqdm import tqdm

from analysis.video import read_video


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


def measure_fakes(manifest: pd.DataFrame) -> pd.DataFrame:
    """Decode every manipulated video of the embedded benchmark next to its source video
    and measure its change: mean size (grey levels) and temporal variation."""
    from analysis.synthetic import source_video

    rows = []
    fakes = manifest[manifest["label"] == 1]
    for _, fake in tqdm(fakes.iterrows(), total=len(fakes), desc="difference maps", unit="video"):
        real = read_video(source_video(manifest, fake)["path"])
        manipulated = read_video(fake["path"])
        rows.append(
            {
                "domain": fake["domain"], "method": fake["method"], "video_id": fake["video_id"],
                "mean change": float(difference_maps(real, manipulated).mean()),
                "temporal variation": temporal_variation(real, manipulated),
            }
        )
    return pd.DataFrame(rows)


def colourise(values: np.ndarray, vmax: float, cmap: str = "magma") -> np.ndarray:
    """Map a 2-D array to an RGB uint8 image on a fixed scale ``[0, vmax]``."""
    rgba = plt.get_cmap(cmap)(np.clip(values / vmax, 0, 1))
    return (rgba[..., :3] * 255).astype(np.uint8)
