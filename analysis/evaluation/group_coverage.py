"""Does the Celeb-DF bootstrap unit give 95 % intervals that cover 95 % of the time?

A simulation on a test set laid out like Celeb-DF v2's official list (DESIGN rule 11):
celebrities with real videos, fakes each made from one celebrity's real video with another
celebrity's face (the ``idA_idB_NNNN`` of the dataset), and YouTube-real videos of nobody
in particular. Scores carry the dependence that layout implies: an effect shared by every
video of a celebrity (person, scenes, camera: on reals and on the fakes made from them),
optionally an effect of the donor face on the fakes it went into, and noise per video.
For each clustering (the unit :func:`analysis.data.splits.celebdf_group` chose, single
videos, the swap graph's components) it reports how often the BCa group-bootstrap
interval of the AUC holds the design's true AUC (the mean AUC over many draws of the same
layout, as ``tests/test_bootstrap.py`` defines it).

The book reads the stored result (``book/stored/celebdf_group_coverage.csv``); remake it
with ``python -m analysis.evaluation.group_coverage`` (a few minutes on one core).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np
import pandas as pd

from analysis.data.splits import celebdf_group, identity_components
from analysis.evaluation import bootstrap
from analysis.paths import STORED_DIR

STORED_FILE = STORED_DIR / "celebdf_group_coverage.csv"
CLUSTERINGS = ("celebrity of the real video", "video", "swap-graph component")


@dataclass(frozen=True)
class Layout:
    """A test set of Celeb-DF's size: the official list's 178 real and 340 fake videos
    over its 59 celebrities. How the reals divide between Celeb-real and YouTube-real is
    this simulation's assumption (the list is not shipped here)."""

    celebrities: int = 59
    celeb_reals: int = 100
    youtube_reals: int = 78
    fakes: int = 340


@dataclass(frozen=True)
class Dependence:
    """Standard deviations of the shared effects, in units of the per-video noise."""

    celebrity: float = 0.0  # on every video of a celebrity and every fake made from them
    artefact: float = 0.0  # on the fakes made from a celebrity's videos only (how visible the swap is)
    donor: float = 0.0  # on every fake that carries the celebrity's face
    separation: float = 1.2  # mean fake-minus-real score


def layout_videos(layout: Layout, seed: int = 0) -> pd.DataFrame:
    """One row per video, named as the dataset names it: ``label``, ``source_id`` (the
    celebrity of the real video), ``target_id`` (the donor face of a fake), ``video_id``."""
    rng = np.random.default_rng(seed)
    celebs = [f"id{i}" for i in range(layout.celebrities)]
    rows = [{"label": 0, "source_id": celebs[i % len(celebs)], "target_id": "",
             "video_id": f"{celebs[i % len(celebs)]}_{i // len(celebs):04d}"} for i in range(layout.celeb_reals)]
    rows += [{"label": 0, "source_id": "", "target_id": "", "video_id": f"{i:05d}"}
             for i in range(layout.youtube_reals)]
    for i in range(layout.fakes):
        source = celebs[i % len(celebs)]
        donor = celebs[(i % len(celebs) + 1 + rng.integers(len(celebs) - 1)) % len(celebs)]
        rows.append({"label": 1, "source_id": source, "target_id": donor,
                     "video_id": f"{source}_{donor}_{i // len(celebs):04d}"})
    return pd.DataFrame(rows)


def clusterings(videos: pd.DataFrame) -> dict[str, np.ndarray]:
    """Each video's group under each clustering of :data:`CLUSTERINGS`."""
    edges = [(s, t) for s, t in zip(videos["source_id"], videos["target_id"]) if s and t]
    ids = [i for i in videos["source_id"] if i]
    owner = {i: c[0] for c in identity_components(ids, edges) for i in c}
    return {
        CLUSTERINGS[0]: np.array([celebdf_group(s, v) for s, v in zip(videos["source_id"], videos["video_id"])]),
        CLUSTERINGS[1]: np.arange(len(videos)).astype(str),
        CLUSTERINGS[2]: np.array([owner[s] if s else f"youtube-{v}" for s, v in
                                  zip(videos["source_id"], videos["video_id"])]),
    }


def draw_scores(videos: pd.DataFrame, dependence: Dependence, rng: np.random.Generator, reps: int) -> np.ndarray:
    """``(reps, videos)`` scores: celebrity effect (a YouTube-real video has its own) +
    artefact effect of the source celebrity and donor effect on fakes + separation on
    fakes + unit noise."""
    labels = videos["label"].to_numpy()
    owners = [s or f"youtube-{v}" for s, v in zip(videos["source_id"], videos["video_id"])]
    owner_codes, n_owners = pd.factorize(pd.Series(owners))[0], len(set(owners))
    donors = sorted(set(videos["target_id"]) - {""})
    donor_codes = np.array([donors.index(t) if t else -1 for t in videos["target_id"]])
    celebrity = rng.normal(0, dependence.celebrity, (reps, n_owners))[:, owner_codes]
    celebrity += rng.normal(0, dependence.artefact, (reps, n_owners))[:, owner_codes] * labels
    donor = rng.normal(0, dependence.donor, (reps, max(len(donors), 1)))[:, np.maximum(donor_codes, 0)]
    donor *= donor_codes >= 0
    return celebrity + donor + dependence.separation * labels + rng.normal(0, 1, (reps, len(labels)))


def coverage(layout: Layout, dependence: Dependence, reps: int = 300, truth_draws: int = 2000,
             n_resamples: int = 400, seed: int = 0) -> pd.DataFrame:
    """One row per clustering: its groups per label, the share of ``reps`` simulated test
    sets whose 95 % BCa interval holds the true AUC, and the intervals' mean width."""
    rng = np.random.default_rng(seed)
    videos = layout_videos(layout, seed)
    labels = videos["label"].to_numpy()
    truth = float(np.mean([bootstrap.auc(labels, s) for s in draw_scores(videos, dependence, rng, truth_draws)]))
    scores = draw_scores(videos, dependence, rng, reps)
    rows = []
    for name, groups in clusterings(videos).items():
        intervals = [bootstrap.auc_interval(s, labels, groups, n_resamples=n_resamples, seed=i)
                     for i, s in enumerate(scores)]
        rows.append({
            "clustering": name,
            "groups (real)": len(set(groups[labels == 0])), "groups (fake)": len(set(groups[labels == 1])),
            "coverage": float(np.mean([i.low <= truth <= i.high for i in intervals])),
            "mean width": float(np.mean([i.high - i.low for i in intervals])),
            "true AUC": truth, "test sets": reps, **{f"sd {k}": v for k, v in asdict(dependence).items()},
        })
    return pd.DataFrame(rows)


SCENARIOS = (Dependence(celebrity=1.0), Dependence(artefact=1.0), Dependence(artefact=1.0, donor=0.5),
             Dependence(artefact=1.0, donor=1.0))


def main() -> None:
    table = pd.concat([coverage(Layout(), d, seed=k) for k, d in enumerate(SCENARIOS)], ignore_index=True)
    STORED_FILE.parent.mkdir(parents=True, exist_ok=True)
    table.to_csv(STORED_FILE, index=False)
    print(table.to_string(index=False))


if __name__ == "__main__":
    main()
