"""The results page's answer box: question 2 in one sentence, the counts behind question
1's bar, and the caveats line's clauses (training seeds, the endpoint pooled over them,
the domains' mix of methods), each built from the rows of the results stage's tables."""

from __future__ import annotations

import pandas as pd

from analysis.evaluation.study import seed_runs
from analysis.evaluation.study.fitting import INTERPRETABLE
from analysis.evaluation.study.text import ci_text, seeds_agree_text


def best_bar_counts(against: pd.DataFrame) -> tuple[int, int, int]:
    """Of the ensembles of all five (one per combiner, :func:`five_against_best_member`'s
    cross-domain rows), how many score measurably above and below the clear best member
    across domains (max-T intervals), and how many there are."""
    change = against[against["family"] == "cross-domain change vs clear best member"]
    return int((change["low"] > 0).sum()), int((change["high"] < 0).sum()), len(change)


def q2_answer(row: pd.Series, mde: float, name: str) -> str:
    """Question 2 in one sentence, from the primary endpoint's row: the direction, the
    estimate with its interval, the cross-domain change beside it (a wider gap with a higher
    cross-domain AUC is not worse generalization), and the MDE (``mde``) in words."""
    if row["read"] != INTERPRETABLE:
        return "Not answered on this build: the primary endpoint is not interpretable (the caveats say why)."
    low, high = row["gap change low"], row["gap change high"]
    answer = "No" if low > 0 else "Yes" if high < 0 else "Not measurably"
    moves = "widens" if row["gap change"] > 0 else "narrows"
    cross = row["cross-domain AUC change"]
    gains = (" (so the ensemble gains across domains too, only less than in-domain: a wider gap here is not worse "
             "generalization)" if row["gap change"] > 0 and row["cross-domain AUC change low"] > 0 else "")
    return (f"{answer}: {name} {moves} the gap (in-domain minus cross-domain AUC) by "
            f"{ci_text(row, 'gap change')} against its members' mean, while its cross-domain AUC "
            f"{'rises' if cross > 0 else 'changes'} by {ci_text(row, 'cross-domain AUC change')}{gains}; these test sets "
            f"detect a change in gap of {mde:.3f} or more with 80 % power (the MDE: 2.8 times this build's bootstrap SE "
            "of the change).")


def _digits_apart(value: float, low: float, high: float, most: int = 6) -> int:
    """Decimals (at least 3) that print ``value`` apart from both ends of a range it lies
    outside: at 3 decimals 0.0505 and a range ending at 0.0500 would both read +0.050."""
    for digits in range(3, most + 1):
        if f"{value:.{digits}f}" not in (f"{low:.{digits}f}", f"{high:.{digits}f}"):
            return digits
    return most


def seed_caveat(spread: pd.DataFrame, source: pd.DataFrame, endpoint: pd.DataFrame,
                same_seed: pd.DataFrame | None = None, training_seed: int = 0) -> str:
    """The caveats line's clause on training seeds: how many stand behind this build, and
    whether this build's endpoint lies inside the seed range of a stored several-seed run
    (``spread``, ``source``: the seed tables; ``endpoint``: the primary endpoint table). A
    stored run made before the fit gate has only the all-five version, so that is compared.
    With the stored run's per-seed values (``same_seed``: seed, quantity, value), the clause
    also gives its value at this build's ``training_seed`` when the two differ: the same
    seed on another machine is another training run."""
    n_seeds, where = int(spread["seeds"].max()), source.iloc[0]
    if n_seeds < 2:
        return "one training seed and no stored several-seed run: how far a retrain moves the endpoint is unknown"
    if where["source"] != "stored run":
        return f"{n_seeds} training seeds in this build (their spread is in the seed table)"
    table = spread.set_index("quantity")
    if seed_runs.PRIMARY_GAP in table.index:
        row, mine, which = table.loc[seed_runs.PRIMARY_GAP], endpoint.iloc[0], "primary"
    else:
        row, mine, which = table.loc[seed_runs.ALL_FIVE_GAP], endpoint.iloc[-1], "all-five"
    value = mine["gap change"]
    inside = row["min"] <= value <= row["max"]
    digits = _digits_apart(value, row["min"], row["max"]) if not inside else 3
    text = (f"one training seed here; a stored {n_seeds}-seed run ({where['date']}) puts the {which} gap change "
            f"at {row['min']:+.{digits}f} to {row['max']:+.{digits}f}, and this build's {value:+.{digits}f} lies "
            + ("inside that range" if inside else "outside it: builds differ by more than those seeds do"))
    if same_seed is not None:
        quantity = seed_runs.PRIMARY_GAP if which == "primary" else seed_runs.ALL_FIVE_GAP
        stored = seed_runs.value_at(same_seed, training_seed, quantity)
        if stored is not None and f"{stored:+.3f}" != f"{value:+.3f}":
            text += f" (its training seed {training_seed}, this build's, gave {stored:+.3f} on another machine)"
        elif stored is not None:
            text += f" (its training seed {training_seed} is this build's own, so that much is by construction)"
    if which == "primary":
        text += _members_clause(table, where, endpoint, inside)
    return text


def _members_clause(table: pd.DataFrame, where: pd.Series, endpoint: pd.DataFrame, primary_inside: bool) -> str:
    """Where this build's fit gate chose other members than the stored run's did (its
    ``stored primary`` and ``primary here``), the two primaries are different ensembles:
    say so, and compare the soft vote of all five, the same ensemble in both (``primary_inside``:
    whether this build's primary lay inside the stored range)."""
    stored, here = where.get("stored primary"), where.get("primary here")
    if not isinstance(stored, str) or not isinstance(here, str) or stored == here:
        return ""
    text = (f". The two primaries are different ensembles, though: the fit gate chose other members here "
            f"(this build's {here}, the stored run's {stored})")
    if seed_runs.ALL_FIVE_GAP not in table.index:
        return text
    row, value = table.loc[seed_runs.ALL_FIVE_GAP], endpoint.iloc[-1]["gap change"]
    inside = row["min"] <= value <= row["max"]
    return text + (f"; the soft vote of all five, the same ensemble in both, changes the gap by {value:+.3f} here "
                   f"against {row['min']:+.3f} to {row['max']:+.3f} in the stored run"
                   + (", inside that run's range" if inside else ", outside that run's range"
                      + ("" if primary_inside else " too")))


def like_for_like_caveat(mix: pd.DataFrame, per_shift: pd.DataFrame | None = None) -> str:
    """The caveats line's clause on the domains' mix of methods, from the primary endpoint
    per reading (:func:`~analysis.evaluation.study.method_mix.like_for_like_tables`) and,
    where the target has subsets, per kind of shift (``per_shift``)."""
    from analysis.evaluation.study import method_mix

    rows = mix.set_index("reading")
    if method_mix.SOURCE_MIX not in rows.index:
        return "the two test sets share no manipulation method, so the gap mixes a change of method with the domain"
    like, pooled = rows.loc[method_mix.SOURCE_MIX], rows.loc[method_mix.POOLED]
    text = (f"like for like (the target's fakes reweighted to the source's mix of methods) the members' mean gap is "
            f"{ci_text(like, 'reference gap')} against {ci_text(pooled, 'reference gap')} pooled, and the soft "
            f"vote's change of it {ci_text(like, 'gap change')}")
    if like["reference gap low"] <= 0 < pooled["reference gap low"]:
        text += (": on the methods both domains hold, against the target's reals of every capture, the target is "
                 "not measurably harder")
    if per_shift is not None and not per_shift.empty:
        text += ("; per kind of shift, against reals of its own capture, the members' mean gap is "
                 + ", ".join(f"{ci_text(row, 'reference gap')} on {row['subset']}" for _, row in per_shift.iterrows()))
    return text


def pooled_seed_text(pooled: pd.DataFrame) -> str:
    """The gap change pooled over training seeds (:func:`~analysis.evaluation.study.seed_runs.
    pooled_endpoint`), in a clause; empty without a pooled row."""
    if pooled is None or pooled.empty:
        return ""
    row = pooled.iloc[0]
    agree = seeds_agree_text(row)
    return (f"pooled over those {int(row['seeds'])} training seeds, with the between-seed variance added, the "
            f"{row['analysis']} gap change is {ci_text(row, 'gap change')} ({seed_runs.POOLED_INTERVAL}; {agree})")
