"""How much the headline numbers move with the training seed.

The bootstrap intervals hold the trained detectors fixed; another training seed moves
them too (DESIGN rule 16). A build with several seeds measures that itself. The default
build trains one seed, so a three-seed run of the same profile, data seed and code is
stored with the book (``book/stored/<profile>_seeds.csv`` and its ``.json``: the commands
that made it, its date and commit) and read beside every one-seed build.

    python -m analysis run --profile cpu -o "seeds=[0,1,2]"
    python -m analysis results --profile cpu --store-seeds
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import datetime, timezone
from pathlib import Path

import numpy as np
import pandas as pd
from scipy import stats

from analysis.evaluation.study.endpoints import endpoint_row, gap_table, primary_endpoint
from analysis.paths import STORED_DIR

PRIMARY_GAP, PRIMARY_CROSS = "primary: gap change vs mean member", "primary: cross-domain AUC change"
MEMBERS_GAP = "members' mean gap"
POOLED_INTERVAL = "a t interval with Satterthwaite degrees of freedom"  # what pooled_endpoint gives, as pages name it
# the same three for the soft vote of all five (the sensitivity analysis beside the fit gate;
# a stored run made before the gate has only these)
ALL_FIVE_GAP, ALL_FIVE_CROSS = "all five: gap change vs mean member", "all five: cross-domain AUC change"
ALL_FIVE_MEMBERS_GAP = "all five: members' mean gap"
COLUMNS = ("in-domain AUC", "cross-domain AUC", "gap")
STORED_PRIMARY = "the stored run's primary"  # its rows' name where it is another ensemble (:func:`named_primary`)
BUILD = "this build"  # the column beside a stored run's spread (:func:`beside_build`)
NOT_HERE = "not computed: this build has no ensemble of the stored run's primary's members"
SE = " bootstrap SE"  # suffix of a gap change's per-seed standard error (its " low" and " high" too)
POOLED_COLUMNS = ["analysis", "seeds", "estimates", "gap change", "gap change low", "gap change high", "test-set SE",
                  "between-seed SD", "pooled SE", "degrees of freedom", "seeds agree", "each seed's interval"]


def quantity(column: str, name: str) -> str:
    return f"{column}: {name}"


def seed_values(studies: dict, names: list[str], primary: str | None = None) -> pd.DataFrame:
    """One row per training seed and headline number: each of ``names``' in-domain AUC,
    cross-domain AUC and gap, the primary endpoint's two changes and the members' mean gap.
    ``primary``: the ensemble whose endpoint fills the primary's three numbers, where it is
    not the study's own (a stored run's primary, set beside this build)."""
    rows = []
    for seed, study in studies.items():
        table = gap_table(study, names).set_index("name")
        for name in names:
            for column in COLUMNS:
                rows.append({"seed": seed, "quantity": quantity(column, study.label(name)),
                             "value": table.loc[name, column]})
        endpoint = primary_endpoint(study)
        first = endpoint.iloc[0] if primary is None else pd.Series(endpoint_row(study, primary))
        for quantities, row in (((PRIMARY_GAP, PRIMARY_CROSS, MEMBERS_GAP), first),
                                ((ALL_FIVE_GAP, ALL_FIVE_CROSS, ALL_FIVE_MEMBERS_GAP), endpoint.iloc[-1])):
            for label, column in zip(quantities, ("gap change", "cross-domain AUC change", "reference gap")):
                rows.append({"seed": seed, "quantity": label, "value": row[column]})
            for end in (" low", " high"):
                rows.append({"seed": seed, "quantity": quantities[0] + end, "value": row["gap change" + end]})
            rows.append({"seed": seed, "quantity": quantities[0] + SE, "value": row["bootstrap SE of gap change"]})
    return pd.DataFrame(rows, columns=["seed", "quantity", "value"])


GAPS = {"primary": PRIMARY_GAP, "all five": ALL_FIVE_GAP}  # pooled_endpoint's analyses and their quantities


def primaries_differ(source: Mapping) -> bool:
    """Whether a stored run's fit gate chose other members for its primary than this
    build's did (``source``: the ``seed_source`` table's row, with ``stored primary`` and
    ``primary here``): the two primaries are then different ensembles, and only the soft
    vote of all five compares."""
    stored, here = source.get("stored primary"), source.get("primary here")
    return isinstance(stored, str) and isinstance(here, str) and stored != here


def endpoint_quantities(source: Mapping) -> list[str]:
    """The rows of a stored run's spread that are this build's endpoint too: the primary's
    and the all-five soft vote's three numbers, or only the latter where the stored run's
    primary is another ensemble (:func:`primaries_differ`)."""
    five = [ALL_FIVE_GAP, ALL_FIVE_CROSS, ALL_FIVE_MEMBERS_GAP]
    return five if primaries_differ(source) else [PRIMARY_GAP, PRIMARY_CROSS, MEMBERS_GAP, *five]


def compared_endpoint(spread: pd.DataFrame, source: Mapping) -> str:
    """The endpoint (a key of :data:`GAPS`) in which a seed spread is read beside this
    build: the primary, unless the run predates the fit gate or its gate chose other members."""
    if PRIMARY_GAP in set(spread["quantity"]) and not primaries_differ(source):
        return "primary"
    return "all five"


def named_primary(spread_table: pd.DataFrame, source: Mapping) -> pd.DataFrame:
    """A stored run's spread with its primary's rows (its AUCs and gap, its endpoint's
    three numbers) named :data:`STORED_PRIMARY` where it is not this build's primary
    (:func:`primaries_differ`): a page that says "primary" means its own build's."""
    if not primaries_differ(source):
        return spread_table
    names = {q: f"{STORED_PRIMARY}: {q.removeprefix('primary: ')}" for q in (PRIMARY_GAP, PRIMARY_CROSS, MEMBERS_GAP)}
    names.update({quantity(column, source["stored primary"]): quantity(column, STORED_PRIMARY) for column in COLUMNS})
    return spread_table.assign(quantity=spread_table["quantity"].replace(names))


def primary_label(values: pd.DataFrame) -> str | None:
    """The label of the primary (fit-gated) ensemble behind per-seed ``values``
    (:func:`seed_values` writes its three numbers before the models'); None where the
    seeds' primaries differ or the run predates the fit gate (it has no primary gap change).
    Another build's gate may admit other members."""
    if PRIMARY_GAP not in set(values["quantity"]):
        return None
    gaps = values.loc[values["quantity"].str.startswith("gap: "), ["seed", "quantity"]]
    labels = set(gaps.groupby("seed", sort=False)["quantity"].first().str.removeprefix("gap: "))
    return labels.pop() if len(labels) == 1 else None


def value_at(values: pd.DataFrame, seed: int, quantity: str) -> float | None:
    """A stored run's value of ``quantity`` at training ``seed``; None if it has none. Equal to
    a build's own (to the pages' three decimals), it says the stored run holds that build's
    training as one of its seeds, so agreeing with it is partly by construction."""
    found = values.loc[(values["seed"] == seed) & (values["quantity"] == quantity), "value"]
    return float(found.iloc[0]) if len(found) else None


def pooled_endpoint(values: pd.DataFrame) -> pd.DataFrame:
    """The gap change pooled over training seeds, per analysis (the primary, fit-gated, and
    all five): the mean of the seeds' estimates, with a 95 % interval whose variance adds the
    between-seed variance of that mean (SD^2 / k) to the test sets' (the mean of the seeds'
    bootstrap variances: an upper bound, as every seed is scored on the same test sets), on
    a t distribution with Satterthwaite's degrees of freedom (the between-seed part has k - 1).
    ``agree``: every seed's own interval lies on the same side of zero (or every one holds it).
    No row with fewer than two seeds, or for an analysis whose seeds lack bootstrap SEs (a
    run stored before they were kept)."""
    rows = []
    for analysis, name in (("primary", PRIMARY_GAP), ("all five", ALL_FIVE_GAP)):
        wide = values.pivot(index="seed", columns="quantity", values="value")
        needed = [name, name + SE, name + " low", name + " high"]
        if len(wide) < 2 or not set(needed) <= set(wide.columns) or wide[needed].isna().any().any():
            continue
        estimates, k = wide[name], len(wide)
        within, between = float((wide[name + SE] ** 2).mean()), float(estimates.var(ddof=1))
        se = np.sqrt(within + between / k)
        df = (within + between / k) ** 2 / ((between / k) ** 2 / (k - 1)) if between > 0 else np.inf
        half = stats.t.ppf(0.975, df) * se
        sides = {("above" if lo > 0 else "below" if hi < 0 else "holds 0")
                 for lo, hi in zip(wide[name + " low"], wide[name + " high"])}
        rows.append({"analysis": analysis, "seeds": k, "estimates": ", ".join(f"{v:+.3f}" for v in estimates),
                     "gap change": float(estimates.mean()), "gap change low": float(estimates.mean() - half),
                     "gap change high": float(estimates.mean() + half), "test-set SE": np.sqrt(within),
                     "between-seed SD": np.sqrt(between), "pooled SE": se, "degrees of freedom": df,
                     "seeds agree": len(sides) == 1, "each seed's interval": sides.pop() if len(sides) == 1 else
                     "differ"})
    return pd.DataFrame(rows, columns=POOLED_COLUMNS)


def spread(values: pd.DataFrame) -> pd.DataFrame:
    """Mean, SD, min, max and range of each headline quantity across seeds, in first-seen
    order (the per-seed interval ends and SEs kept for :func:`pooled_endpoint` left out)."""
    values = values[~values["quantity"].str.endswith((" low", " high", SE))]
    table = values.groupby("quantity", sort=False)["value"].agg(seeds="count", mean="mean", sd="std", min="min",
                                                                max="max").reset_index()
    return table.assign(range=table["max"] - table["min"])


def outside_range_chance(n_seeds: int) -> float:
    """The chance that one more retrain falls outside the range of ``n_seeds`` (it is as
    likely to be the lowest or the highest of n + 1 as any other)."""
    return 2 / (n_seeds + 1)


def single_build_se(test_se: float, sd: float) -> float:
    """The SE of one build trained once (like the book's own): the test sets' SE with the
    whole between-seed variance added, not the SD^2 / k a mean over k seeds carries."""
    return float(np.sqrt(test_se ** 2 + sd ** 2))


def sd_upper_bound(sd: float, n_seeds: int, level: float = 0.95) -> float:
    """The one-sided ``level`` upper confidence bound on the between-seed SD from ``n_seeds``
    normal retrains, s sqrt((n - 1) / chi2_(1 - level)(n - 1)): with three seeds it is 4.4
    times the estimate, which is how little three seeds pin the SD down."""
    return float(sd * np.sqrt((n_seeds - 1) / stats.chi2.ppf(1 - level, n_seeds - 1)))


def retrain_interval(row: Mapping, level: float = 0.95) -> tuple[float, float]:
    """Where one more retrain's value falls with probability ``level`` if retrains' values
    are normal: the prediction interval mean +- t(n - 1) SD sqrt(1 + 1/n) from a
    :func:`spread` row (a range of n seeds holds the next one only with probability
    :func:`outside_range_chance` of it, so the range alone cannot say a value is out of line)."""
    n = int(row["seeds"])
    half = stats.t.ppf((1 + level) / 2, n - 1) * row["sd"] * np.sqrt(1 + 1 / n)
    return row["mean"] - half, row["mean"] + half


def beside_build(spread_table: pd.DataFrame, here: pd.DataFrame, same_primary: bool = True) -> pd.DataFrame:
    """A stored run's :func:`spread` with this build's own value of each quantity (``here``:
    its one seed's :func:`seed_values`, with the stored run's primary as ``primary`` where
    the two builds' fit gates chose other members) as a :data:`BUILD` column and whether it
    lies in the stored range (``inside``). A build trained on another kind of CPU is in
    effect one more retrain, so the column is read against the range; NaN where this build
    has no such quantity, or, unless ``same_primary``, for the primary's three numbers
    (``here`` holds another ensemble's under the same name)."""
    own = here[~here["quantity"].str.endswith((" low", " high", SE))].drop_duplicates("quantity")
    if not same_primary:
        own = own[~own["quantity"].isin((PRIMARY_GAP, PRIMARY_CROSS, MEMBERS_GAP))]
    value = spread_table["quantity"].map(own.set_index("quantity")["value"])
    inside = (value >= spread_table["min"]) & (value <= spread_table["max"])
    return spread_table.assign(**{BUILD: value, "inside": inside.where(value.notna())})


def reproduced_seed(beside: pd.DataFrame, values: pd.DataFrame, training_seed: int) -> int | None:
    """``training_seed`` when this build (the :data:`BUILD` column of :func:`beside_build`)
    gave every value the stored run's seed of that number gave (``values``: its per-seed
    values), to rounding in the stored file, else None. Such a build lies inside the stored
    range by construction, so its column is not read as one more retrain."""
    stored = values[values["seed"] == training_seed].drop_duplicates("quantity").set_index("quantity")["value"]
    built = beside.set_index("quantity")[BUILD].dropna()
    common = built.index.intersection(stored.index)
    if common.empty:
        return None
    return training_seed if np.allclose(built[common], stored[common], rtol=0, atol=1e-12) else None


def vector_units() -> str:
    """This CPU's vector units as torch's kernels use them (AVX2, AVX512, ...): another kind
    of CPU trains the same seed to other floats, so a build and a stored run name theirs."""
    import torch  # only here: the statistics need no torch

    return torch.backends.cpu.get_cpu_capability()


def store(profile: str, values: pd.DataFrame, data_seed: int, commit: str, folder: Path = STORED_DIR) -> Path:
    """Write a several-seed run's per-seed values and how they were made."""
    seeds = sorted(values["seed"].unique().tolist())
    if len(seeds) < 2:
        raise ValueError(f"a stored seed spread needs at least two training seeds, got {seeds}")
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    values.to_csv(folder / f"{profile}_seeds.csv", index=False)
    meta = {"profile": profile, "training seeds": seeds, "data seed": data_seed, "commit": commit,
            "date": datetime.now(timezone.utc).date().isoformat(),
            "vector units": vector_units(),
            "commands": [f'python -m analysis run --profile {profile} -o "seeds=[{",".join(map(str, seeds))}]"',
                         f"python -m analysis results --profile {profile} --store-seeds"]}
    path = folder / f"{profile}_seeds.json"
    path.write_text(json.dumps(meta, indent=2))
    return path


def read(profile: str, folder: Path = STORED_DIR) -> tuple[pd.DataFrame, dict] | None:
    """The stored per-seed values of ``profile`` and their provenance, if any."""
    path = Path(folder) / f"{profile}_seeds.csv"
    if not path.is_file():
        return None
    meta = json.loads(path.with_suffix(".json").read_text())
    return pd.read_csv(path), meta


def seed_spread(studies: dict, names: list[str]) -> pd.DataFrame:
    """Across training seeds: mean, SD, min, max and range of each headline number, to read
    beside the bootstrap intervals (which hold the trained models fixed)."""
    return spread(seed_values(studies, names))
