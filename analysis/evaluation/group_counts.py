"""How many independent units each test set holds, per label, and a warning when few.

The width and the coverage of a group-bootstrap interval depend on the number of groups
it resamples, not of videos (DESIGN rule 11): the bootstrap redraws the groups of each
label stratum, so a test set whose reals or fakes come from a handful of groups has
intervals that cover less often than they claim. Every test set the book shows reports
its groups per label (:func:`group_counts`); below :data:`MIN_GROUPS_PER_LABEL` in either
label its page and the verdict say so (:func:`few_groups_warning`, :func:`few_groups_sentence`).
"""

from __future__ import annotations

import pandas as pd

from analysis.evaluation.scores_table import DOMAINS, VIDEO_LEVEL

# below this many groups in a label, coverage falls visibly short of 95 % (0.91 with 6 to
# 15 groups in the benchmark's simulations, study.MIN_GROUPS; 0.93 with 24 celebrities in
# group_coverage's small layout)
MIN_GROUPS_PER_LABEL = 20
TEST = "test"
SUBSET = "subset"  # the benchmark manifest's column naming a video's cross-domain subset
COUNT_COLUMNS = ("test set", "dataset", "real videos", "fake videos", "groups with reals", "groups with fakes",
                 "groups", "few groups")


def group_counts(videos: pd.DataFrame) -> pd.DataFrame:
    """One row per test set (in-domain, cross-domain, and each cross-domain subset of a
    benchmark manifest) of a scores table, or of a manifest with its ``group`` column
    (:func:`analysis.data.splits.identity_groups`): its videos
    and groups per label (a group holding both labels counts in both), and whether either
    label has fewer than :data:`MIN_GROUPS_PER_LABEL` groups."""
    test = videos[videos["split"] == TEST]
    if "frame_index" in test.columns:  # a scores table: its video-level rows
        test = test[test["frame_index"] == VIDEO_LEVEL]
    videos = test.drop_duplicates(["dataset", "domain", "method", "video_id"])
    sets = [("in-domain" if domain == DOMAINS[0] else "cross-domain", videos[videos["domain"] == domain])
            for domain in DOMAINS]
    if SUBSET in videos.columns:  # the benchmark's cross-domain subsets, each read on its own (gap chapter)
        target = videos[videos["domain"] == DOMAINS[1]]
        sets += [(f"cross-domain: {name}", part) for name, part in target.groupby(SUBSET, sort=True)]
    rows = []
    for name, part in sets:
        if part.empty:
            continue
        real, fake = part[part["label"] == 0], part[part["label"] == 1]
        with_reals, with_fakes = real["group"].nunique(), fake["group"].nunique()
        rows.append({"test set": name, "dataset": ", ".join(sorted(part["dataset"].unique())),
                     "real videos": len(real), "fake videos": len(fake), "groups with reals": with_reals,
                     "groups with fakes": with_fakes, "groups": part["group"].nunique(),
                     "few groups": min(with_reals, with_fakes) < MIN_GROUPS_PER_LABEL})
    return pd.DataFrame(rows, columns=list(COUNT_COLUMNS))


def _few(counts: pd.DataFrame) -> list[str]:
    return [f"the {r['test set']} test set ({r['groups with reals']} groups with reals, {r['groups with fakes']} "
            "with fakes)" for _, r in counts[counts["few groups"]].iterrows()]


def few_groups_sentence(counts: pd.DataFrame) -> str:
    """A sentence for the verdict naming each test set with few groups in a label, or ""."""
    few = _few(counts)
    if not few:
        return ""
    return (f" Fewer than {MIN_GROUPS_PER_LABEL} independent groups in a label: {'; '.join(few)}. Its intervals "
            "resample those few groups and cover less often than 95 %; read them as lower bounds on the uncertainty.")


def few_groups_warning(counts: pd.DataFrame) -> str:
    """The page's warning (HTML) for test sets with few groups in a label, or ""."""
    sentence = few_groups_sentence(counts).strip()
    if not sentence:
        return ""
    return ('<div class="admonition warning"><p class="admonition-title">Few independent groups</p>'
            f"<p>{sentence}</p></div>")
