"""The one-class chapter's readings that need the fitted study: an ensemble against each of
its members, and why a balanced threshold can lie above a conservative one."""

from __future__ import annotations

import pandas as pd

from analysis.evaluation import metrics
from analysis.evaluation.study.fitting import CHANCE, Study
from analysis.evaluation.study.text import interval_of


def ensemble_vs_members_text(study: Study, name: str) -> str:
    """An ensemble's in-domain AUC against each of its members' (paired group-bootstrap
    differences), and which members rank fakes below reals: such a member adds evidence
    with the wrong sign, so it pulls an average toward chance instead of adding a view."""
    diffs = [f"{interval_of(study.boot.in_domain.interval({name: 1.0, m: -1.0}))} against {m} alone "
             f"({study.boot.auc(m, 'in').estimate:.3f})" for m in study.members[name]]
    text = f"In-domain, {name} reaches {interval_of(study.boot.auc(name, 'in'))}; it differs by " + ", and by ".join(diffs) + ". "
    inverted = [m for m in study.members[name] if study.boot.auc(m, "in").high < CHANCE]
    if inverted:
        text += (f"Of its members, {', '.join(inverted)} ranks fakes below reals (in-domain interval below 0.5), "
                 "so averaging it in adds evidence with the wrong sign and pulls the ensemble toward chance. ")
    return text


def threshold_order_text(thresholds: pd.DataFrame, scores: pd.DataFrame) -> str:
    """Why a scorer's balanced threshold can lie above its conservative one, for each
    scorer where it does (``thresholds``: :func:`analysis.metrics.threshold_table` rows with
    a ``scorer`` column; ``scores``: video-level scores of those scorers); empty if none."""
    found = []
    for scorer, rows in thresholds.groupby("scorer", sort=False):
        chosen = rows.groupby("threshold option")["threshold"].first()
        if chosen["balanced"] <= chosen["conservative"]:
            continue
        val = metrics.subset(scores[scores["model"] == scorer], metrics.SOURCE, metrics.VAL)
        labels, values = val["label"].to_numpy(), val["score"].to_numpy()
        found.append(f"The balanced threshold of {scorer} ({chosen['balanced']:.3f}) lies above its conservative one "
                     f"({chosen['conservative']:.3f}); its largest validation J is {metrics.youden_j(labels, values):.3f}, "
                     f"at a validation AUC of {metrics.roc_auc_score(labels, values):.3f}")
    if not found:
        return ""
    return ("; ".join(found) + ". A scorer without skill on validation has TPR - FPR near zero at every threshold, "
            "so J peaks wherever the noise puts it, here near the top of the scores where almost nothing is "
            "flagged: that point balances nothing.")
