"""Videos the study leaves out, and why (DESIGN rule 8), decided once from the
preprocessing report.

Real downloads of FF++ and Celeb-DF hold files that cannot be used: a video is left out
when it could not be read at all (:data:`UNREADABLE`), when fewer of its frames decoded
than the profile samples, or the file holds fewer frames than its header declares
(:data:`TOO_FEW_FRAMES`: a file cut short, or a video shorter than the sample; a model
reads the same number of frames from every video, spread over the whole video), or when MTCNN
found a face in none of its sampled frames (:data:`NO_FACE`: every crop would be the
centred fallback square). Training, validation and scoring read the crop cache through
:func:`usable_videos`, so such a video is in none of them; the preprocessing record counts
them per split and the preprocessing chapter lists them. The study goes on without them.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from analysis.data.manifest import KEY_COLUMNS
from analysis.preprocess.report import load_record, load_report

UNREADABLE, TOO_FEW_FRAMES, NO_FACE = "unreadable", "too few frames", "no face"
REASONS = (UNREADABLE, TOO_FEW_FRAMES, NO_FACE)
KEPT = ""  # the reason of a video that is kept
CUT_SHORT = "cut short"  # how a report's error begins when the file holds fewer frames than its header declares


def exclusion_reasons(report: pd.DataFrame, frames_per_video: int, sequence_frames: int | None = None) -> pd.Series:
    """The reason each video of a preprocessing report is left out (one of
    :data:`REASONS`), or :data:`KEPT`; the first that applies, in that order. A video
    gives too few frames when its main sampling kept fewer than ``frames_per_video`` or
    fewer frames decoded than the larger sampling needs (``sequence_frames``, the sequence
    model's own, when the profile has one): every sampling ends on the last frame, so a
    decoding that stopped early shortens them all."""
    failed = report["status"] != "ok"
    needed = max(frames_per_video, sequence_frames or 0)
    short = (report["frames_sampled"].astype(int) < frames_per_video) | (report["frames_decoded"].astype(int) < needed)
    if "error" in report:  # a file cut short: its samples miss the part that is lost
        short |= report["error"].fillna("").astype(str).str.startswith(CUT_SHORT)
    faceless = report["faces_found"].astype(int) == 0
    reasons = pd.Series(KEPT, index=report.index, name="excluded")
    for reason, applies in ((NO_FACE, faceless), (TOO_FEW_FRAMES, short), (UNREADABLE, failed)):
        reasons[applies] = reason  # the last assignment wins: the order of REASONS
    return reasons


def excluded_per_split(report: pd.DataFrame, frames_per_video: int,
                       sequence_frames: int | None = None) -> dict[str, dict[str, int]]:
    """``{"domain/split": {reason: videos}}`` for every split of the report, zeros
    included, so the preprocessing record says "none" as plainly as it says how many."""
    reasons = exclusion_reasons(report, frames_per_video, sequence_frames)
    names = report["domain"].astype(str) + "/" + report["split"].astype(str)
    return {name: {reason: int(((names == name) & (reasons == reason)).sum()) for reason in REASONS}
            for name in sorted(set(names))}


def excluded_videos(cache_dir: Path) -> pd.DataFrame:
    """The left-out videos of a finished crop cache: their key, domain, split, label,
    reason and the error or counts that decided it."""
    report = load_report(cache_dir)
    settings = load_record(cache_dir)["profile"]
    report = report.assign(excluded=exclusion_reasons(report, settings["frames_per_video"],
                                                      settings.get("sequence_frames")))
    columns = [*KEY_COLUMNS, "domain", "split", "label", "excluded", "frames_sampled", "faces_found", "error"]
    return report.loc[report["excluded"] != KEPT, columns].reset_index(drop=True)


def usable_videos(videos: pd.DataFrame, cache_dir: Path) -> pd.DataFrame:
    """``videos`` without those the crop cache's report leaves out, in the same order.
    A video the report does not know is kept (reading it then fails with the missing
    cache entry named), so a wrong cache folder never shrinks a split silently."""
    left_out = excluded_videos(cache_dir)
    if left_out.empty:
        return videos
    dropped = set(zip(*(left_out[c] for c in KEY_COLUMNS)))
    keep = [key not in dropped for key in zip(*(videos[c] for c in KEY_COLUMNS))]
    return videos[keep]
