"""The study's second question: do card 000's detectors disagree usefully? Pairwise
diversity and agreement, the members' calibration, per-method AUCs' companions, and
whether subsets whose members disagree more gain more over their mean member."""

from __future__ import annotations

from itertools import combinations

import numpy as np
import pandas as pd
from scipy.stats import rankdata, spearmanr

from analysis.evaluation import diversity, ensembles, metrics
from analysis.evaluation.bootstrap import LEVEL
from analysis.evaluation.calibration import expected_calibration_error, reliability_table
from analysis.evaluation.study.endpoints import family_table, gap_table
from analysis.evaluation.study.fitting import CARD_000_FIVE, Study
from analysis.profiles import Analysis

def diversity_tables(study: Study, models: list[str], domain: str = "source", n_permutations: int = 1000,
                     seed: int = 0) -> tuple[pd.DataFrame, dict[str, float]]:
    """Pairwise diversity of ``models`` on one test set (verdicts at each model's
    validation threshold) with group-bootstrap intervals and null baselines, and the
    share of videos on which all of them agree (with its own baseline)."""
    video = metrics.at_level(study.scores, metrics.VIDEO)
    verdicts = metrics.verdicts(video[video["model"].isin(models)], domain, "test")[models]
    wide = study.wide(domain, "test").reset_index().set_index(["dataset", "method", "video_id"]).loc[verdicts.index]
    labels, groups = wide["label"].to_numpy(), wide["group"].to_numpy()
    n = len(study.boot.in_domain.samples)
    pairs = diversity.pairwise(verdicts, wide[models], labels, groups, n_resamples=n, n_permutations=n_permutations,
                               seed=seed)
    agreement = diversity.agreement(verdicts, labels, groups, n_resamples=n, n_permutations=n_permutations, seed=seed)
    return pairs.assign(set=f"{'in' if domain == 'source' else 'cross'}-domain test"), agreement


def flag_rates(study: Study, models: list[str]) -> pd.DataFrame:
    """How many of each test set's videos each detector calls fake at its validation
    threshold. A detector that calls nearly every video one way has verdicts near a
    constant: its kappa with any other is then near 0, and its correctness is almost the
    label, whatever it shares with the other detector."""
    video = metrics.at_level(study.scores, metrics.VIDEO)
    rows = []
    for name, domain in metrics.TEST_SETS:
        verdicts = metrics.verdicts(video[video["model"].isin(models)], domain, "test")[models]
        rows += [{"model": m, "set": name, "flagged": int(verdicts[m].sum()), "videos": len(verdicts),
                  "flag rate": float(verdicts[m].mean())} for m in models]
    return pd.DataFrame(rows)


def calibration_table(study: Study) -> pd.DataFrame:
    """ECE of each supervised member of the primary ensemble before (raw scores) and
    after its Platt map, on both test sets (held out from the fit)."""
    fitted = study.fitted[study.primary]
    rows = []
    for domain, name in (("source", "in-domain test"), ("target", "cross-domain test")):
        wide = study.wide(domain, "test")
        labels = wide.index.get_level_values("label").to_numpy()
        after = fitted.calibrated(wide)
        for member in fitted.members_:
            rows.append({"model": member, "set": name,
                         "ECE before": expected_calibration_error(labels, wide[member].to_numpy()),
                         "ECE after": expected_calibration_error(labels, after[member].to_numpy()),
                         "score SD before": float(wide[member].std()), "score SD after": float(after[member].std())})
    return pd.DataFrame(rows)


def reliability_points(study: Study, domain: str = "source") -> pd.DataFrame:
    """Reliability-diagram points of every member of the primary ensemble, before and
    after calibration, on one test set."""
    fitted = study.fitted[study.primary]
    wide = study.wide(domain, "test")
    labels = wide.index.get_level_values("label").to_numpy()
    after = fitted.calibrated(wide)
    tables = []
    for member in fitted.members_:
        for stage, values in (("before", wide[member]), ("after", after[member])):
            tables.append(reliability_table(labels, values.to_numpy()).assign(model=member, stage=stage))
    return pd.concat(tables, ignore_index=True)


def gain_vs_diversity(study: Study, pairs: pd.DataFrame, kind: str = "soft_vote") -> pd.DataFrame:
    """For every multi-member subset of card 000's five: the ensemble's in-domain and
    cross-domain AUC gain over its mean member and its members' mean disagreement
    (point estimates; their simultaneous intervals are in :func:`family_table`)."""
    rows = []
    for name, members in study.members.items():
        if study.kinds[name] != kind or len(members) < 2 or not set(members) <= set(CARD_000_FIVE):
            continue
        row = {"name": name, "n members": len(members),
               "mean disagreement": diversity.mean_pairwise(pairs, members),
               "mean double fault": diversity.mean_pairwise(pairs, members, "double fault")}
        for label, part in (("in-domain", study.boot.in_domain), ("cross-domain", study.boot.cross_domain)):
            row[f"{label} AUC"] = part.estimates[name]
            row[f"{label} gain over mean member"] = part.combine(_gain_weights(study, name))[0]
        rows.append(row)
    return pd.DataFrame(rows)


def _gain_weights(study: Study, name: str) -> dict[str, float]:
    """The AUC contrast of an ensemble against its reference (the mean of its members)."""
    return {name: 1.0, **{m: -w for m, w in study.reference(name).items()}}


def gain_diversity_correlation(study: Study, gains: pd.DataFrame, level: float = LEVEL) -> pd.DataFrame:
    """Spearman correlation, over the ensembles of ``gains`` (:func:`gain_vs_diversity`),
    between the members' mean disagreement (in-domain test) and the ensemble's AUC gain
    over its mean member, in each domain, with a group-bootstrap percentile interval. Each
    resample recomputes both the disagreements and the gains from the same resampled
    identity groups, so the interval carries the subsets' overlap (they share members and
    videos)."""
    columns = [f"{label} gain over mean member" for label in ("in-domain", "cross-domain")]
    if len(gains) < 3:
        return pd.DataFrame({"gain": columns, "rho": np.nan, "rho low": np.nan, "rho high": np.nan,
                             "subsets": len(gains)})
    names, five = list(gains["name"]), study.five
    wide = study.wide("source", "test")
    keys = pd.MultiIndex.from_frame(wide.reset_index()[["dataset", "method", "video_id"]])
    video = metrics.at_level(study.scores, metrics.VIDEO)
    verdicts = metrics.verdicts(video[video["model"].isin(five)], "source", "test").loc[keys]
    labels, weights = wide.index.get_level_values("label").to_numpy(), study.boot.in_domain.weights
    pair_resamples = {}
    for i, a in enumerate(five):
        for b in five[i + 1:]:
            pair_resamples[frozenset((a, b))] = diversity.pair_measures(
                verdicts[a].to_numpy(), verdicts[b].to_numpy(), labels, wide[a].to_numpy(), wide[b].to_numpy(),
                weights)["disagreement"]
    disagreement = np.column_stack([
        np.mean([pair_resamples[frozenset(p)] for p in combinations(study.members[n], 2)], axis=0)
        for n in names])
    rows = []
    for column, part in zip(columns, (study.boot.in_domain, study.boot.cross_domain)):
        gain = np.column_stack([part.combine(_gain_weights(study, n))[1] for n in names])
        rho = row_spearman(disagreement, gain)
        low, high = np.nanquantile(rho, [(1 - level) / 2, (1 + level) / 2])
        estimate = rank_correlation(gains["mean disagreement"], gains[column])
        rows.append({"gain": column, "rho": np.nan if estimate is None else estimate,
                     "rho low": float(low), "rho high": float(high), "subsets": len(names)})
    return pd.DataFrame(rows)


def row_spearman(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Spearman correlation of each row of ``x`` with the same row of ``y`` (nan where a
    row is constant)."""
    rx, ry = rankdata(x, axis=1), rankdata(y, axis=1)
    rx, ry = rx - rx.mean(axis=1, keepdims=True), ry - ry.mean(axis=1, keepdims=True)
    with np.errstate(invalid="ignore", divide="ignore"):
        return (rx * ry).sum(axis=1) / np.sqrt((rx**2).sum(axis=1) * (ry**2).sum(axis=1))


def rank_correlation(x: pd.Series, y: pd.Series) -> float | None:
    """Spearman correlation of two columns, or None where it is undefined (fewer than
    three points, or a constant column)."""
    if len(x) < 3 or x.nunique() < 2 or y.nunique() < 2:
        return None
    return float(spearmanr(x, y).statistic)


def combiner_table(study: Study) -> pd.DataFrame:
    """Card 000's five under each combiner (:func:`gap_table` rows) with each ensemble's
    validation AUC cross-validated over identity groups beside the in-sample one: the gap
    between the two is what fitting on the validation videos costs."""
    names = [ensembles.ensemble_name(kind, study.five) for kind in ensembles.KINDS]
    table = gap_table(study, names)
    validation = ensembles.validation_rows(ensembles.to_wide(study.scores))
    table["cross-validated validation AUC"] = [study.fitted[n].cross_validated_auc(validation) for n in names]
    return table


def diversity_results(study: Study, settings: Analysis) -> dict[str, pd.DataFrame]:
    """Every table of the diversity chapter, by file name: pairwise diversity of all
    detectors on both test sets, each model's declared view, how often each detector flags a
    video, the members' calibration and reliability points, gain against diversity over the
    subsets of card 000's five (with its correlation and its own family of simultaneous
    intervals), and the combiners."""
    pairs = pd.concat([diversity_tables(study, study.models, domain, settings.n_permutations, settings.seed)[0]
                       for domain in ("source", "target")], ignore_index=True)
    gains = gain_vs_diversity(study, pairs[pairs["set"] == "in-domain test"], settings.combiner)
    return {
        "diversity": pairs,
        "model_views": pd.DataFrame({"model": study.models, "view": [study.records[m]["view"] for m in study.models]}),
        "flag_rates": flag_rates(study, study.models),
        "calibration": calibration_table(study),
        "reliability": reliability_points(study, "source"),
        "gain_vs_diversity": gains,
        "gain_diversity_correlation": gain_diversity_correlation(study, gains),
        "gain_family": family_table(study, list(gains["name"])),
        "combiners": combiner_table(study),
    }
