"""The gap like for like: the cross-domain AUC with the target's fakes reweighted to the
in-domain test set's mix of manipulation methods, and the gap per method.

The pooled gap compares two test sets whose fakes come from different methods (on the
benchmark, the target adds an unseen method and changes the share of each), so part of a
pooled gap can be a change of mix rather than of domain. A weighted AUC whose fake of
method m counts ``p_m / n_m`` (``p_m`` the source's share of that method, ``n_m`` the
set's number of its fakes) is exactly ``sum_m p_m AUC_m``: the AUC the target would have
with the source's mix. Only methods both test sets hold can be compared; a source method
the target lacks leaves the mix (shares renormalised over the shared methods, on both
sides), and the table says which methods remain. With no shared method (FF++ against
Celeb-DF) there is no like-for-like reading and the table is empty."""

from __future__ import annotations

import numpy as np
import pandas as pd

from analysis.evaluation.bootstrap import N_RESAMPLES, GapBootstrap
from analysis.evaluation.study.fitting import INTERPRETABLE, NOT_INTERPRETABLE, Study, ci_columns, interpretable

POOLED, SOURCE_MIX = "pooled", "source's method mix"
COLUMNS = ["reading", "methods", "target fakes", "name", "label",
           *[f"{c}{end}" for c in ("in-domain AUC", "cross-domain AUC", "gap") for end in ("", " low", " high")],
           "gap read"]
PRIMARY_COLUMNS = ["reading", "methods", *[f"{c}{end}" for c in ("reference gap", "gap change")
                                           for end in ("", " low", " high")]]


def fake_methods(wide: pd.DataFrame) -> pd.Series:
    """Number of fake videos per method in a wide test set."""
    index = wide.index.to_frame(index=False)
    return index.loc[index["label"] == 1, "method"].value_counts()


def mix_weights(wide: pd.DataFrame, shares: pd.Series) -> np.ndarray:
    """Row weights giving the set's fakes the method ``shares`` (methods not in ``shares``
    weigh 0; every real weighs 1)."""
    index = wide.index.to_frame(index=False)
    counts = fake_methods(wide)
    fake = index["label"].to_numpy() == 1
    per_fake = index["method"].map(lambda m: shares.get(m, 0.0) / counts.get(m, 1)).to_numpy(float)
    return np.where(fake, per_fake, 1.0)


def readings(study: Study) -> list[tuple[str, list[str], np.ndarray, np.ndarray]]:
    """Each like-for-like reading: its name, its methods, and the row weights of the
    in-domain and cross-domain test sets (the pooled reading first, with weight 1)."""
    source, target = study.wide("source", "test"), study.wide("target", "test")
    in_fakes, cross_fakes = fake_methods(source), fake_methods(target)
    shared = sorted(set(in_fakes.index) & set(cross_fakes.index))
    out = [(POOLED, sorted(cross_fakes.index), np.ones(len(source)), np.ones(len(target)))]
    if not shared:
        return out
    shares = in_fakes[shared] / in_fakes[shared].sum()
    out.append((SOURCE_MIX, shared, mix_weights(source, shares), mix_weights(target, shares)))
    for method in shared:
        alone = pd.Series({method: 1.0})
        out.append((f"method: {method}", [method], mix_weights(source, alone), mix_weights(target, alone)))
    return out


def like_for_like_tables(study: Study, names: list[str], n_resamples: int = N_RESAMPLES,
                         seed: int = 0) -> dict[str, pd.DataFrame]:
    """Per reading (pooled, the source's method mix, each shared method): every one of
    ``names``' in-domain and cross-domain AUC and gap (``like_for_like``), and the primary
    endpoint's members' mean gap and gap change (``like_for_like_primary``), each with its
    95 % BCa group-bootstrap interval (descriptive: no multiplicity control across readings)."""
    name, reference = study.primary, study.reference(study.primary)
    columns = list(dict.fromkeys([*names, name, *reference]))
    source, target = study.wide("source", "test")[columns], study.wide("target", "test")[columns]
    rows, primary_rows = [], []
    for reading, methods, in_weights, cross_weights in readings(study):
        boot = GapBootstrap.fit(source, target, n_resamples, seed, in_weights=in_weights, cross_weights=cross_weights)
        fakes = int(((target.index.get_level_values("label") == 1) & (cross_weights > 0)).sum())
        for each in names:
            in_domain = boot.auc(each, "in")
            rows.append({"reading": reading, "methods": ", ".join(methods), "target fakes": fakes, "name": each,
                         "label": study.label(each), **ci_columns("in-domain AUC", in_domain),
                         **ci_columns("cross-domain AUC", boot.auc(each, "cross")), **ci_columns("gap", boot.gap(each)),
                         "gap read": INTERPRETABLE if interpretable(in_domain) else NOT_INTERPRETABLE})
        primary_rows.append({"reading": reading, "methods": ", ".join(methods),
                             **ci_columns("reference gap", boot.gap(reference)),
                             **ci_columns("gap change", boot.gap_difference(name, reference))})
    return {"like_for_like": pd.DataFrame(rows, columns=COLUMNS),
            "like_for_like_primary": pd.DataFrame(primary_rows, columns=PRIMARY_COLUMNS)}
