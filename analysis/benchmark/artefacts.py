"""Show and measure where a manipulation changes its source video, at the models' input sizes
(the change of every fake over the whole frame: :mod:`analysis.benchmark.changes`)."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from tqdm import tqdm


def colourise(values: np.ndarray, vmax: float, cmap: str = "magma") -> np.ndarray:
    """Map a 2-D array to an RGB uint8 image on a fixed scale ``[0, vmax]``."""
    rgba = plt.get_cmap(cmap)(np.clip(values / vmax, 0, 1))
    return (rgba[..., :3] * 255).astype(np.uint8)


def _crop_side_px(box: np.ndarray, size: int) -> float:
    """Side, in frame pixels, of the square a face crop of ``size`` px covers: the box
    plus the seeds' margin, which ``crop_face`` gives in output pixels."""
    from analysis.preprocess.face_detect import margin_for

    side = max(box[2] - box[0], box[3] - box[1])
    margin = margin_for(size)
    return side * size / max(size - margin, 1)


def artefact_at_input_sizes(manifest: pd.DataFrame, cache_root, frames_per_video: int, sizes: list[int],
                            per_method: int = 12) -> pd.DataFrame:
    """How strong each method's artefact is at the input size of each model that reads it.

    For up to ``per_method`` test fakes of every (subset, method), the fake and its real
    video are decoded at the preprocessing's sampled frames and both are cropped with the
    real video's MTCNN boxes (from the crop cache) at each size. Per video: the mean
    ``|fake - real|`` inside the crop (grey levels), the same over the 5 % of pixels it
    changes most (a local artefact such as the mouth's), its mean frame-to-frame change, the
    camera noise at that size (the capture's noise, averaged down when the crop shrinks the
    face), and the crop's scale: input pixels per frame pixel, which says whether a model
    resolves a method synthesised at a fraction of the face's resolution. Real and fake
    share their camera noise, so ``fake - real`` is the artefact after compression.
    """
    from analysis.benchmark.generator import source_video
    from analysis.preprocess import crop_cache
    from analysis.preprocess.face_detect import crop_face
    from analysis.preprocess.video import read_frames

    fakes = manifest[(manifest["label"] == 1) & (manifest["split"] == "test")]
    picked = fakes.groupby(["subset", "method"], group_keys=False).head(per_method)
    rows = []
    for _, fake in tqdm(picked.iterrows(), total=len(picked), desc="artefact by input size", unit="video"):
        real = source_video(manifest, fake)
        boxes = crop_cache.load_entry(cache_root, (real["dataset"], real["method"], real["video_id"]))["boxes"]
        real_frames = read_frames(real["path"], frames_per_video)
        fake_frames = read_frames(fake["path"], frames_per_video)
        for size in sizes:
            crops = [
                np.stack([crop_face(f, b, size) for f, b in zip(frames, boxes)]).astype(np.float32)
                for frames in (real_frames, fake_frames)
            ]
            delta = crops[1] - crops[0]
            scale = size / float(np.mean([_crop_side_px(b, size) for b in boxes]))
            rows.append({
                "subset": fake["subset"], "method": fake["method"], "video_id": fake["video_id"],
                "input px": size,
                "input px per frame px": scale,
                "mean |fake-real|": float(np.abs(delta).mean()),
                "top 5 % |fake-real|": float(np.percentile(np.abs(delta).mean(axis=-1), 95, axis=(1, 2)).mean()),
                "frame-to-frame change": float(np.abs(np.diff(delta, axis=0)).mean()) if len(delta) > 1 else np.nan,
                "camera noise": float(fake["noise_sigma"]) * min(1.0, scale),
            })
    return pd.DataFrame(rows)


def reader_sizes(profile: str) -> dict[int, list[str]]:
    """The input sizes of a profile's models, each with the models that read it."""
    from analysis.profiles import get_profile

    settings = get_profile(profile)
    sizes: dict[int, list[str]] = {}
    for name in settings.model_names():
        sizes.setdefault(settings.variant(name).input_size, []).append(name)
    return dict(sorted(sizes.items()))
