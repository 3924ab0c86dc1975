"""The study's answer to its first question: gaps, the primary endpoint and the paired
changes it rests on, and the secondary families with simultaneous intervals.

**Primary endpoint** (DESIGN.md, rule 12, declared before any result): the paired change
in the generalization gap of card 000's soft vote of its five detectors against the **mean
of its members** (the average member's gap), with the paired change in cross-domain AUC
beside it. The reference is fixed in advance and involves no selection: "the best member"
chosen on validation is a coin flip when members' validation AUCs differ by less than
their noise, and "the best member" chosen on test uses the test set twice. The best member
is a secondary reference, used only when its validation AUC beats every other member's
with a paired interval that excludes zero (:func:`clear_best_member`).

**Secondary families** (subsets of the five under every combiner; the combiners of the
five) carry max-T simultaneous intervals, and every count the prose gives is a count of
simultaneous intervals that exclude zero.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from analysis.evaluation import ensembles, fit_gate, power
from analysis.evaluation.bootstrap import GapBootstrap
from analysis.evaluation.study.fitting import (INTERPRETABLE, NO_CLEAR_BEST, NOT_INTERPRETABLE, PRIMARY_KIND, Study,
                                               interpretable, ci_columns)
from analysis.models.registry import ONE_CLASS

PRIMARY_ANALYSIS, ALL_FIVE_ANALYSIS = "primary (members that pass the fit gate)", "sensitivity (all five)"


GATE_MARGINS = (0.0, 0.01, 0.02, 0.03, 0.04, 0.05, 0.06, 0.08, 0.10)  # training-loss margins below ln 2 the
# sensitivity table tries: up to five times the gate's 0.02, far enough for a member to drop out


def clear_best_member(study: Study, name: str) -> str | None:
    """The member with the highest validation AUC, if its paired validation interval
    against every other member excludes zero; otherwise None (a coin flip)."""
    members = study.members[name]
    best = max(members, key=study.val_auc)
    for other in members:
        if other == best:
            continue
        if study.validation.interval({best: 1.0, other: -1.0}).low <= 0:
            return None
    return best


def best_member_mde(study: Study, name: str) -> float | None:
    """Minimum detectable change in gap of ensemble ``name`` against its clear best member
    (80 % power, from that contrast's bootstrap SE, as the primary endpoint's MDE), or
    None without a clear best member."""
    best = clear_best_member(study, name)
    if best is None:
        return None
    _, samples, _ = study.boot.contrast(*GapBootstrap.gap_change_weights(name, best))
    return power.mde(float(np.std(samples, ddof=1)))


def five_against_best_member(study: Study) -> pd.DataFrame:
    """The ensembles of all of card 000's five (one per combiner) against their clear best
    member, the one validation names: the paired change in cross-domain AUC and in gap,
    each contrast a family over the combiners with max-T simultaneous 95 % intervals (so
    a count of combiners above or below the member is corrected). No rows without a clear
    best member."""
    names = [n for n in (ensembles.ensemble_name(kind, study.five) for kind in ensembles.KINDS) if n in study.members]
    best = clear_best_member(study, study.primary)
    if best is None or not names:
        return pd.DataFrame(columns=["name", "kind", "clear best member", "family", "estimate", "low", "high"])
    tables = []
    for family, weights in (("cross-domain change vs clear best member", GapBootstrap.cross_change_weights),
                            ("gap change vs clear best member", GapBootstrap.gap_change_weights)):
        table = study.boot.simultaneous({name: weights(name, best) for name in names})
        tables.append(table.assign(family=family))
    table = pd.concat(tables, ignore_index=True)
    table.insert(1, "kind", table["name"].str.split("(").str[0])
    table.insert(2, "clear best member", best)
    return table


def gap_table(study: Study, names: list[str] | None = None) -> pd.DataFrame:
    """Per model or ensemble: members, validation, in-domain and cross-domain AUC and
    gap with 95 % BCa group-bootstrap intervals, whether the gap can be read (the
    in-domain interval lies above 0.5) and, for ensembles, the paired change in gap and in
    cross-domain AUC against the mean of the members (individual intervals; families
    get simultaneous ones in :func:`family_table`), and against the best member where
    validation names one (:func:`clear_best_member`)."""
    rows = []
    for name in names or list(study.members):
        members = study.members[name]
        in_domain = study.boot.auc(name, "in")
        row = {"name": name, "label": study.label(name), "kind": study.kinds[name], "members": "+".join(members),
               "n members": len(members), **ci_columns("validation AUC", study.validation.interval({name: 1.0})),
               **ci_columns("in-domain AUC", in_domain),
               **ci_columns("cross-domain AUC", study.boot.auc(name, "cross")), **ci_columns("gap", study.boot.gap(name)),
               **ci_columns("gap (logit)", study.boot.logit_gap_change(name)),
               "gap read": INTERPRETABLE if interpretable(in_domain) else NOT_INTERPRETABLE}
        if len(members) > 1:
            reference = study.reference(name)
            both = interpretable(in_domain) and interpretable(study.boot.auc(reference, "in"))
            row.update({**ci_columns("gap change vs mean member", study.boot.gap_difference(name, reference)),
                        **ci_columns("cross-domain change vs mean member",
                                     study.boot.cross_difference(name, reference)),
                        "change read": INTERPRETABLE if both else NOT_INTERPRETABLE})
            best = clear_best_member(study, name)
            row["clear best member"] = best or NO_CLEAR_BEST
            if best:
                row.update({**ci_columns("gap change vs clear best member", study.boot.gap_difference(name, best)),
                            **ci_columns("cross-domain change vs clear best member",
                                       study.boot.cross_difference(name, best))})
        rows.append(row)
    return pd.DataFrame(rows)


def paired_changes(study: Study, primary: pd.DataFrame) -> pd.DataFrame:
    """The paired changes the answer rests on, one row each with its individual 95 % BCa
    interval: the primary endpoint's change in gap and in cross-domain AUC against the mean
    member, the all-five sensitivity version, and the contrast with the clear best member
    (when validation names one)."""
    rows = []
    for _, p in primary.iterrows():
        which = "primary" if p["analysis"] == PRIMARY_ANALYSIS else "all five"
        rows.append({"contrast": f"gap change vs mean member ({which})", "change": p["gap change"],
                     "change low": p["gap change low"], "change high": p["gap change high"]})
        if which == "primary":
            rows.append({"contrast": "cross-domain AUC change vs mean member (primary)",
                         "change": p["cross-domain AUC change"], "change low": p["cross-domain AUC change low"],
                         "change high": p["cross-domain AUC change high"]})
    clear = clear_best_member(study, study.primary)
    if clear is not None:
        for what, interval in (("gap change", study.boot.gap_difference(study.primary, clear)),
                               ("cross-domain AUC change", study.boot.cross_difference(study.primary, clear))):
            rows.append({"contrast": f"{what} vs best member {clear}", "change": interval.estimate,
                         "change low": interval.low, "change high": interval.high})
    return pd.DataFrame(rows, columns=["contrast", "change", "change low", "change high"])


def primary_endpoint(study: Study) -> pd.DataFrame:
    """The pre-declared primary endpoint (first row): the soft vote of those of card 000's
    five that pass the fit gate against the mean of the same members; then, as a declared
    sensitivity analysis, the same with all five (one row only when every member passes)."""
    rows = [endpoint_row(study, study.primary, PRIMARY_ANALYSIS)]
    if study.primary_all_five != study.primary:
        rows.append(endpoint_row(study, study.primary_all_five, ALL_FIVE_ANALYSIS))
    return pd.DataFrame(rows)


def gate_sensitivity(study: Study, margins=GATE_MARGINS) -> pd.DataFrame:
    """The primary endpoint under other training-loss margins of the fit gate (the
    validation half of the gate unchanged): which of the five enter, and the change in gap.
    A reading that flips between neighbouring margins rests on where the line was drawn."""
    gate = study.gate.set_index("model")
    rows = []
    for margin in margins:
        members = [m for m in study.five if bool(gate.loc[m, "validation AUC low"] > fit_gate.CHANCE) and (
            study.records[m]["schedule"] == ONE_CLASS
            or fit_gate.lowest_loss(study.records[m]) < fit_gate.CHANCE_LOSS - margin)]
        row = {"loss margin": margin, "members": "+".join(members), "n members": len(members)}
        if len(members) > 1:
            name = ensembles.ensemble_name(PRIMARY_KIND, members)
            endpoint = endpoint_row(study, name, PRIMARY_ANALYSIS)
            row.update({k: endpoint[k] for k in ("gap change", "gap change low", "gap change high", "verdict")})
        else:
            row.update({"gap change": np.nan, "gap change low": np.nan, "gap change high": np.nan,
                        "verdict": "fewer than two members"})
        rows.append(row)
    return pd.DataFrame(rows)


def endpoint_row(study: Study, name: str, analysis: str = PRIMARY_ANALYSIS) -> dict:
    """The endpoint's numbers for the ensemble ``name`` against its mean member: the
    primary's, the all-five soft vote's, or another subset's (a stored run's primary whose
    members this build's fit gate did not choose)."""
    reference = study.reference(name)
    ensemble_in, reference_in = study.boot.auc(name, "in"), study.boot.auc(reference, "in")
    change = study.boot.gap_difference(name, reference)
    cross = study.boot.cross_difference(name, reference)
    _, samples, _ = study.boot.contrast(*GapBootstrap.gap_change_weights(name, reference))
    gated = analysis == ALL_FIVE_ANALYSIS or len(study.fitted_five) > 1
    readable = gated and interpretable(ensemble_in) and interpretable(reference_in) and not set(
        study.incomplete) & set(study.members[name])
    if not readable:
        verdict = NOT_INTERPRETABLE
    elif change.high < 0:
        verdict = "shrinks the gap"
    elif change.low > 0:
        verdict = "widens the gap"
    else:
        verdict = "no measurable change in the gap"
    return {
        "analysis": analysis, "ensemble": name, "members": "+".join(study.members[name]),
        "reference": "mean of the members",
        **ci_columns("ensemble in-domain AUC", ensemble_in), **ci_columns("reference in-domain AUC", reference_in),
        **ci_columns("ensemble cross-domain AUC", study.boot.auc(name, "cross")),
        **ci_columns("reference cross-domain AUC", study.boot.auc(reference, "cross")),
        **ci_columns("ensemble gap", study.boot.gap(name)), **ci_columns("reference gap", study.boot.gap(reference)),
        **ci_columns("gap change", change), **ci_columns("cross-domain AUC change", cross),
        **ci_columns("gap change (logit)", study.boot.logit_gap_change(name, reference)),
        "bootstrap SE of gap change": float(np.std(samples, ddof=1)),
        "read": INTERPRETABLE if readable else NOT_INTERPRETABLE, "verdict": verdict,
    }


def family_table(study: Study, names: list[str]) -> pd.DataFrame:
    """Two families over the ensembles ``names``, each against its mean member: the
    change in gap and the change in cross-domain AUC, with max-T simultaneous 95 %
    intervals and adjusted p-values; ``read`` applies the gate."""
    tables = []
    for family, weights in (("gap change vs mean member", GapBootstrap.gap_change_weights),
                            ("cross-domain change vs mean member", GapBootstrap.cross_change_weights)):
        contrasts = {name: weights(name, study.reference(name)) for name in names}
        table = study.boot.simultaneous(contrasts).assign(family=family)
        table["read"] = [INTERPRETABLE if study.learned(n) and study.learned(study.reference(n)) else NOT_INTERPRETABLE
                         for n in table["name"]]
        tables.append(table)
    return pd.concat(tables, ignore_index=True)


def family_counts(table: pd.DataFrame) -> pd.DataFrame:
    """Per family: comparisons, how many can be read, and how many of those have a
    simultaneous interval entirely below or above zero (the adjusted counts)."""
    rows = []
    for family, part in table.groupby("family", sort=False):
        readable = part[part["read"] == INTERPRETABLE]
        rows.append({"family": family, "comparisons": len(part), "interpretable": len(readable),
                     "below zero": int((readable["high"] < 0).sum()), "above zero": int((readable["low"] > 0).sum())})
    return pd.DataFrame(rows)


def subset_names(study: Study) -> list[str]:
    """Every ensemble of two or more of card 000's five, under every combiner (the
    secondary family of subsets)."""
    five = set(study.five)
    return [n for n, k in study.kinds.items() if k in ensembles.KINDS and len(study.members[n]) > 1
            and set(study.members[n]) <= five]


def headline_names(study: Study) -> list[str]:
    """The single models, the five under every combiner, the full zoo under every
    combiner, and card 001's one-class pair."""
    combiners = [ensembles.ensemble_name(k, study.five) for k in ensembles.KINDS]
    zoo = [n for n, k in study.kinds.items() if k in ensembles.KINDS and len(study.members[n]) == len(study.models)]
    pair = [n for n, k in study.kinds.items() if k == "mean_z"]
    return list(dict.fromkeys([*study.models, study.primary, *combiners, *zoo, *pair]))


def incomplete_runs(study: Study) -> pd.DataFrame:
    """Every run the hang guard stopped before its fixed epochs (DESIGN rule 15), by model
    and training seed; empty when every run trained its epochs."""
    rows = [{"model": m, "training seed": seed} for m in study.models for seed in study.records[m]["incomplete_seeds"]]
    return pd.DataFrame(rows, columns=["model", "training seed"])
