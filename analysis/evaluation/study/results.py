"""The ``results`` stage of ``python -m analysis run``: fit the study once, compute every
table the book shows and write each once as CSV under ``runs/<profile>/results/``; rebuilt
only when a module it runs, its inputs or its settings change (:func:`summary`)."""

from __future__ import annotations

import json
from concurrent.futures import ProcessPoolExecutor
from dataclasses import asdict
from multiprocessing import get_context
from pathlib import Path

import pandas as pd

from analysis.evaluation.study.ensemble_diversity import diversity_results, diversity_tables
from analysis.evaluation.study.endpoints import (family_counts, family_table, five_against_best_member, gap_table,
                                                 headline_names, incomplete_runs, paired_changes, primary_endpoint,
                                                 subset_names)
from analysis.evaluation.study.anomaly_tables import anomaly_results
from analysis.evaluation.study.fitting import Study, load_seeds
from analysis.evaluation.study.gap_tables import best_member_power, gap_results
from analysis.evaluation.study.method_mix import like_for_like_tables
from analysis.evaluation import group_counts
from analysis.evaluation.scores_table import check_against_manifest
from analysis.evaluation.study import seed_runs
from analysis.evaluation.study.power_tables import card_assumptions, power_table, simultaneous_gate
from analysis.evaluation.study.shift_tables import primary_per_shift
from analysis.evaluation.study.text import retrain_text
from analysis.evaluation.study.verdict import trust_verdict
from analysis.errors import UserInputError
from analysis import paths
from analysis.paths import RESULTS, SUMMARY  # noqa: F401  (RESULTS: callers' name)
from analysis.profiles import Analysis, built_profile

# the CSV files write_results puts under runs/<profile>/results/summary/ (the results page reads them)
SUMMARY_DIR = SUMMARY  # the results page's tables, inside the stage's folder
RESULT_FILES = ("primary_endpoint", "power", "gap", "secondary_families", "family_counts", "agreement",
                "verdict", "seed_spread", "primary_per_shift", "five_vs_best_member", "incomplete_runs", "seed_source",
                "fit_gate", "paired_changes", "best_member_power", "simultaneous_gate", "group_counts",
                "like_for_like_primary", "seed_pooled")


def save_table(table: pd.DataFrame, folder: Path, name: str) -> pd.DataFrame:
    """Write ``<folder>/<name>.csv`` and return the table."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    table.to_csv(folder / f"{name}.csv", index=False)
    return table


def built_data_seed(profile: str) -> int | None:
    """The data seed the profile's runs were built with (its resolved ``profile.json``)."""
    path = paths.profile_file(profile)
    return json.loads(path.read_text())["data"]["seed"] if path.is_file() else None


def is_own(profile: str, run_dir: Path) -> bool:
    """Whether ``run_dir`` is the profile's own run folder (not runs from elsewhere)."""
    return Path(run_dir).resolve() == paths.run_dir(profile).resolve()


def own_manifest(profile: str, run_dir: Path) -> list[Path]:
    """The profile's study manifest (its target subsets split the endpoint by kind of shift),
    for the profile's own runs only: runs from elsewhere need not come from its benchmark."""
    from analysis.data import sources

    return [sources.study_manifest(profile)] if is_own(profile, run_dir) else []


def write_results(profile: str, settings: Analysis = Analysis(), run_dir: Path | None = None,
                  folder: Path | None = None) -> dict[str, pd.DataFrame]:
    """Compute every table of the book for every training seed and write each once as CSV:
    the results page's headline tables under ``results/summary`` (:data:`RESULT_FILES`:
    primary endpoint, power, gaps, the secondary families and their adjusted counts,
    agreement with its baseline, the verdict, the spread across training seeds, the primary
    ensemble's gap per kind of shift from the profile's manifest), and the chapters' own
    tables under ``results`` (:func:`chapter_tables`). The scores and run records come from
    the profile's run folder ``run_dir`` (default ``runs/<profile>``: the ``scores``
    stage's table and the runs' records, :func:`~analysis.evaluation.study.fitting.load_scores`).
    The chapters' tables are computed in a spawned process: a script that calls this needs
    the ``if __name__ == "__main__":`` guard of :mod:`multiprocessing`."""
    run_dir = Path(run_dir or paths.run_dir(profile))
    own = is_own(profile, run_dir)
    manifest = next(iter(own_manifest(profile, run_dir)), None)
    n_resamples, seed = settings.n_resamples, settings.seed
    # the resolved profile's training seeds: runs of other seeds in its folder (a stored
    # several-seed run's) are not this build's; without one (runs copied from elsewhere), all
    resolved = own and paths.profile_file(profile).is_file()
    studies = load_seeds(profile, n_resamples, seed, run_dir, seeds=built_profile(profile).seeds if resolved else None)
    first = next(iter(studies.values()))
    if manifest is not None and manifest.is_file():  # every seed scored the same videos
        check_against_manifest(first.scores, pd.read_csv(manifest, dtype=str, keep_default_na=False),
                               origin=str(manifest))
    with ProcessPoolExecutor(1, mp_context=get_context("spawn")) as pool:
        # the chapters' own tables, a third of the stage's work, in a process of their own
        # meanwhile: the same tables, the stage 20 s instead of 34-42 (2 cores, probe 95)
        chapters = pool.submit(chapter_tables, first, settings, pd.read_csv(manifest) if manifest is not None else None)
        tables, like_for_like = summary_tables(profile, studies, own, manifest, settings)
        chapters = {**chapters.result(), "like_for_like": like_for_like}
    out = Path(folder or paths.results_dir(profile))
    for name, table in tables.items():
        save_table(table, out / SUMMARY_DIR, name)
    for name, table in chapters.items():
        save_table(table, out, name)
    return {**tables, **chapters}


def summary_tables(profile: str, studies: dict[int | None, Study], own: bool, manifest: Path | None,
                   settings: Analysis) -> tuple[dict[str, pd.DataFrame], pd.DataFrame]:
    """The results page's tables (:data:`RESULT_FILES`) by name, from the first training
    seed's study and the spread over ``studies`` (or the stored several-seed run's), and the
    like-for-like table of the chapters, computed with them."""
    first = next(iter(studies.values()))
    n_resamples, seed = settings.n_resamples, settings.seed
    card = card_assumptions()
    primary = primary_endpoint(first)
    power_row = power_table(first, card["claimed effect"], card["auc in"], card["auc cross"], n_resamples)
    families = family_table(first, subset_names(first))
    agreement_rows = []
    for domain in ("source", "target"):
        for group_name, group in (("card 000's five", first.five), ("all models", first.models)):
            pairs, agreement = diversity_tables(first, group, domain, settings.n_permutations, seed)
            agreement_rows.append({"models": group_name, "set": pairs["set"].iloc[0], **agreement})
    values = here = seed_runs.seed_values(studies, [first.primary, *first.models])
    stored = seed_runs.read(profile) if len(studies) == 1 and own else None
    if stored is not None and stored[1]["data seed"] != built_data_seed(profile):
        stored = None  # another draw of the benchmark: its seeds' spread is not this build's
    if stored is not None:
        values, meta = stored
        source = {"source": "stored run", "date": meta["date"], "commit": meta["commit"][:12],
                  "data seed": meta["data seed"], "commands": "; ".join(meta["commands"]),
                  "training seeds": ", ".join(map(str, meta["training seeds"])),
                  "stored primary": seed_runs.primary_label(values), "primary here": first.label(first.primary),
                  "stored vector units": meta.get("vector units"), "vector units here": seed_runs.vector_units()}
        retrain = f"a stored run of {meta['date']}, data seed {meta['data seed']}"
        mine = seed_runs.value_at(values, first.training_seed, seed_runs.PRIMARY_GAP)
        if seed_runs.primaries_differ(source):
            retrain += f", whose fit gate kept another primary, {source['stored primary']}"
        elif mine is not None and f"{mine:+.3f}" == f"{primary.iloc[0]['gap change']:+.3f}":
            retrain += f": this build's training seed {first.training_seed} and {values['seed'].nunique() - 1} retrained"
    else:
        retrain = "this build"
        source = {"source": "this build", "date": "", "commit": "", "data seed": None, "commands": ""}
    spread, pooled = seed_runs.spread(values), seed_runs.pooled_endpoint(values)
    if stored is not None:
        same = not seed_runs.primaries_differ(source)
        theirs = next((n for n in first.kinds if first.label(n) == source["stored primary"]), None)
        if not same and theirs is not None:  # the stored run's primary, as this build scores it
            here = seed_runs.seed_values(studies, [first.primary, theirs, *first.models], primary=theirs)
        spread = seed_runs.beside_build(spread, here, same_primary=same or theirs is not None)
        source["reproduced seed"] = seed_runs.reproduced_seed(spread, values, first.training_seed)
    retrain = retrain_text(spread, retrain, pooled, seed_runs.compared_endpoint(spread, source))
    mix = like_for_like_tables(first, [*first.five, first.primary], n_resamples, seed)
    tables = {
        **verdict_tables(first, primary, power_row, mix["like_for_like_primary"]),
        "secondary_families": families, "family_counts": family_counts(families),
        "agreement": pd.DataFrame(agreement_rows),
        "seed_spread": spread, "seed_pooled": pooled,
        "primary_per_shift": primary_per_shift(first, manifest, n_resamples, seed),
        "five_vs_best_member": five_against_best_member(first),
        "seed_source": pd.DataFrame([source]),
        "paired_changes": paired_changes(first, primary),
    }
    tables["verdict"] = pd.DataFrame([{"verdict": trust_verdict(tables, first.training_seed, len(studies), retrain)}])
    return tables, mix["like_for_like"]


def verdict_tables(study: Study, primary: pd.DataFrame, power_row: pd.DataFrame,
                   like_for_like_primary: pd.DataFrame) -> dict[str, pd.DataFrame]:
    """The results page's tables the verdict reads (:func:`trust_verdict`), by file name."""
    return {"primary_endpoint": primary, "power": power_row, "gap": gap_table(study, headline_names(study)),
            "like_for_like_primary": like_for_like_primary,
            "fit_gate": study.gate, "incomplete_runs": incomplete_runs(study),
            "best_member_power": best_member_power(study, power_row), "simultaneous_gate": simultaneous_gate(study),
            "group_counts": group_counts.group_counts(study.scores)}


def chapter_tables(study: Study, settings: Analysis, manifest: pd.DataFrame | None) -> dict[str, pd.DataFrame]:
    """The tables the chapters show beyond the results page's, by file name."""
    return {**anomaly_results(study, settings, manifest), **diversity_results(study, settings),
            **gap_results(study, settings, manifest)}


def results_code() -> list[Path]:
    """Every module the stage runs: the statistics (``analysis.evaluation``), the study (this
    package), the planning constants, the benchmark's kinds of shift, the model registry
    (the study's order of models, which are one-class) and the run records' reader."""
    from analysis.benchmark import shifts, sizing
    from analysis.models import registry
    from analysis.training import run_record

    here = Path(__file__).parent
    return [*sorted(here.parent.glob("*.py")), *sorted(here.glob("*.py")),
            *(Path(m.__file__) for m in (shifts, sizing, registry, run_record))]


def summary(profile: str, settings: Analysis = Analysis(), run_dir: Path | None = None,
            folder: Path | None = None) -> dict[str, pd.DataFrame]:
    """The results page's tables (:data:`RESULT_FILES`), by name, after building the stage:
    every table is recomputed first when any module it runs (:func:`results_code`), the
    scores table, a run record, the stored seed run, the manifest or a setting changed
    since (or they were never written). The ``results`` stage of ``run`` calls it."""
    from analysis.fingerprints import build_if_stale, fingerprint
    from analysis.training.run_record import RECORD_FILE

    run_dir = Path(run_dir or paths.run_dir(profile))
    out = Path(folder or paths.results_dir(profile))
    inputs = [*results_code(), run_dir / paths.SCORES_FILE, *sorted((run_dir / paths.MODELS).rglob(RECORD_FILE)),
              seed_runs.STORED_DIR / f"{profile}_seeds.csv", paths.profile_file(profile),
              *own_manifest(profile, run_dir)]
    expected = fingerprint(inputs, {"run_dir": str(run_dir), **asdict(settings)})
    build_if_stale(out, expected, lambda: write_results(profile, settings, run_dir, out),
                   outputs=tuple(f"{SUMMARY_DIR}/{name}.csv" for name in RESULT_FILES))
    return {name: pd.read_csv(out / SUMMARY_DIR / f"{name}.csv") for name in RESULT_FILES}


def read_results(profile: str, folder: Path | None = None) -> dict[str, pd.DataFrame]:
    """Every table the ``results`` stage wrote, by name (the chapters' reader): the results
    page's (:data:`RESULT_FILES`) and the chapters' own. It computes nothing: without a
    finished stage it says which command builds one."""
    from analysis.fingerprints import STAMP

    out = Path(folder or paths.results_dir(profile))
    if not (out / STAMP).is_file():
        raise UserInputError(f"No results in {out}: build them with `python -m analysis run --profile {profile}` "
                             f"(or `--only results` once its runs are trained).")
    return {path.stem: pd.read_csv(path) for path in sorted([*out.glob("*.csv"), *(out / SUMMARY_DIR).glob("*.csv")])}
