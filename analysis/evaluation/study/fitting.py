"""Fitting the study of one profile: read every run's scores (the one table the ``scores``
stage writes) and records, fit the ensembles on source validation videos and the paired
group bootstraps on validation and the test sets.

Everything the study's tables read comes from one :class:`Study`; fitting one takes
seconds to minutes (about a hundred ensembles and two bootstraps), which is why only the
``results`` stage does it (:mod:`analysis.evaluation.study.results`).

**Interpretability gate** (DESIGN.md, rule 14): a gap is read only for a detector whose
in-domain interval lies above 0.5; a change in gap only when both sides pass. Otherwise
the tables say "not interpretable".
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from analysis import paths
from analysis.errors import UserInputError
from analysis.evaluation import ensembles, fit_gate, metrics
from analysis.evaluation.bootstrap import N_RESAMPLES, GapBootstrap, Interval, SetBootstrap, mean_of
from analysis.evaluation.scores_table import read_scores
from analysis.models.registry import ONE_CLASS, list_models
from analysis.training.run_record import read_records

CHANCE = 0.5
CARD_000_FIVE = tuple(list_models(card="000"))  # the five detectors of model card 000 (the registry's cards)
ONE_CLASS_PAIR = tuple(list_models(schedule=ONE_CLASS))  # model card 001's two scorers


PRIMARY_KIND = "soft_vote"


INTERPRETABLE, NOT_INTERPRETABLE = "interpretable", "not interpretable"


NO_CLEAR_BEST = "none (validation intervals overlap)"


def short_label(name: str, members) -> str:
    """An ensemble's display name with card 000's five named, not listed, from its full
    name and members (a table's ``ensemble`` and ``members``, ``+``-joined or a list)."""
    members = set(members.split("+") if isinstance(members, str) else members)
    return f"{name.split('(')[0]}(card 000's five)" if members == set(CARD_000_FIVE) else name


def load_scores(run_dir: Path) -> tuple[pd.DataFrame, dict[str, dict]]:
    """Every run's scores in one long table, the one the ``scores`` stage wrote in a
    profile's run folder ``run_dir`` (``runs/<profile>``), and one run record per model
    from its runs: a model's record lists under ``incomplete_seeds`` the training seeds
    whose run the hang guard stopped before its fixed epochs."""
    table, models = Path(run_dir) / paths.SCORES_FILE, Path(run_dir) / paths.MODELS
    scores, records = read_scores(table), {}
    runs = read_records(models)
    for record in runs:
        records.setdefault(record["model"], {**record, "incomplete_seeds": []})
        if not record["complete"]:
            records[record["model"]]["incomplete_seeds"].append(int(record["seed"]))
    scored = set(scores[["model", "seed"]].drop_duplicates().itertuples(index=False, name=None))
    trained = {(record["model"], int(record["seed"])) for record in runs}
    if scored != trained:
        raise UserInputError(f"The scores table {table} does not hold the runs in {models}: runs without scores "
                             f"{sorted(trained - scored)}, scores without a run {sorted(scored - trained)}; rebuild "
                             "it with `python -m analysis run --only scores`.")
    return scores, records


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
        return [m for m in CARD_000_FIVE if m in self.models]

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
        if members == set(CARD_000_FIVE):
            return short_label(name, members)
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


def _ensemble_specs(models: list[str], one_class: list[str]) -> list[tuple[str, tuple[str, ...]]]:
    """Every subset of card 000's five under every combiner, the full zoo under every
    combiner, and card 001's one-class pair as its own ``mean_z`` ensemble."""
    five = [m for m in CARD_000_FIVE if m in models]
    specs = [(kind, members) for members in ensembles.subsets(five) if len(members) > 1 for kind in ensembles.KINDS]
    zoo = tuple(models)
    if len(zoo) > len(five):
        specs += [(kind, zoo) for kind in ensembles.KINDS]
    pair = tuple(m for m in ONE_CLASS_PAIR if m in one_class)
    if len(pair) == 2:
        specs.append(("mean_z", pair))
    return specs


def training_seeds(scores: pd.DataFrame) -> list[int | None]:
    """The training seeds present in a scores table (``[None]`` without a seed column)."""
    return sorted(scores["seed"].unique().tolist()) if "seed" in scores.columns else [None]


def load_study(profile: str, n_resamples: int = N_RESAMPLES, seed: int = 0, run_dir: Path | None = None,
               training_seed: int | None = None, loaded: tuple[pd.DataFrame, dict] | None = None) -> Study:
    """Read the runs of one training seed (default: the first) from a profile's run folder
    (default ``runs/<profile>``: :func:`load_scores`), fit the ensembles on validation and
    the paired group bootstraps on validation and the test sets."""
    scores, records = loaded or load_scores(run_dir or paths.run_dir(profile))
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
    gate = fit_gate.fit_gate({m: records[m] for m in models}, lambda m: val_boot.interval({m: 1.0}), one_class)
    return Study(profile, everything, records, models, one_class, members, kinds, fitted, boot, val_boot,
                 training_seed, dict(wide), gate)


def load_seeds(profile: str, n_resamples: int = N_RESAMPLES, seed: int = 0, run_dir: Path | None = None,
               seeds: list[int] | None = None) -> dict[int | None, Study]:
    """One :class:`Study` per training seed: ``seeds``, or every seed in the scores table."""
    loaded = load_scores(run_dir or paths.run_dir(profile))
    present = training_seeds(loaded[0])
    missing = sorted(set(seeds or []) - set(present))
    if missing:
        raise ValueError(f"training seeds {missing} are not in the scores tables; they hold {present}.")
    return {s: load_study(profile, n_resamples, seed, training_seed=s, loaded=loaded) for s in (seeds or present)}


def ci_columns(prefix: str, interval: Interval) -> dict[str, float]:
    return {prefix: interval.estimate, f"{prefix} low": interval.low, f"{prefix} high": interval.high}
