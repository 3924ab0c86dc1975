"""The study per declared kind of domain shift and per manipulation method: the
benchmark manifest's target subsets (unseen method, unseen capture, both), each scored
alone against the same in-domain test set."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from analysis.benchmark.shifts import subset_of
from analysis.evaluation.bootstrap import N_RESAMPLES, GapBootstrap, SetBootstrap
from analysis.evaluation.study.fitting import INTERPRETABLE, NOT_INTERPRETABLE, Study, interpretable, ci_columns

def shift_table(study: Study, manifest: pd.DataFrame, names: list[str], n_resamples: int = N_RESAMPLES,
                seed: int = 0) -> pd.DataFrame:
    """Per declared kind of domain shift (the benchmark manifest's target subsets: unseen
    method, unseen capture, both) and per model or ensemble: the cross-domain AUC and the
    gap on that subset alone, against the same in-domain test set, each with its own 95 %
    BCa group-bootstrap interval (descriptive: no multiplicity control across subsets), and
    whether the gap can be read (in-domain interval above 0.5)."""
    rows = []
    for kind, videos, boot in _subset_bootstraps(study, manifest, n_resamples, seed):
        for name in names:
            in_domain = boot.auc(name, "in")
            rows.append({"subset": kind, "name": name, "label": study.label(name), "videos": videos,
                         **ci_columns("cross-domain AUC", boot.auc(name, "cross")), **ci_columns("gap", boot.gap(name)),
                         "gap read": INTERPRETABLE if interpretable(in_domain) else NOT_INTERPRETABLE})
    return pd.DataFrame(rows)


def _subset_bootstraps(study: Study, manifest: pd.DataFrame, n_resamples: int, seed: int):
    """Per target subset of the manifest, in name order: the subset, its number of test
    videos, and a group bootstrap of the in-domain test set against that subset alone."""
    cross = study.wide("target", "test")
    kinds = subset_of(cross.index.to_frame(index=False), manifest).to_numpy()
    for kind in sorted(set(kinds)):
        yield kind, int((kinds == kind).sum()), GapBootstrap.fit(study.wide("source", "test"), cross[kinds == kind],
                                                                 n_resamples, seed)


def primary_per_shift(study: Study, manifest: Path | None, n_resamples: int = N_RESAMPLES,
                      seed: int = 0) -> pd.DataFrame:
    """The primary endpoint per declared kind of shift: on each target subset alone,
    against the same in-domain test set, the soft vote's gap, its mean member's, and the
    paired change, each with its own 95 % interval (descriptive: no correction across
    subsets). No rows without a manifest that names target subsets (the real datasets)."""
    manifest = pd.read_csv(manifest) if manifest is not None else pd.DataFrame()
    columns = ["subset", "videos", *[f"{c}{end}" for c in ("gap", "reference gap", "gap change")
                                     for end in ("", " low", " high")], "gap read"]
    if "subset" not in manifest.columns:
        return pd.DataFrame(columns=columns)
    name, reference = study.primary, study.reference(study.primary)
    readable = study.learned(name) and study.learned(reference)
    rows = []
    for kind, videos, boot in _subset_bootstraps(study, manifest, n_resamples, seed):
        rows.append({"subset": kind, "videos": videos, **ci_columns("gap", boot.gap(name)),
                     **ci_columns("reference gap", boot.gap(reference)),
                     **ci_columns("gap change", boot.gap_difference(name, reference)),
                     "gap read": INTERPRETABLE if readable else NOT_INTERPRETABLE})
    return pd.DataFrame(rows, columns=columns)


def method_auc_table(study: Study, names: list[str], n_resamples: int = N_RESAMPLES, seed: int = 0,
                     manifest: pd.DataFrame | None = None) -> pd.DataFrame:
    """Test-set AUC of real videos against each manipulation method, per detector, with
    BCa group-bootstrap intervals (long: domain, subset, method, name, AUC, low, high).

    With the benchmark ``manifest``, each target method is compared with the real videos
    of its own subset only: the subsets differ in capture, and a capture that raises every
    score would otherwise let one subset's fakes outrank another subset's reals and credit
    the detector for the capture, not the method. Without it (one target dataset) the
    target's reals are one pool and ``subset`` names the domain."""
    rows = []
    for domain in ("source", "target"):
        wide = study.wide(domain, "test")[names]
        if manifest is not None and domain == "target":
            subsets = subset_of(wide.index.to_frame(index=False), manifest).to_numpy()
        else:
            subsets = np.full(len(wide), domain, dtype=object)
        methods, labels = wide.index.get_level_values("method"), wide.index.get_level_values("label")
        for subset in sorted(set(subsets)):
            here = subsets == subset
            for method in sorted(set(methods[here & (labels == 1)])):
                part = SetBootstrap.fit(wide[here & ((labels == 0) | (methods == method))], n_resamples, seed)
                for name in names:
                    rows.append({"domain": domain, "subset": subset, "method": method, "name": name,
                                 **ci_columns("AUC", part.interval({name: 1.0}))})
    return pd.DataFrame(rows)
