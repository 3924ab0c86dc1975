"""The one-class chapter's tables (model card 001's two scorers and their ``mean_z`` pair):
per-method AUCs, the card's three threshold options, how often the scorers agree, and the
pair's generalization against the supervised detectors. The ``results`` stage writes them
(:func:`anomaly_results`); the chapter only reads them."""

from __future__ import annotations

import pandas as pd

from analysis.evaluation import diversity, metrics
from analysis.evaluation.bootstrap import mean_of
from analysis.evaluation.study.endpoints import gap_table
from analysis.evaluation.study.fitting import INTERPRETABLE, NOT_INTERPRETABLE, Study, ci_columns
from analysis.evaluation.study.shift_tables import method_auc_table
from analysis.profiles import Analysis

TEST_SETS = (("source", "in-domain test"), ("target", "cross-domain test"))


def pair_name(study: Study) -> str | None:
    """The one-class pair's ensemble, or None when the runs lack one of the two scorers."""
    names = [n for n, k in study.kinds.items() if k == "mean_z"]
    return names[0] if names else None


def members_table(study: Study, name: str) -> pd.DataFrame:
    """An ensemble's in-domain AUC against each member's: the member's AUC and the paired
    group-bootstrap difference (ensemble minus member), one row per member."""
    rows = [{"member": m, **ci_columns("member in-domain AUC", study.boot.auc(m, "in")),
             **ci_columns("difference", study.boot.in_domain.interval({name: 1.0, m: -1.0}))}
            for m in study.members[name]]
    return pd.DataFrame(rows)


def threshold_tables(study: Study, names: list[str], settings: Analysis) -> pd.DataFrame:
    """Card 001's threshold comparison (:func:`metrics.threshold_table`) of each scorer."""
    tables = [metrics.threshold_table(study.scores[study.scores["model"] == name], max_fpr=settings.max_fpr,
                                      min_recall=settings.min_recall).assign(scorer=name) for name in names]
    return pd.concat(tables, ignore_index=True)


def threshold_order(thresholds: pd.DataFrame, scores: pd.DataFrame) -> pd.DataFrame:
    """Each scorer whose balanced threshold lies above its conservative one, with its largest
    validation J and its validation AUC (a scorer without skill on validation has J near zero
    at every threshold, so J peaks wherever the noise puts it)."""
    rows = []
    for scorer, part in thresholds.groupby("scorer", sort=False):
        chosen = part.groupby("threshold option")["threshold"].first()
        if chosen["balanced"] <= chosen["conservative"]:
            continue
        val = metrics.subset(scores[scores["model"] == scorer], metrics.SOURCE, metrics.VAL)
        labels, values = val["label"].to_numpy(), val["score"].to_numpy()
        rows.append({"scorer": scorer, "balanced": chosen["balanced"], "conservative": chosen["conservative"],
                     "validation J": metrics.youden_j(labels, values),
                     "validation AUC": metrics.roc_auc_score(labels, values)})
    return pd.DataFrame(rows, columns=["scorer", "balanced", "conservative", "validation J", "validation AUC"])


def agreement_table(study: Study, scorers: list[str], settings: Analysis) -> pd.DataFrame:
    """How often the scorers give the same verdict (each at its balanced threshold) on each
    test set, with its interval and its value under independence given the label."""
    rows = []
    for domain, test_set in TEST_SETS:
        verdicts = metrics.verdicts(study.scores[study.scores["model"].isin(scorers)], domain, "test")
        wide = study.wide(domain, "test").reset_index().set_index(["dataset", "method", "video_id"]).loc[verdicts.index]
        rows.append({"set": test_set, "videos": len(verdicts),
                     **diversity.agreement(verdicts, wide["label"].to_numpy(), wide["group"].to_numpy(),
                                           n_resamples=settings.n_resamples,
                                           n_permutations=settings.n_permutations),
                     "both say fake": verdicts.all(axis=1).mean(), "both say real": (~verdicts.any(axis=1)).mean()})
    return pd.DataFrame(rows)


def versus_supervised(study: Study, pair: str) -> pd.DataFrame:
    """The pair against the mean of the supervised detectors (a reference that involves no
    choice): their cross-domain AUCs and the paired difference in gap, read only when both
    learned in their own domain."""
    supervised = [m for m in study.models if m not in study.one_class]
    reference = mean_of(supervised)
    difference = study.boot.gap_difference(pair, reference)
    readable = study.learned(pair) and study.learned(reference)
    return pd.DataFrame([{"ensemble": pair, "supervised": len(supervised),
                          **ci_columns("supervised mean cross-domain AUC", study.boot.auc(reference, "cross")),
                          **ci_columns("pair cross-domain AUC", study.boot.auc(pair, "cross")),
                          **ci_columns("gap difference", difference),
                          "read": INTERPRETABLE if readable else NOT_INTERPRETABLE}])


def anomaly_results(study: Study, settings: Analysis, manifest: pd.DataFrame | None) -> dict[str, pd.DataFrame]:
    """Every table of the one-class chapter, by file name; none without the pair."""
    pair = pair_name(study)
    if pair is None:
        return {}
    scorers = list(study.one_class)
    subsets = manifest if manifest is not None and "subset" in manifest.columns else None
    thresholds = threshold_tables(study, [*scorers, pair], settings)
    return {
        "one_class_methods": method_auc_table(study, [*scorers, pair], settings.n_resamples, settings.seed,
                                              manifest=subsets),
        "one_class_members": members_table(study, pair),
        "one_class_thresholds": thresholds,
        "one_class_threshold_order": threshold_order(thresholds, study.scores),
        "one_class_agreement": agreement_table(study, scorers, settings),
        "one_class_gap": gap_table(study, [*study.models, pair]),
        "one_class_vs_supervised": versus_supervised(study, pair),
    }

