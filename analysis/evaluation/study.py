"""The study's two questions, answered from the scores tables of a profile's runs.

:func:`load_study` reads every run under ``runs/<profile>/models``, fits the ensembles on
source validation videos (calibrated members, :class:`~analysis.evaluation.ensembles.Ensemble`),
and fits the paired group bootstrap once on the test sets and once on validation; the
analysis chapters read tables off it in seconds, without touching a model. Chapters write
every table they show as CSV under ``runs/<profile>/results/``; :func:`write_results`
writes the headline tables the results page reads under ``results/summary/``
(:data:`RESULT_FILES`).

**Primary endpoint** (declared before any result, DESIGN rule 12): the paired change in
the generalization gap of card 000's soft vote of its five detectors against the **mean
of its members** (the average member's gap), with the paired change in cross-domain AUC
beside it. The reference is fixed in advance and involves no selection: "the best member"
chosen on validation is a coin flip when members' validation AUCs differ by less than
their noise, and "the best member" chosen on test uses the test set twice. The mean member
is also what an average has to beat to show that combining helps. The best member is a
secondary reference, used only when its validation AUC beats every other member's with a
paired interval that excludes zero (:func:`clear_best_member`).

**Interpretability gate** (DESIGN rule 14): a gap is read only for a detector whose
in-domain interval lies above 0.5; a change in gap only when both sides pass. Otherwise the
tables say "not interpretable": a detector that did not learn has no gap to shrink.

**Secondary families** (subsets of the five under every combiner; the combiners of the
five) carry max-T simultaneous intervals, and every count the prose gives is a count of
simultaneous intervals that exclude zero.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from itertools import combinations
from pathlib import Path

import numpy as np
import pandas as pd
from scipy.stats import rankdata, spearmanr

from analysis.benchmark.shifts import subset_of
from analysis.benchmark.sizing import PLANNING
from analysis.evaluation import diversity, ensembles, fit_gate, group_counts, metrics, power, seed_runs
from analysis.evaluation.bootstrap import LEVEL, N_RESAMPLES, GapBootstrap, Interval, SetBootstrap, mean_of
from analysis.evaluation.calibration import expected_calibration_error, reliability_table
from analysis.evaluation.published import CARD_000, published_table, published_value
from analysis.models.registry import ONE_CLASS, list_models
from analysis.paths import run_dir
from analysis.training.run_record import models_dir as profile_models_dir, read_runs

CHANCE = 0.5
PRIMARY_KIND = "soft_vote"
INTERPRETABLE, NOT_INTERPRETABLE = "interpretable", "not interpretable"
NO_CLEAR_BEST = "none (validation intervals overlap)"
# below this many identity groups per test set a group bootstrap's 95 % interval covers
# less often than it claims (in simulations of the benchmark's pairs: about 0.91 with 6 to
# 15 groups, 0.94 with 30; the test suite checks coverage at 60)
MIN_GROUPS = 30
# the CSV files write_results puts under runs/<profile>/results/summary/ (the results page reads them)
SUMMARY_DIR = "summary"
RESULT_FILES = ("primary_endpoint", "power", "gap", "secondary_families", "family_counts", "agreement",
                "verdict", "seed_spread", "primary_per_shift", "five_vs_best_member", "incomplete_runs", "seed_source",
                "fit_gate", "paired_changes")


RESULTS_DIR_VARIABLE = "ANALYSIS_RESULTS_DIR"  # set by `book --notebook`: a chapter's tables go there


def results_dir(profile: str) -> Path:
    """Where the study's tables are: ``runs/<profile>/results``, or ``$ANALYSIS_RESULTS_DIR``
    when a chapter is executed into a notebook of its own (so it never rewrites the book's)."""
    return Path(os.environ[RESULTS_DIR_VARIABLE]) if os.environ.get(RESULTS_DIR_VARIABLE) else run_dir(profile) / "results"


def save_table(table: pd.DataFrame, folder: Path, name: str) -> pd.DataFrame:
    """Write ``<folder>/<name>.csv`` (chapters use :func:`results_dir`) and return the table."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    table.to_csv(folder / f"{name}.csv", index=False)
    return table


def load_scores(models_dir: Path) -> tuple[pd.DataFrame, dict[str, dict]]:
    """Every run's scores in one long table, and one run record per model; a model's
    record lists under ``incomplete_seeds`` the training seeds whose run the hang guard
    stopped before its fixed epochs."""
    runs = read_runs(models_dir)
    records = {}
    for run in runs:
        records.setdefault(run.model, {**run.record, "incomplete_seeds": []})
        if not run.record["complete"]:
            records[run.model]["incomplete_seeds"].append(run.seed)
    return pd.concat([run.scores for run in runs], ignore_index=True), records


def interpretable(in_domain: Interval) -> bool:
    """The gate: the in-domain interval excludes chance from above."""
    return in_domain.low > CHANCE


@dataclass
class Study:
    """Scores of the models and fitted ensembles of one profile and training seed, with
    their bootstraps."""

    profile: str
    scores: pd.DataFrame  # long: models at both levels, ensembles at video level
    records: dict[str, dict]
    models: list[str]  # single models, in the study's order
    one_class: list[str]
    members: dict[str, tuple[str, ...]]  # every model and ensemble -> its members
    kinds: dict[str, str]  # -> "single", "soft_vote", ...
    fitted: dict[str, ensembles.Ensemble]  # every ensemble, fitted on source validation
    boot: GapBootstrap  # test sets
    validation: SetBootstrap  # source validation
    training_seed: int | None = None
    _wide: dict = field(default_factory=dict, repr=False)
    gate: pd.DataFrame = field(default_factory=pd.DataFrame)  # the fit gate, one row per model (fit_gate)

    def wide(self, domain: str, split: str) -> pd.DataFrame:
        """Video-level scores of one evaluation set: a row per video, a column per name."""
        if (domain, split) not in self._wide:
            self._wide[domain, split] = ensembles.to_wide(metrics.subset(self.scores, domain, split))
        return self._wide[domain, split]

    def val_auc(self, name: str) -> float:
        return float(self.validation.estimates[name])

    @property
    def five(self) -> list[str]:
        return [m for m in ensembles.CARD_000_FIVE if m in self.models]

    @property
    def fitted_five(self) -> list[str]:
        """Those of card 000's five that pass the fit gate (:mod:`fit_gate`)."""
        passed = fit_gate.passed(self.gate) if len(self.gate) else self.models
        return [m for m in self.five if m in passed]

    @property
    def primary(self) -> str:
        """The ensemble of the primary endpoint: the soft vote of those of card 000's five
        that pass the fit gate (of all five when fewer than two pass: then it is not read)."""
        fitted = self.fitted_five
        return ensembles.ensemble_name(PRIMARY_KIND, fitted if len(fitted) > 1 else self.five)

    @property
    def primary_all_five(self) -> str:
        """The sensitivity analysis beside the primary endpoint: the soft vote of all five."""
        return ensembles.ensemble_name(PRIMARY_KIND, self.five)

    def label(self, name: str) -> str:
        """A short display name: card 000's five and the full zoo are named, not listed
        (the ``members`` column of every table still lists them)."""
        members, kind = set(self.members[name]), self.kinds[name]
        if kind == "single":
            return name
        if members == set(ensembles.CARD_000_FIVE):
            return f"{kind}(card 000's five)"
        if members == set(self.models):
            return f"{kind}(all {len(members)} models)"
        return name

    def reference(self, name: str) -> dict[str, float]:
        """The pre-declared reference of an ensemble: the mean of its members."""
        return mean_of(self.members[name])

    def learned(self, detector) -> bool:
        return interpretable(self.boot.auc(detector, "in"))

    @property
    def incomplete(self) -> list[str]:
        """Models whose run of this training seed the hang guard stopped before its fixed
        epochs (DESIGN rule 15): their scores are not the recipe's, so no comparison that
        involves them is read."""
        return [m for m in self.models if self.training_seed in self.records[m]["incomplete_seeds"]]


def without_gap(study: Study, names: list[str]) -> list[str]:
    """Those of ``names`` whose own gap interval reaches 0: no measurable drop across
    domains, so in a mean member they hold its gap down."""
    return [m for m in names if study.boot.gap(m).low <= 0]


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


def _ensemble_specs(models: list[str], one_class: list[str]) -> list[tuple[str, tuple[str, ...]]]:
    """Every subset of card 000's five under every combiner, the full zoo under every
    combiner, and card 001's one-class pair as its own ``mean_z`` ensemble."""
    five = [m for m in ensembles.CARD_000_FIVE if m in models]
    specs = [(kind, members) for members in ensembles.subsets(five) if len(members) > 1 for kind in ensembles.KINDS]
    zoo = tuple(models)
    if len(zoo) > len(five):
        specs += [(kind, zoo) for kind in ensembles.KINDS]
    pair = tuple(m for m in ensembles.ONE_CLASS_PAIR if m in one_class)
    if len(pair) == 2:
        specs.append(("mean_z", pair))
    return specs


def training_seeds(scores: pd.DataFrame) -> list[int | None]:
    """The training seeds present in a scores table (``[None]`` without a seed column)."""
    return sorted(scores["seed"].unique().tolist()) if "seed" in scores.columns else [None]


def load_study(profile: str, n_resamples: int = N_RESAMPLES, seed: int = 0, models_dir: Path | None = None,
               training_seed: int | None = None, loaded: tuple[pd.DataFrame, dict] | None = None) -> Study:
    """Read the runs of one training seed (default: the first), fit the ensembles on
    validation and the paired group bootstraps on validation and the test sets."""
    scores, records = loaded or load_scores(models_dir or profile_models_dir(profile))
    seeds = training_seeds(scores)
    training_seed = seeds[0] if training_seed is None else training_seed
    if training_seed not in seeds:
        raise ValueError(f"training seed {training_seed} not in the scores tables; they hold {seeds}.")
    if training_seed is not None:
        scores = scores[scores["seed"] == training_seed]
    order = {name: i for i, name in enumerate(list_models())}  # the registry's order
    models = sorted(records, key=lambda n: (order.get(n, len(order)), n))
    one_class = [m for m in models if records[m]["schedule"] == ONE_CLASS]
    raw = ensembles.to_wide(scores)
    validation = ensembles.validation_rows(raw)
    members = {m: (m,) for m in models}
    kinds = {m: "single" for m in models}
    fitted, tables = {}, [scores]
    calibrators = ensembles.Ensemble("soft_vote", models, raw_scores=one_class).fit(validation).calibrators_
    for kind, group in _ensemble_specs(models, one_class):
        ensemble = ensembles.Ensemble(kind, group, one_class, calibrators).fit(validation)
        members[ensemble.name_], kinds[ensemble.name_], fitted[ensemble.name_] = tuple(group), kind, ensemble
        tables.append(ensembles.ensemble_scores(raw, ensemble))
    everything = pd.concat(tables, ignore_index=True)
    wide = {(domain, split): ensembles.to_wide(metrics.subset(everything, domain, split))
            for domain, split in (("source", "test"), ("target", "test"), ("source", "val"))}
    boot = GapBootstrap.fit(wide["source", "test"], wide["target", "test"], n_resamples, seed)
    val_boot = SetBootstrap.fit(wide["source", "val"], n_resamples, seed + 2)
    gate = fit_gate.fit_gate({m: records[m] for m in models}, lambda m: val_boot.interval({m: 1.0}))
    return Study(profile, everything, records, models, one_class, members, kinds, fitted, boot, val_boot,
                 training_seed, dict(wide), gate)


def load_seeds(profile: str, n_resamples: int = N_RESAMPLES, seed: int = 0, models_dir: Path | None = None,
               seeds: list[int] | None = None) -> dict[int | None, Study]:
    """One :class:`Study` per training seed: ``seeds``, or every seed in the scores tables."""
    loaded = load_scores(models_dir or profile_models_dir(profile))
    present = training_seeds(loaded[0])
    missing = sorted(set(seeds or []) - set(present))
    if missing:
        raise ValueError(f"training seeds {missing} are not in the scores tables; they hold {present}.")
    return {s: load_study(profile, n_resamples, seed, training_seed=s, loaded=loaded) for s in (seeds or present)}


def _columns(prefix: str, interval: Interval) -> dict[str, float]:
    return {prefix: interval.estimate, f"{prefix} low": interval.low, f"{prefix} high": interval.high}


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
               "n members": len(members), **_columns("validation AUC", study.validation.interval({name: 1.0})),
               **_columns("in-domain AUC", in_domain), **_columns("cross-domain AUC", study.boot.auc(name, "cross")),
               **_columns("gap", study.boot.gap(name)), **_columns("gap (logit)", study.boot.logit_gap_change(name)),
               "gap read": INTERPRETABLE if interpretable(in_domain) else NOT_INTERPRETABLE}
        if len(members) > 1:
            reference = study.reference(name)
            both = interpretable(in_domain) and interpretable(study.boot.auc(reference, "in"))
            row.update({**_columns("gap change vs mean member", study.boot.gap_difference(name, reference)),
                        **_columns("cross-domain change vs mean member", study.boot.cross_difference(name, reference)),
                        "change read": INTERPRETABLE if both else NOT_INTERPRETABLE})
            best = clear_best_member(study, name)
            row["clear best member"] = best or NO_CLEAR_BEST
            if best:
                row.update({**_columns("gap change vs clear best member", study.boot.gap_difference(name, best)),
                            **_columns("cross-domain change vs clear best member",
                                       study.boot.cross_difference(name, best))})
        rows.append(row)
    return pd.DataFrame(rows)


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
                         **_columns("cross-domain AUC", boot.auc(name, "cross")), **_columns("gap", boot.gap(name)),
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
        rows.append({"subset": kind, "videos": videos, **_columns("gap", boot.gap(name)),
                     **_columns("reference gap", boot.gap(reference)),
                     **_columns("gap change", boot.gap_difference(name, reference)),
                     "gap read": INTERPRETABLE if readable else NOT_INTERPRETABLE})
    return pd.DataFrame(rows, columns=columns)


def primary_shift_text(per_shift: pd.DataFrame) -> str:
    """The primary endpoint per kind of shift, in a sentence, from :func:`primary_per_shift`."""
    if per_shift.empty:
        return "This profile's target domain has no named subsets, so the endpoint is not split by kind of shift."
    if (per_shift["gap read"] != INTERPRETABLE).any():
        return "The endpoint is not interpretable, so it is not split by kind of shift."
    cells = [f"{row['subset']} {ci_text(row, 'gap change')} (gap {row['gap']:.3f} against {row['reference gap']:.3f})"
             for _, row in per_shift.iterrows()]
    return ("Scored on each declared kind of shift alone, against the same in-domain test set, the soft vote "
            "changes its mean member's gap by " + ", ".join(cells) + ": descriptive intervals, one per subset, "
            "not corrected across them. The pooled endpoint is not the average of these: its cross-domain AUC "
            "also ranks fakes of one subset against reals of another.")


def shift_summary(per_shift: pd.DataFrame, primary: str) -> str:
    """What :func:`shift_table` says, in sentences: per subset, the readable detectors for
    which the target subset is harder (gap interval above 0) or easier (below 0) than the
    in-domain test set, the primary ensemble's gap there, and the detectors with no skill
    left on the subset (cross-domain interval holding 0.5 or below it): their gap is all
    their in-domain skill, a floor, not a drop measured on a detector that still works."""
    sentences = []
    for subset, part in per_shift.groupby("subset", sort=True):
        readable = part[(part["gap read"] == INTERPRETABLE) & (part["name"] != primary)]
        harder = readable.loc[readable["gap low"] > 0, "label"].tolist()
        easier = readable.loc[readable["gap high"] < 0, "label"].tolist()
        floor = readable.loc[readable["cross-domain AUC low"] <= CHANCE, "label"].tolist()
        vote = part[part["name"] == primary].iloc[0]
        direction = "harder" if vote["gap low"] > 0 else "easier" if vote["gap high"] < 0 else "no measurable change"
        sentence = (f"**{subset}**: harder than in-domain for {', '.join(harder) or 'no detector'}, easier for "
                    f"{', '.join(easier) or 'no detector'}; the soft vote's gap there is {ci_text(vote, 'gap')} "
                    f"({direction}).")
        if floor:
            sentence += f" At chance there: {', '.join(floor)}."
        sentences.append(sentence)
    return ("By each cell's own 95 % interval (no correction across cells): " + " ".join(sentences)
            + " A subset on which a detector scores better than in-domain does not "
            "reproduce, for that detector, the drop across domains the study is about; for a detector at chance "
            "on a subset, its gap there is the whole of its in-domain skill, a floor rather than a measured drop.")


def best_member_text(gaps: pd.DataFrame, ensemble: str) -> str:
    """The ensemble against its clear best member, in a sentence, from :func:`gap_table`'s
    rows (one per model and ensemble)."""
    rows = gaps.set_index("name")
    vote = rows.loc[ensemble]
    best = vote["clear best member"]
    if best == NO_CLEAR_BEST:
        return "Validation names no clear best member: the members' validation intervals overlap."
    return (f"Validation names a clear best member, {best}. Against it, the soft vote changes the gap by "
            f"{ci_text(vote, 'gap change vs clear best member')}, and its in-domain and cross-domain AUCs are "
            f"{vote['in-domain AUC']:.3f} and {vote['cross-domain AUC']:.3f} against {best}'s "
            f"{rows.loc[best, 'in-domain AUC']:.3f} and {rows.loc[best, 'cross-domain AUC']:.3f}.")


def view_summary(methods: pd.DataFrame, method_views: dict[str, str], model_views: dict[str, str]) -> str:
    """The multi-view prediction checked on :func:`method_auc_table`'s in-domain rows: for
    each source method, the detector with the highest AUC, whether the runner-up's
    estimate lies inside its interval (then the ranking is not established), and whether
    its view is the method's declared view."""
    sentences, held = [], 0
    in_domain = methods[methods["domain"] == "source"]
    for method, part in in_domain.groupby("method", sort=True):
        ranked = part.sort_values("AUC", ascending=False)
        best = ranked.iloc[0]
        declared, view = method_views.get(method, "unknown"), model_views.get(best["name"], "unknown")
        held += view in declared.split("+")
        close = [r["name"] for _, r in ranked.iloc[1:].iterrows() if r["AUC"] >= best["AUC low"]]
        sentences.append(f"{method} (declared {declared}) is caught best by {best['name']} ({view}, "
                         f"{ci_text(best, 'AUC')}" + (f"; not clearly ahead of {', '.join(close)}" if close else "")
                         + ")")
    return (f"In-domain, {'; '.join(sentences)}. The best detector reads the method's own view for {held} of "
            f"{len(sentences)} methods (a ranking of point estimates, not a paired test).")


PRIMARY_ANALYSIS, ALL_FIVE_ANALYSIS = "primary (members that pass the fit gate)", "sensitivity (all five)"


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
    rows = [_endpoint_row(study, study.primary, PRIMARY_ANALYSIS)]
    if study.primary_all_five != study.primary:
        rows.append(_endpoint_row(study, study.primary_all_five, ALL_FIVE_ANALYSIS))
    return pd.DataFrame(rows)


GATE_MARGINS = (0.0, 0.01, 0.02, 0.03, 0.05)  # training-loss margins below ln 2 the sensitivity table tries


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
            endpoint = _endpoint_row(study, name, PRIMARY_ANALYSIS)
            row.update({k: endpoint[k] for k in ("gap change", "gap change low", "gap change high", "verdict")})
        else:
            row.update({"gap change": np.nan, "gap change low": np.nan, "gap change high": np.nan,
                        "verdict": "fewer than two members"})
        rows.append(row)
    return pd.DataFrame(rows)


def _endpoint_row(study: Study, name: str, analysis: str) -> dict:
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
        **_columns("ensemble in-domain AUC", ensemble_in), **_columns("reference in-domain AUC", reference_in),
        **_columns("ensemble cross-domain AUC", study.boot.auc(name, "cross")),
        **_columns("reference cross-domain AUC", study.boot.auc(reference, "cross")),
        **_columns("ensemble gap", study.boot.gap(name)), **_columns("reference gap", study.boot.gap(reference)),
        **_columns("gap change", change), **_columns("cross-domain AUC change", cross),
        **_columns("gap change (logit)", study.boot.logit_gap_change(name, reference)),
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


def test_design(study: Study, domain: str, icc: float = 0.0) -> power.EvalSet:
    """The size of one of this run's test sets, as the power module describes it."""
    wide = study.wide(domain, "test")
    labels = wide.index.get_level_values("label")
    groups = wide.index.get_level_values("group").nunique()
    return power.EvalSet(int((labels == 0).sum()), int((labels == 1).sum()), groups, icc)


def measured_clustering(study: Study, domain: str, n_resamples: int = N_RESAMPLES, seed: int = 0) -> float:
    """This run's design effect: the variance of the members' AUCs under the group
    bootstrap over their variance under a video bootstrap (mean over card 000's five)."""
    wide = study.wide(domain, "test")[study.five]
    frame = wide.reset_index()
    frame["group"] = [f"video {i}" for i in range(len(frame))]
    by_video = frame.set_index(list(wide.index.names))
    grouped = SetBootstrap.fit(wide, n_resamples, seed).samples.var()
    videos = SetBootstrap.fit(by_video, n_resamples, seed).samples.var()
    return float((grouped / videos).mean())


def power_table(study: Study, claimed_effect: float, card_auc_in: float, card_auc_cross: float,
                n_resamples: int = N_RESAMPLES) -> pd.DataFrame:
    """The minimum detectable effect (80 % power, two-sided 5 %) of this run's test sets
    for the primary endpoint: measured (from the bootstrap SE of the endpoint itself), and
    analytic at the card's AUCs with this run's sizes, clustering and correlation; beside
    the effect the card claims, and the number of groups per test set that would detect it."""
    primary = primary_endpoint(study).iloc[0]
    reference = study.reference(study.primary)
    pairs = [(part.combine({study.primary: 1.0})[1], part.combine(reference)[1])
             for part in (study.boot.in_domain, study.boot.cross_domain)]
    # a set whose resamples do not vary has nothing to correlate; with none, the conservative 0
    found = [np.corrcoef(a, b)[0, 1] for a, b in pairs if np.std(a) > 0 and np.std(b) > 0]
    correlation = float(np.mean(found)) if found else 0.0
    effect = {d: measured_clustering(study, d, n_resamples) for d in ("source", "target")}
    sets = {d: test_design(study, d) for d in ("source", "target")}
    sets = {d: power.EvalSet(s.n_real, s.n_fake, s.groups, power.icc_from_design_effect(effect[d], s.group_size))
            for d, s in sets.items()}

    def analytic(groups_in: int | None = None, groups_cross: int | None = None) -> float:
        in_set = sets["source"] if groups_in is None else sets["source"].with_groups(groups_in)
        cross_set = sets["target"] if groups_cross is None else sets["target"].with_groups(groups_cross)
        return power.gap_change_mde(in_set, cross_set, auc_in=card_auc_in, auc_cross=card_auc_cross,
                                    correlation=correlation)

    scale = sets["target"].groups / sets["source"].groups
    needed_in = power.required_groups(claimed_effect, lambda g: analytic(g, max(1, round(g * scale))))
    se = primary["bootstrap SE of gap change"]
    # the card's change is a share of its members' gap; here it can only be that share of this run's
    scaled = (claimed_effect * primary["reference gap"] / (card_auc_in - card_auc_cross)
              if primary["reference gap"] > 0 else float("nan"))
    return pd.DataFrame([{
        "real test videos (in-domain)": sets["source"].n_real, "fake test videos (in-domain)": sets["source"].n_fake,
        "groups (in-domain)": sets["source"].groups,
        "real test videos (cross-domain)": sets["target"].n_real, "fake test videos (cross-domain)": sets["target"].n_fake,
        "groups (cross-domain)": sets["target"].groups,
        "design effect (in-domain)": effect["source"], "design effect (cross-domain)": effect["target"],
        "AUC correlation, ensemble vs reference": correlation,
        "MDE measured": power.mde(se),
        "card AUC in-domain": card_auc_in, "card AUC cross-domain": card_auc_cross,
        "MDE at card AUCs": analytic(),
        "claimed effect": claimed_effect,
        "power at claimed effect": power.power_at(claimed_effect, se),
        "scaled effect": scaled, "power at scaled effect": power.power_at(scaled, se) if scaled > 0 else float("nan"),
        "groups needed (in-domain)": needed_in, "groups needed (cross-domain)": max(1, round(needed_in * scale)),
    }])


@dataclass(frozen=True)
class SimultaneousGate:
    """Which detectors pass the chance gate when the whole family keeps a joint level."""

    level: float  # of each detector's interval
    learned: list[str]  # detectors whose interval at that level lies above chance


def learned_simultaneously(study: Study) -> SimultaneousGate:
    """The detectors whose in-domain interval lies above 0.5 when the family of all single
    detectors keeps a 95 % joint level (Bonferroni: each at 1 - 0.05 / n, BCa)."""
    level = 1 - (1 - LEVEL) / len(study.models)
    return SimultaneousGate(level, [m for m in study.models
                                    if study.boot.in_domain.interval({m: 1.0}, level).low > CHANCE])


def _five_combined(study: Study, planned: float) -> str:
    """Card 000's detector is the ensemble of its five: its in-domain AUC under each
    combiner (all four, so that no combiner is picked on the test set)."""
    names = {kind: ensembles.ensemble_name(kind, study.five) for kind in ensembles.KINDS}
    names = {kind: name for kind, name in names.items() if name in study.members}
    if not names:
        return ""
    aucs = {kind: study.boot.auc(name, "in") for kind, name in names.items()}
    reached = sum(a.estimate >= planned for a in aucs.values())
    within = sum(a.estimate < planned <= a.high for a in aucs.values())
    listed = ", ".join(f"{kind} {a}" for kind, a in aucs.items())  # the combiners' names in the tables
    return (f"Card 000's own detector is the ensemble of its five; under the {len(aucs)} combiners it reaches "
            f"{listed} in-domain ({reached} with a point estimate at or above {planned:.2f}"
            f"{f', {within} more with an individual interval that reaches it' if within else ''}). ")


def plain_summary(primary: pd.Series, gaps: pd.DataFrame) -> str:
    """The answer in plain words for a first reading, from point estimates only (the
    verdict that follows gives the intervals): the soft vote against its average member
    and against the clear best member, and which way the gap moves."""
    ens_in, ens_cross = primary["ensemble in-domain AUC"], primary["ensemble cross-domain AUC"]
    ref_in, ref_cross = primary["reference in-domain AUC"], primary["reference cross-domain AUC"]

    def compared(a: float, b: float) -> str:  # point estimates: within 0.005 is no difference worth a word
        return "level with" if abs(a - b) < 0.005 else "above" if a > b else "below"

    members = primary["members"].split("+")
    text = (f"In short: the soft vote of {', '.join(members)} (those of card 000's five that passed the fit gate) "
            f"scores {compared(ens_in, ref_in)} their "
            f"average member in-domain ({ens_in:.3f} against {ref_in:.3f}) and {compared(ens_cross, ref_cross)} it "
            f"across domains ({ens_cross:.3f} against {ref_cross:.3f}), so its gap (in-domain minus "
            f"cross-domain AUC) is {abs(primary['gap change']):.3f} "
            f"{'wider' if primary['gap change'] > 0 else 'narrower'} than the average member's. ")
    rows = gaps.set_index("name")
    best = rows.loc[primary["ensemble"], "clear best member"]
    if best == NO_CLEAR_BEST or best not in rows.index:
        return text + "Validation names no single member as clearly best."
    row = rows.loc[best]
    return text + (f"Against the best single member, {best}, the soft vote is {compared(ens_in, row['in-domain AUC'])} "
                   f"it in-domain ({ens_in:.3f} against {row['in-domain AUC']:.3f}) and "
                   f"{compared(ens_cross, row['cross-domain AUC'])} it across domains ({ens_cross:.3f} against "
                   f"{row['cross-domain AUC']:.3f}).")


def retrain_text(spread: pd.DataFrame | None, source: str) -> str:
    """How much a retrained detector moves, from a seed spread (:func:`seed_spread`) of
    ``source`` (this build, or a stored run); empty without one."""
    if spread is None or spread.empty or spread["seeds"].max() < 2:
        return ""
    table = spread.set_index("quantity")
    aucs = table[table.index.str.startswith("in-domain AUC: ") & ~table.index.str.contains(r"\(")]
    widest = aucs["range"].idxmax()
    which = "the primary endpoint's"
    if seed_runs.PRIMARY_GAP in table.index:
        gap = table.loc[seed_runs.PRIMARY_GAP]
    else:  # a stored run made before the fit gate: its endpoint is the all-five version
        gap, which = table.loc[seed_runs.ALL_FIVE_GAP], "the all-five soft vote's"
    signs = "all above zero" if gap["min"] > 0 else "all below zero" if gap["max"] < 0 else "of both signs"
    return (f"Across {int(gap['seeds'])} training seeds ({source}), {which} gap change ranges from "
            f"{gap['min']:+.3f} to {gap['max']:+.3f} (SD {gap['sd']:.3f}; {signs}), and a retrained detector's "
            f"in-domain AUC moves by up to {aucs.loc[widest, 'range']:.3f} "
            f"({widest.removeprefix('in-domain AUC: ')}). ")


def gate_sentence(study: Study) -> str:
    """Which of card 000's five the fit gate admitted, and why the others were not."""
    gate = study.gate.set_index("model")
    out = [m for m in study.five if m not in study.fitted_five]
    text = (f"The fit gate (training loss below ln 2 - {fit_gate.FIT_MARGIN} and a validation AUC interval "
            f"above 0.5, both from training and validation only; added after an earlier build's results, so the "
            f"gated endpoint is post hoc and the all-five version is the one first declared) admits "
            f"{len(study.fitted_five)} of card 000's five")
    if not out:
        return text + ". "
    return text + ": " + "; ".join(f"{m} stays out ({gate.loc[m, 'why not']})" for m in out) + ". "


def trust_verdict(study: Study, primary: pd.DataFrame, power_row: pd.DataFrame, n_seeds: int = 1,
                  retrain: str = "") -> str:
    """One paragraph computed from the numbers: did the detectors learn, can the primary
    endpoint be read, was the run what the design assumed, could these test sets see an
    effect of the claimed size, and how many trainings (``n_seeds``) stand behind it?"""
    in_domain = {m: study.boot.auc(m, "in") for m in study.models}
    learned = [m for m in study.models if interpretable(in_domain[m])]
    failed = [m + (" (below chance: it ranks fakes below reals)" if in_domain[m].high < CHANCE else "")
              for m in study.models if m not in learned]
    p, pw = primary.iloc[0], power_row.iloc[0]
    mde, claimed, chance = pw["MDE measured"], pw["claimed effect"], pw["power at claimed effect"]
    size = f"These test sets detect a change in gap of {mde:.3f} or more with 80 % power"
    size += ("." if pw["scaled effect"] > 0 else f"; a true change of -{claimed:.3f}, the card's, would be found with "
             f"probability {'>0.99' if chance > 0.99 else f'{chance:.2f}'}.")
    if n_seeds == 1:
        size += (" Every detector of this build was trained once: the intervals hold the trained models fixed, so "
                 "they leave out how much another training seed would move these numbers.")
    if retrain:
        size += " " + retrain.rstrip()
    few = min(pw["groups (in-domain)"], pw["groups (cross-domain)"])
    if few < MIN_GROUPS:
        size += (f" With {int(pw['groups (in-domain)'])} in-domain and {int(pw['groups (cross-domain)'])} "
                 f"cross-domain identity groups (fewer than {MIN_GROUPS}), the 95 % intervals cover less often than "
                 "they claim: read them as lower bounds on the uncertainty.")
    size += group_counts.few_groups_sentence(group_counts.group_counts(study.scores))
    if study.incomplete:
        stopped = (f"The hang guard stopped {', '.join(study.incomplete)} before the epochs the recipe fixes, so "
                   "their scores are not the recipe's and no comparison that involves them is read here: ")
        if set(study.incomplete) & set(study.members[study.primary]):
            return stopped + ("that includes the primary endpoint. Rebuild them (`make book`) once whatever "
                              "held them up is gone, to answer the study's questions. " + size)
        size = stopped.rstrip(": ") + ". " + size
    if not learned:
        return ("No detector's in-domain interval excludes 0.5, so neither question is answered on this run: "
                "there is no gap to shrink and no useful disagreement to measure. " + size)
    best = max(learned, key=lambda m: in_domain[m].estimate)
    family = learned_simultaneously(study)
    planned = PLANNING.auc_in
    head = (f"{len(learned)} of {len(study.models)} detectors learned: each one's own 95 % in-domain interval lies "
            f"above 0.5, the gate every table uses{'; ' + ', '.join(failed) + ' did not' if failed else ''}. With "
            f"Bonferroni control over the {len(study.models)} ({100 * family.level:.1f} % intervals), "
            f"{len(family.learned)} pass ({', '.join(family.learned) or 'none'}). The best single detector, "
            f"{best}, reaches an in-domain AUC of {in_domain[best].estimate:.3f}, "
            f"{'below' if in_domain[best].estimate < planned else 'at or above'} the {planned:.2f} the benchmark's "
            "test sets were sized for. " + _five_combined(study, planned))
    head += gate_sentence(study)
    if p["read"] != INTERPRETABLE:
        why = ("Fewer than two of card 000's five passed the fit gate" if len(study.fitted_five) < 2 else
               "The soft vote of the members that passed, or their mean, did not learn")
        return head + why + ", so the primary endpoint is not interpretable on this run. " + size
    endpoint = (f"The primary endpoint is interpretable: against the mean of the same {len(study.fitted_five)} "
                f"members, their soft vote changes the gap by {ci_text(p, 'gap change')} ({p['verdict']}) and the "
                f"cross-domain AUC by {ci_text(p, 'cross-domain AUC change')}. ")
    if len(primary) > 1:
        a = primary.iloc[1]
        endpoint += (f"With all five (the declared sensitivity analysis) the change in gap is "
                     f"{ci_text(a, 'gap change')} ({a['verdict']}). ")
    clear = clear_best_member(study, study.primary)
    if clear is None:
        endpoint += "No member is clearly best on validation, so there is no best-member comparison. "
    else:
        vs_gap, vs_cross = study.boot.gap_difference(study.primary, clear), study.boot.cross_difference(
            study.primary, clear)
        endpoint += (f"Against its clear best member, {clear} (chosen on validation), the changes are {vs_gap} in "
                     f"gap and {vs_cross} in cross-domain AUC (individual 95 % intervals). ")
        best_mde = best_member_mde(study, study.primary)
        card_vs_best = card_assumptions()["claimed effect vs best single"]
        holds = vs_gap.low <= -card_vs_best <= vs_gap.high
        endpoint += (f"That contrast is the analogue of the one model card 000 quotes (-{card_vs_best:.3f} against "
                     f"its best single model, chosen there by test-set gap). These test sets resolve it at "
                     f"{best_mde:.3f} or more with 80 % power; the gap interval above "
                     f"{'holds' if holds else 'excludes'} the card's value")
        if pw["scaled effect"] > 0:
            scaled_best = card_vs_best * pw["scaled effect"] / claimed
            found = power.power_at(scaled_best, best_mde / power.z_sum())
            holds = vs_gap.low <= -scaled_best <= vs_gap.high
            endpoint += (f", and scaled to this benchmark's members' gap as below (-{scaled_best:.3f}, found with "
                         f"probability {found:.2f}) it {'holds' if holds else 'excludes'} that too")
        endpoint += ". "
        if (p["gap change low"] > 0 or p["gap change high"] < 0) and vs_gap.low <= 0 <= vs_gap.high:
            flat = without_gap(study, study.five)
            endpoint += ("The two references disagree: the ensemble's gap differs from its mean member's, but not "
                         "measurably from its best member's. "
                         + (f"Members with no measurable gap of their own ({', '.join(flat)}) hold the mean "
                            "member's gap down. " if flat else ""))
    gap = study.boot.gap(study.reference(study.primary))
    card_gap = pw["card AUC in-domain"] - pw["card AUC cross-domain"]
    if gap.low > 0:
        holds = p["gap change low"] <= -claimed <= p["gap change high"]
        domain = (f"The members' mean gap is {gap}: for them the target domain, pooled over its subsets, is "
                  f"harder than the source, as the study assumes (the gap chapter shows which kinds of shift carry "
                  f"it and which do not). The endpoint's interval {'holds' if holds else 'excludes'} the card's change "
                  f"of -{claimed:.3f} on this benchmark, whose members lose {gap.estimate:.3f} across domains where "
                  f"the card's lose {card_gap:.3f}. ")
        scaled = pw["scaled effect"]
        holds = p["gap change low"] <= -scaled <= p["gap change high"]
        domain += (f"Scaled to this benchmark (the card's change is {claimed / card_gap:.0%} of its members' gap), "
                   f"it would be -{scaled:.3f} here, found with probability {pw['power at scaled effect']:.2f}; "
                   f"the endpoint's interval {'holds' if holds else 'excludes'} it. ")
    else:
        harder = "easier than the source" if gap.high < 0 else "not measurably harder than the source"
        domain = (f"The members' mean gap is {gap}: for them the target domain is {harder}, although the "
                  f"benchmark was designed to make it harder (a drop of {planned - PLANNING.auc_cross:.2f} was "
                  f"planned). So this run does not reproduce the gap the study is about, and it cannot test the "
                  f"card's claim: the card's change of -{claimed:.3f} shrinks a members' gap of "
                  f"{card_gap:.3f}, and there is no such gap here to shrink. ")
    return head + endpoint + domain + size


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
                                 **_columns("AUC", part.interval({name: 1.0}))})
    return pd.DataFrame(rows)


def gain_vs_diversity(study: Study, pairs: pd.DataFrame, kind: str = "soft_vote") -> pd.DataFrame:
    """For every multi-member subset of card 000's five: the ensemble's in-domain and
    cross-domain AUC gain over its mean member and its members' mean disagreement
    (point estimates; their simultaneous intervals are in :func:`family_table`)."""
    rows = []
    for name, members in study.members.items():
        if study.kinds[name] != kind or len(members) < 2 or not set(members) <= set(ensembles.CARD_000_FIVE):
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


def diversity_gain_reading(correlation: pd.DataFrame) -> str:
    """What the signs of :func:`gain_diversity_correlation` say, against the one bias
    built into the measure: a weak member raises both its subset's disagreement and the
    subset's gain over a mean member it pulls down, which pushes the correlation up."""
    signs = {}
    for _, row in correlation.iterrows():
        domain = row["gain"].split(" gain")[0]
        signs[domain] = ("positive" if row["rho low"] > 0 else "negative" if row["rho high"] < 0
                         else "not distinguishable from 0")
    parts = ", ".join(f"{sign} {domain}" for domain, sign in signs.items())
    text = (f"The correlation is {parts}. Read it against a bias of the measure: a weak member disagrees with a "
            "strong one on many videos, which raises the subset's diversity, and pulls the mean member down, "
            "which raises the ensemble's gain over it, so weak members push the correlation up without any useful "
            "disagreement.")
    if "negative" in signs.values():
        text += (" A negative correlation holds despite that push: on this benchmark the subsets whose members "
                 "disagree more gain less over their mean member, so disagreement as measured here does not mark "
                 "useful diversity.")
    return text


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
        rho = _row_spearman(disagreement, gain)
        low, high = np.nanquantile(rho, [(1 - level) / 2, (1 + level) / 2])
        estimate = rank_correlation(gains["mean disagreement"], gains[column])
        rows.append({"gain": column, "rho": np.nan if estimate is None else estimate,
                     "rho low": float(low), "rho high": float(high), "subsets": len(names)})
    return pd.DataFrame(rows)


def _row_spearman(x: np.ndarray, y: np.ndarray) -> np.ndarray:
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


def seed_spread(studies: dict, names: list[str]) -> pd.DataFrame:
    """Across training seeds: mean, SD, min, max and range of each headline number, to read
    beside the bootstrap intervals (which hold the trained models fixed)."""
    return seed_runs.spread(seed_runs.seed_values(studies, names))


def ci_text(row: pd.Series, column: str, digits: int = 3) -> str:
    """``estimate [low, high]`` of one interval column of a row."""
    return f"{row[column]:.{digits}f} [{row[f'{column} low']:.{digits}f}, {row[f'{column} high']:.{digits}f}]"


def with_intervals(table: pd.DataFrame, columns: list[str], keep: list[str], digits: int = 3) -> pd.DataFrame:
    """A display copy: the ``keep`` columns, then each interval column as one
    ``estimate [low, high]`` text column (the CSV keeps the numbers)."""
    shown = table[keep].copy()
    for column in columns:
        shown[f"{column} [95% CI]"] = [ci_text(row, column, digits) if pd.notna(row[column]) else ""
                                       for _, row in table.iterrows()]
    return shown


def ensemble_vs_members_text(study: Study, name: str) -> str:
    """An ensemble's in-domain AUC against each of its members' (paired group-bootstrap
    differences), and which members rank fakes below reals: such a member adds evidence
    with the wrong sign, so it pulls an average toward chance instead of adding a view."""
    diffs = [f"{study.boot.in_domain.interval({name: 1.0, m: -1.0})} against {m} alone "
             f"({study.boot.auc(m, 'in').estimate:.3f})" for m in study.members[name]]
    text = f"In-domain, {name} reaches {study.boot.auc(name, 'in')}; it differs by " + ", and by ".join(diffs) + ". "
    inverted = [m for m in study.members[name] if study.boot.auc(m, "in").high < CHANCE]
    if inverted:
        text += (f"Of its members, {', '.join(inverted)} ranks fakes below reals (in-domain interval below 0.5), "
                 "so averaging it in adds evidence with the wrong sign and pulls the ensemble toward chance. ")
    return text


def threshold_transfer(table: pd.DataFrame, max_fpr: float, min_recall: float) -> str:
    """What the conservative and sensitive thresholds of one scorer promise on
    validation and what they keep on each test set, as a sentence (``table``: that
    scorer's rows of :func:`analysis.metrics.threshold_table`). A target missed in-domain
    is a validation set too small or unlike the test set, not a shift across domains."""
    rows = table.set_index(["threshold option", "set"])

    def kept(option: str, column: str, ok) -> str:
        values = {s: rows.loc[(option, f"{s} test"), column] for s in ("in-domain", "cross-domain")}
        held = [s for s, v in values.items() if ok(v)]
        verdict = ("keeps it on both test sets" if len(held) == 2 else "misses it on both test sets" if not held
                   else f"keeps it only {held[0]}")
        return f"{verdict} ({values['in-domain']:.3f} in-domain, {values['cross-domain']:.3f} cross-domain)"

    conservative = (f"The conservative threshold, set for a false-positive rate of at most {max_fpr:.0%} on "
                    f"validation, {kept('conservative', 'false positive rate', lambda v: v <= max_fpr)}")
    if rows.loc[("conservative", "cross-domain test"), "recall"] == 0:
        conservative += ", but only by flagging no fake across domains (recall 0)"
    sensitive = (f"the sensitive threshold, set for a recall of at least {min_recall:.0%}, "
                 f"{kept('sensitive', 'recall', lambda v: v >= min_recall)}")
    return f"{conservative}; {sensitive}."


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


def card_assumptions() -> dict[str, float]:
    """What model card 000 implies for a power analysis, in the primary endpoint's own
    contrast: its soft vote's change in gap against the mean of its five members (``claimed
    effect``); the change against its best single model, which the card itself quotes
    (``claimed effect vs best single``); and the members' mean in-domain and cross-domain AUCs."""
    table = published_table()
    five = table[(table["card"] == CARD_000) & table["model"].isin(ensembles.CARD_000_FIVE)]
    single = published_value("vit_b16 (best single model)", "in-domain minus cross-domain AUC")
    vote = published_value("soft-vote ensemble of the five", "in-domain minus cross-domain AUC")
    in_domain = five["test set"].str.startswith("FF++")  # FF++ is the card's training domain
    auc_in = float(five.loc[in_domain, "published value"].mean())
    auc_cross = float(five.loc[~in_domain, "published value"].mean())
    return {"claimed effect": (auc_in - auc_cross) - vote, "claimed effect vs best single": single - vote,
            "auc in": auc_in, "auc cross": auc_cross}


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


def incomplete_warning(runs: pd.DataFrame) -> str:
    """The results page's warning (HTML) about runs the hang guard stopped (:func:`incomplete_runs`)."""
    listed = ", ".join(f"{m} (training seed {s})" for m, s in zip(runs["model"], runs["training seed"]))
    return ('<div class="admonition warning"><p class="admonition-title">Incomplete runs</p>'
            f"<p>The hang guard stopped {listed} before the epochs the recipe fixes. Their scores are not the "
            "recipe's: the verdict below reads no comparison that involves them.</p></div>")


def seed_sentence(spread: pd.DataFrame, source: pd.DataFrame) -> str:
    """Where the seed spread on the results page comes from: this build's seeds, a stored
    several-seed run (``source``: the ``seed_source`` table), or nowhere."""
    n_seeds, where = int(spread["seeds"].max()), source.iloc[0]
    if n_seeds > 1 and where["source"] == "stored run":
        return (f"This build trained one seed per detector. The table is from a stored run of the same profile "
                f"with {n_seeds} training seeds (data seed {int(where['data seed'])}, {where['date']}, commit "
                f"{where['commit']}; commands: {where['commands']}): how far each headline number moves when the "
                "detectors are retrained. The bootstrap intervals above hold the trained detectors fixed, so read both.")
    if n_seeds > 1:
        return (f"Across the {n_seeds} training seeds of this build, the headline numbers spread as in the table; "
                "the bootstrap intervals hold the trained detectors fixed, so read both.")
    return ("This build trained one seed per detector, so how much the numbers move with the training seed was not "
            "assessed: the intervals above hold the trained detectors fixed. Build with "
            'make book RUN_ARGS="-o seeds=[0,1,2]" to measure it.')


def built_data_seed(profile: str) -> int | None:
    """The data seed the profile's runs were built with (its resolved ``profile.json``)."""
    path = run_dir(profile) / "profile.json"
    return json.loads(path.read_text())["data"]["seed"] if path.is_file() else None


def write_results(profile: str, n_resamples: int = N_RESAMPLES, seed: int = 0, models_dir: Path | None = None,
                  folder: Path | None = None) -> dict[str, pd.DataFrame]:
    """Compute the study's headline tables for every training seed and write them as
    CSV (:data:`RESULT_FILES`, under ``results/summary``) for the results page: primary
    endpoint, power, gaps, the secondary families and their adjusted counts, agreement
    with its baseline, the verdict, the spread across training seeds, and the primary
    ensemble's gap per kind of shift (from the profile's manifest, for the profile's own
    runs only: runs from elsewhere need not come from its benchmark)."""
    from analysis.data import sources

    models_dir = Path(models_dir or profile_models_dir(profile))
    own = models_dir.resolve() == Path(profile_models_dir(profile)).resolve()
    manifest = sources.study_manifest(profile) if own else None
    studies = load_seeds(profile, n_resamples, seed, models_dir)
    first = next(iter(studies.values()))
    card = card_assumptions()
    primary = primary_endpoint(first)
    power_row = power_table(first, card["claimed effect"], card["auc in"], card["auc cross"], n_resamples)
    families = family_table(first, subset_names(first))
    agreement_rows = []
    for domain in ("source", "target"):
        for group_name, group in (("card 000's five", first.five), ("all models", first.models)):
            pairs, agreement = diversity_tables(first, group, domain, seed=seed)
            agreement_rows.append({"models": group_name, "set": pairs["set"].iloc[0], **agreement})
    spread = seed_spread(studies, [first.primary, *first.models])
    stored = seed_runs.read(profile) if len(studies) == 1 and own else None
    if stored is not None and stored[1]["data seed"] != built_data_seed(profile):
        stored = None  # another draw of the benchmark: its seeds' spread is not this build's
    if stored is not None:
        values, meta = stored
        spread = seed_runs.spread(values)
        retrain = retrain_text(spread, f"a stored run of {meta['date']}, data seed {meta['data seed']}")
        source = {"source": "stored run", "date": meta["date"], "commit": meta["commit"][:12],
                  "data seed": meta["data seed"], "commands": "; ".join(meta["commands"])}
    else:
        retrain = retrain_text(spread, "this build")
        source = {"source": "this build", "date": "", "commit": "", "data seed": None, "commands": ""}
    tables = {
        "primary_endpoint": primary, "power": power_row, "gap": gap_table(first, headline_names(first)),
        "secondary_families": families, "family_counts": family_counts(families),
        "agreement": pd.DataFrame(agreement_rows),
        "verdict": pd.DataFrame([{"verdict": trust_verdict(first, primary, power_row, len(studies), retrain)}]),
        "seed_spread": spread,
        "primary_per_shift": primary_per_shift(first, manifest, n_resamples, seed),
        "five_vs_best_member": five_against_best_member(first),
        "incomplete_runs": incomplete_runs(first),
        "seed_source": pd.DataFrame([source]),
        "fit_gate": first.gate,
        "paired_changes": paired_changes(first, primary),
    }
    out = Path(folder or results_dir(profile) / SUMMARY_DIR)
    for name, table in tables.items():
        save_table(table, out, name)
    return tables


def results_code() -> list[Path]:
    """Every module the summary runs: the statistics and the study (this package), the
    planning constants and the benchmark's kinds of shift it reads."""
    from analysis.benchmark import shifts, sizing

    return [*sorted(Path(__file__).parent.glob("*.py")), Path(shifts.__file__), Path(sizing.__file__)]


def summary(profile: str, n_resamples: int = N_RESAMPLES, seed: int = 0, models_dir: Path | None = None,
            folder: Path | None = None) -> dict[str, pd.DataFrame]:
    """The tables :func:`write_results` wrote, by name; recomputed first when any module
    it runs (:func:`results_code`), scores table, run record, stored seed run or setting
    changed since (or they were never written). The ``results`` stage of ``run`` calls it."""
    from analysis.run import build_if_stale, fingerprint

    models_dir = models_dir or profile_models_dir(profile)
    out = Path(folder or results_dir(profile) / SUMMARY_DIR)
    inputs = [*results_code(), *sorted(Path(models_dir).rglob("scores.csv")), *sorted(Path(models_dir).rglob("record.json")),
              seed_runs.STORED_DIR / f"{profile}_seeds.csv", run_dir(profile) / "profile.json"]
    expected = fingerprint(inputs, {"models_dir": str(models_dir), "n_resamples": n_resamples, "seed": seed})
    build_if_stale(out, expected, lambda: write_results(profile, n_resamples, seed, models_dir, out),
                   outputs=tuple(f"{name}.csv" for name in RESULT_FILES))
    return {name: pd.read_csv(out / f"{name}.csv") for name in RESULT_FILES}
