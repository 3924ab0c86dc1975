"""Reading a finished crop cache's report and record (written by :mod:`analysis.preprocess.pipeline`,
one file per shard), apart from the pipeline so that deciding which videos are left out
(:mod:`analysis.preprocess.exclusions`), which the pipeline records, can read them too."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd

from analysis.data.manifest import KEY_COLUMNS
from analysis.errors import UserInputError

MEASURED_COLUMNS = ("box_step_px", "smoothed_box_step_px")  # measured on a video's boxes: none if it failed


def load_report(out_dir: Path) -> pd.DataFrame:
    """The report of every shard written to ``out_dir``, in key order."""
    parts = sorted(Path(out_dir).glob("report*.csv"))
    if not parts:
        raise UserInputError(f"No preprocessing report in {out_dir}; run `python -m analysis preprocess` first.")
    frames = [pd.read_csv(p, dtype={"video_id": str}, keep_default_na=False) for p in parts]
    report = pd.concat(frames).sort_values(list(KEY_COLUMNS)).reset_index(drop=True)
    for column in MEASURED_COLUMNS:  # a failed video has none: empty in the file, NaN here
        report[column] = pd.to_numeric(report[column].replace("", np.nan))
    return report


def load_record(out_dir: Path) -> dict:
    """The preprocessing record of a cache, its shards' records merged: videos and
    excluded videos per split summed, ``seconds`` the slowest shard's (the shards run at
    the same time)."""
    parts = [json.loads(p.read_text()) for p in sorted(Path(out_dir).glob("preprocess*.json"))]
    if not parts:
        raise UserInputError(f"No preprocessing record in {out_dir}; run `python -m analysis preprocess` first.")
    return {**parts[0], "shard": [1, len(parts)], "videos": sum(p["videos"] for p in parts),
            "reused_from_cache": sum(p["reused_from_cache"] for p in parts),
            "stale_temporaries_removed": sum(p["stale_temporaries_removed"] for p in parts),
            "excluded": _sum_counts([p.get("excluded", {}) for p in parts]),
            "seconds": max(p["seconds"] for p in parts)}


def _sum_counts(parts: list[dict[str, dict[str, int]]]) -> dict[str, dict[str, int]]:
    """``{split: {reason: n}}`` of several shards, added up."""
    total: dict[str, dict[str, int]] = {}
    for part in parts:
        for split, counts in part.items():
            for reason, n in counts.items():
                total.setdefault(split, {}).setdefault(reason, 0)
                total[split][reason] += n
    return {split: total[split] for split in sorted(total)}
