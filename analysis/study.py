"""The study's two questions, answered from the scores tables of a profile's runs.

:func:`load_study` reads every run under ``runs/<profile>/models``, adds the ensembles
(video level) and fits the paired bootstrap once; the analysis chapters then read tables
off it in seconds, without touching a model. Every table a chapter shows is also written
as CSV under ``runs/<profile>/results/`` by :func:`save_table`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.metrics import roc_auc_score

from analysis import diversity, ensembles, metrics
from analysis.bootstrap import N_RESAMPLES, GapBootstrap
from analysis.paths import run_dir
from analysis.reports import load_run

BASELINE = "resnet18"  # seed 000's single-stage baseline


def results_dir(profile: str) -> Path:
    return run_dir(profile) / "results"


def save_table(table: pd.DataFrame, folder: Path, name: str) -> pd.DataFrame:
    """Write ``<folder>/<name>.csv`` (chapters use :func:`results_dir`) and return the table."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    table.to_csv(folder / f"{name}.csv", index=False)
    return table


def load_scores(models_dir: Path) -> tuple[pd.DataFrame, dict[str, dict]]:
    """Every run's scores in one long table, and each run's record."""
    runs = sorted(p.parent for p in Path(models_dir).glob("*/scores.csv"))
    if not runs:
        raise FileNotFoundError(f"no scores tables under {models_dir}: run the training chapter first")
    loaded = {run.name: load_run(run) for run in runs}
    return pd.concat([scores for _, scores in loaded.values()], ignore_index=True), \
        {name: record for name, (record, _) in loaded.items()}


@dataclass
class Study:
    """Scores of the models and ensembles of one profile, with their bootstrap."""

    profile: str
    scores: pd.DataFrame  # long: models at both levels, ensembles at video level
    records: dict[str, dict]
    models: list[str]  # single models, in registry order of the runs found
    one_class: list[str]
    members: dict[str, tuple[str, ...]]  # every model and ensemble -> its members
    kinds: dict[str, str]  # -> "single", "soft_vote", ...
    boot: GapBootstrap
    _wide: dict = field(default_factory=dict, repr=False)

    def wide(self, domain: str, split: str) -> pd.DataFrame:
        """Video-level scores of one evaluation set: a row per video, a column per name."""
        if (domain, split) not in self._wide:
            self._wide[domain, split] = ensembles.to_wide(metrics.subset(self.scores, domain, split))
        return self._wide[domain, split]

    @cached_property
    def _val_aucs(self) -> pd.Series:
        val = self.wide("source", "val")
        labels = val.index.get_level_values("label").to_numpy()
        return pd.Series({name: roc_auc_score(labels[val[name].notna()], val[name].dropna()) for name in val.columns})

    def val_auc(self, name: str) -> float:
        return float(self._val_aucs[name])

    def label(self, name: str) -> str:
        """A short display name: seed 000's five and the full zoo are named, not listed
        (the ``members`` column of every table still lists them)."""
        members, kind = set(self.members[name]), self.kinds[name]
        if kind == "single":
            return name
        if members == set(ensembles.SEED_000_FIVE):
            return f"{kind}(seed 000's five)"
        if members == set(self.models):
            return f"{kind}(all {len(members)} models)"
        return name

    def best_member(self, name: str) -> str:
        """The member with the highest validation AUC (never chosen on a test set)."""
        return max(self.members[name], key=self.val_auc)


def _ensemble_specs(models: list[str], one_class: list[str]) -> list[tuple[str, tuple[str, ...]]]:
    """Every subset of seed 000's five under every combiner, the full zoo under every
    combiner, and seed 001's one-class pair as its own ``mean_z`` ensemble."""
    five = [m for m in ensembles.SEED_000_FIVE if m in models]
    specs = [(kind, members) for members in ensembles.subsets(five) if len(members) > 1 for kind in ensembles.KINDS]
    zoo = tuple(models)
    if len(zoo) > len(five):
        specs += [(kind, zoo) for kind in ensembles.KINDS]
    pair = tuple(m for m in ensembles.ONE_CLASS_PAIR if m in one_class)
    if len(pair) == 2:
        specs.append(("mean_z", pair))
    return specs


def load_study(profile: str, n_resamples: int = N_RESAMPLES, seed: int = 0, models_dir: Path | None = None) -> Study:
    """Read the runs, build the ensembles and fit the paired bootstrap on the test sets."""
    scores, records = load_scores(models_dir or run_dir(profile) / "models")
    order = {name: i for i, name in enumerate(
        [*ensembles.SEED_000_FIVE, "vit_in21k", "resnext50_lstm", *ensembles.ONE_CLASS_PAIR])}
    models = sorted(records, key=lambda n: (order.get(n, len(order)), n))
    one_class = [m for m in models if records[m]["recipe"] == "one_class"]
    raw = ensembles.to_wide(scores)
    maps = ensembles.fit_probability_maps(ensembles.validation_rows(raw), one_class)
    probabilities = ensembles.to_probabilities(raw, maps)
    members = {m: (m,) for m in models}
    kinds = {m: "single" for m in models}
    tables = [scores]
    for kind, group in _ensemble_specs(models, one_class):
        table = ensembles.ensemble_scores(raw if kind == "mean_z" else probabilities, kind, group)
        name = table["model"].iloc[0]
        members[name], kinds[name] = tuple(group), kind
        tables.append(table)
    everything = pd.concat(tables, ignore_index=True)
    test = {domain: ensembles.to_wide(metrics.subset(everything, domain, "test")) for domain in ("source", "target")}
    boot = GapBootstrap.fit(test["source"], test["target"], n_resamples, seed)
    return Study(profile, everything, records, models, one_class, members, kinds, boot)


def gap_table(study: Study, names: list[str] | None = None) -> pd.DataFrame:
    """Per model or ensemble: members, in-domain and cross-domain AUC, gap, each with its
    95 % bootstrap interval, and the gap reduction against the best member (chosen on
    validation) and against the ResNet-18 baseline, with the interval of each difference."""
    rows = []
    for name in names or list(study.members):
        members = study.members[name]
        row = {"name": name, "label": study.label(name), "kind": study.kinds[name], "members": "+".join(members),
               "n members": len(members),
               "validation AUC": study.val_auc(name)}
        for label, interval in (("in-domain AUC", study.boot.auc(name, "in")),
                                ("cross-domain AUC", study.boot.auc(name, "cross")), ("gap", study.boot.gap(name))):
            row.update({label: interval.estimate, f"{label} low": interval.low, f"{label} high": interval.high})
        if len(members) > 1:
            row["best member"] = study.best_member(name)
        for reference_label, reference in (("best member", row.get("best member")), ("ResNet-18", BASELINE)):
            if reference not in study.members or len(members) == 1:
                continue
            difference = study.boot.gap_difference(name, reference)
            reference_gap = study.boot.gap(reference).estimate
            row[f"gap change vs {reference_label}"] = difference.estimate
            row[f"gap change vs {reference_label} low"] = difference.low
            row[f"gap change vs {reference_label} high"] = difference.high
            row[f"gap reduction vs {reference_label} (%)"] = (
                -100 * difference.estimate / reference_gap if reference_gap > 0 else float("nan"))
        rows.append(row)
    return pd.DataFrame(rows)


def method_auc_table(study: Study, names: list[str]) -> pd.DataFrame:
    """Test-set AUC of real videos against each manipulation method, per detector: which
    anomaly view catches which manipulation (rows: domain and method)."""
    rows = []
    for domain in ("source", "target"):
        wide = study.wide(domain, "test")
        methods = wide.index.get_level_values("method")
        labels = wide.index.get_level_values("label")
        for method in sorted(set(methods[labels == 1])):
            keep = (labels == 0) | (methods == method)
            part = wide[keep]
            y = part.index.get_level_values("label").to_numpy()
            rows.append({"domain": domain, "method": method,
                         **{n: metrics.binary_metrics(y, part[n].to_numpy(), 0.5)["auc"] for n in names}})
    return pd.DataFrame(rows)


def diversity_tables(study: Study, models: list[str], domain: str = "source") -> tuple[pd.DataFrame, float]:
    """Pairwise diversity of ``models`` on one test set (verdicts at each model's
    validation threshold) and the share of videos on which all of them agree."""
    video = metrics.at_level(study.scores, metrics.VIDEO)
    verdicts = metrics.verdicts(video[video["model"].isin(models)], domain, "test")[models]
    wide = study.wide(domain, "test")
    wide = wide.reset_index().set_index(["dataset", "method", "video_id"]).loc[verdicts.index]
    pairs = diversity.pairwise(verdicts, wide[models], wide["label"].to_numpy())
    return pairs.assign(set=f"{'in' if domain == 'source' else 'cross'}-domain test"), metrics.agreement_rate(verdicts)


def gain_vs_diversity(study: Study, pairs: pd.DataFrame, kind: str = "soft_vote") -> pd.DataFrame:
    """For every multi-member subset of seed 000's five: the ensemble's in-domain and
    cross-domain AUC gain over its mean member and its members' mean disagreement."""
    rows = []
    for name, members in study.members.items():
        if study.kinds[name] != kind or len(members) < 2 or not set(members) <= set(ensembles.SEED_000_FIVE):
            continue
        row = {"name": name, "n members": len(members),
               "mean disagreement": diversity.mean_pairwise(pairs, members),
               "mean double fault": diversity.mean_pairwise(pairs, members, "double fault")}
        for label, aucs in (("in-domain", study.boot.in_domain), ("cross-domain", study.boot.cross_domain)):
            row[f"{label} AUC"] = aucs[name]
            row[f"{label} gain over mean member"] = aucs[name] - np.mean([aucs[m] for m in members])
            row[f"{label} gain over best member"] = aucs[name] - aucs[study.best_member(name)]
        rows.append(row)
    return pd.DataFrame(rows)


def ci_text(row: pd.Series, column: str, digits: int = 3) -> str:
    """``estimate [low, high]`` of one interval column of a row."""
    return f"{row[column]:.{digits}f} [{row[f'{column} low']:.{digits}f}, {row[f'{column} high']:.{digits}f}]"


def with_intervals(table: pd.DataFrame, columns: list[str], keep: list[str], digits: int = 3) -> pd.DataFrame:
    """A display copy: the ``keep`` columns, then each interval column as one
    ``estimate [low, high]`` text column (the CSV keeps the numbers)."""
    shown = table[keep].copy()
    for column in columns:
        shown[f"{column} [95% CI]"] = [ci_text(row, column, digits) for _, row in table.iterrows()]
    return shown
