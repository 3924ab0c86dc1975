"""The results page's answer box: both answers in a line, each question in a few short
sentences, the counts behind question 1's bar, and the caveats' clauses (training seeds,
the endpoint pooled over them, the domains' mix of methods), each in full and, for the box,
in one line, built from the rows of the results stage's tables."""

from __future__ import annotations

import pandas as pd

from analysis.evaluation.study import seed_runs
from analysis.evaluation.study.fitting import INTERPRETABLE
from analysis.evaluation.study.text import ci_text, furthest_outside, pooled_gap_clause
from analysis.evaluation.study.verdict import shift_sentence


def stand_in_caveat(profile, models: list[str]) -> str:
    """The caveats line's clause on what the detectors are: where ``profile`` (a
    :class:`~analysis.profiles.Profile`) trains smaller architectures than the cards' (the
    registry's paper variants), at smaller sizes or without pretrained weights, the names
    the pages use are the cards' and the models are not; empty where they are the cards'."""
    from analysis.models import get_spec

    def base(arch: str) -> str:
        return arch.split(".")[0]

    variants = {m: (profile.variant(m), get_spec(m).variant("paper")) for m in models}
    smaller = [f"{m} is {base(mine.arch)}" for m, (mine, card) in variants.items() if base(mine.arch) != base(card.arch)]
    scratch = not any(mine.pretrained for mine, _ in variants.values())
    shrunk = any(mine.input_size < card.input_size for mine, card in variants.values())
    if not (smaller or scratch or shrunk):
        return ""
    sizes = sorted({mine.input_size for mine, _ in variants.values()})
    return ("the detectors carry the cards' names but are smaller stand-ins"
            + (f" ({', '.join(smaller)})" if smaller else "")
            + (", all trained from scratch" if scratch else "")
            + f" on crops of {' or '.join(map(str, sizes))} px (the training chapter's tables give each)")


def gate_brief(gate: pd.DataFrame, sensitivity: pd.DataFrame, members: list[str], left_out: list[str]) -> str:
    """The fit gate in one line, for the answer box: that it came after an earlier build,
    what it left out of card 000's five (``left_out``), the primary's member (``members``)
    closest to its training-loss line, and whether the verdict is the same at every margin
    of the sensitivity table (``sensitivity``; ``gate``: the fit gate's table)."""
    from analysis.evaluation import fit_gate

    text = ("fit gate added after an earlier build; " + ("all five passed it" if not left_out
            else f"the primary endpoint is post hoc: the gate left out {', '.join(left_out)}"))
    line = fit_gate.CHANCE_LOSS - fit_gate.FIT_MARGIN
    losses = gate.set_index("model").loc[members, "lowest training loss"].dropna()
    if len(losses):
        closest = losses.idxmax()
        text += (f", {closest} closest to its line (lowest training loss {losses[closest]:.3f} against "
                 f"{line:.3f})")
    margins = sensitivity.set_index("loss margin")["verdict"]
    low, high = margins.index.min(), margins.index.max()
    if margins.nunique() == 1:
        return text + (f"; the verdict is the same at every loss margin from {low:.2f} to {high:.2f} (the gate "
                       f"uses {fit_gate.FIT_MARGIN:.2f}; the gap page's table)")
    ours = margins.get(fit_gate.FIT_MARGIN)
    other = [f"{m:.2f}" for m, verdict in margins.items() if verdict != ours]
    return text + (f"; the verdict at the gate's loss margin, {fit_gate.FIT_MARGIN:.2f}, is not the one at "
                   f"{', '.join(other)} (margins {low:.2f} to {high:.2f} tried: the gap page's table)")


def best_bar_counts(against: pd.DataFrame) -> tuple[int, int, int]:
    """Of the ensembles of all five (one per combiner, :func:`five_against_best_member`'s
    cross-domain rows), how many score measurably above and below the clear best member
    across domains (max-T intervals), and how many there are."""
    change = against[against["family"] == "cross-domain change vs clear best member"]
    return int((change["low"] > 0).sum()), int((change["high"] < 0).sum()), len(change)


def _combiners(n: int) -> str:
    return f"{n} combiner{'' if n == 1 else 's'}"


def q1_word(against: pd.DataFrame) -> str:
    """Question 1's answer in a word or two, from the ensembles of all five against the clear
    best member (:func:`best_bar_counts`): yes where one scores measurably above it across
    domains, no where every one scores measurably below it, else not measurably (an interval
    that holds 0 is no evidence of no gain)."""
    if against.empty:
        return "Not shown usefully"
    up, down, n_kinds = best_bar_counts(against)
    return "Yes" if up else "No" if down == n_kinds else "Not measurably"


def q1_answer(against: pd.DataFrame, shared: str) -> str:
    """Question 1 in two or three short sentences: the ensembles of all five against the
    member validation names as best, across domains (``against``: the
    ``five_vs_best_member`` table), then the shared errors of card 000's five (``shared``,
    a count in words; the Question 1 section gives how it is made)."""
    if against.empty:
        return (f"{q1_word(against)}: validation names no clear best member to test the ensembles against. Of card "
                f"000's five, {shared}.")
    up, down, n_kinds = best_bar_counts(against)
    best = against["clear best member"].iloc[0]
    if up:
        lead = f"Yes for {_combiners(up)}: {up} of the {n_kinds} ensembles of all five score measurably above {best}"
    else:
        lead = f"{q1_word(against)}: none of the {n_kinds} ensembles of all five scores measurably above {best}"
    below = f"; {down} score measurably below it" if down else ""
    return (f"{lead}, the best member on validation, across domains{below} (max-T over the {n_kinds}). Of card "
            f"000's five, {shared}. Both readings were chosen after earlier builds, so they describe this build "
            "(Question 1 below).")


def q2_word(row: pd.Series) -> str:
    """Question 2's answer in a word or two, from the primary endpoint's row: no where the
    gap change's interval lies above 0 (the ensemble widens the gap), yes where below."""
    if row["read"] != INTERPRETABLE:
        return "Not answered"
    return "No" if row["gap change low"] > 0 else "Yes" if row["gap change high"] < 0 else "Not measurably"


def headline(against: pd.DataFrame, row: pd.Series) -> str:
    """The answer box's first line: both answers with the reason for each in words, before
    any number, for a reader who stops there (``against``: the ``five_vs_best_member``
    table; ``row``: the primary endpoint's)."""
    q1, q2 = q1_word(against), q2_word(row)
    if against.empty:
        why_1 = "Validation names no best member to test the ensembles against"
    else:
        up, best = best_bar_counts(against)[0], against["clear best member"].iloc[0]
        which = f"{up} of the ensembles of all five score" if up > 1 else (
            "1 of the ensembles of all five scores" if up else "No ensemble of all five scores")
        why_1 = f"{which} measurably above {best}, the best member on validation, across domains"
    why_2 = {"No": "The soft vote widens the gap (in-domain minus cross-domain AUC) against its members' mean",
             "Yes": "The soft vote narrows the gap (in-domain minus cross-domain AUC) against its members' mean",
             "Not measurably": "The interval of the soft vote's change in gap against its members' mean holds 0",
             "Not answered": "The primary endpoint is not interpretable"}[q2]
    return (f"Question 1 (descriptive): {q1.lower()}. {why_1}. "
            f"Question 2 (the primary endpoint): {q2.lower()}. {why_2}.")


def q2_answer(row: pd.Series, mde: float, name: str, card: pd.Series | None = None) -> str:
    """Question 2 in a few sentences, from the primary endpoint's row: the direction, the
    estimate with its interval, the cross-domain change beside it (a wider gap with a higher
    cross-domain AUC is not worse generalization), the MDE (``mde``), and where ``card``
    (the power table's row) gives it, card 000's own change scaled to this benchmark, read
    against the interval as a contrast."""
    answer = q2_word(row)
    if row["read"] != INTERPRETABLE:
        return f"{answer} on this build: the primary endpoint is not interpretable (the caveats say why)."
    moves = "widens" if row["gap change"] > 0 else "narrows"
    cross = row["cross-domain AUC change"]
    gains = (" (it gains across domains too, only less than in-domain)"
             if row["gap change"] > 0 and row["cross-domain AUC change low"] > 0 else "")
    return (f"{answer}: {name} {moves} the gap (in-domain minus cross-domain AUC) by "
            f"{ci_text(row, 'gap change')} against its members' mean, while its cross-domain AUC "
            f"{'rises' if cross > 0 else 'changes'} by {ci_text(row, 'cross-domain AUC change')}{gains}; the MDE, "
            f"the smallest change these test sets find with 80 % power, is {mde:.3f}." + _card_contrast(row, card))


def _card_contrast(row: pd.Series, card: pd.Series | None) -> str:
    """Card 000's change in gap, scaled to this benchmark's members' gap, against the
    endpoint's interval: a contrast, since the card measured it on the real datasets."""
    if card is None or pd.isna(card.get("scaled effect")):
        return ""
    scaled = -card["scaled effect"]
    holds = row["gap change low"] <= scaled <= row["gap change high"]
    return (f" Card 000 reports a change of {-card['claimed effect']:+.3f}; scaled to this benchmark's smaller gap it "
            f"would be {scaled:+.3f}, found with probability {card['power at scaled effect']:.2f}, and the interval "
            f"{'holds' if holds else 'excludes'} it (a contrast, not a test of the card's claim).")


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
    (``spread``, ``source``: the seed tables; ``endpoint``: the primary endpoint table), in
    the endpoint both share (:func:`~analysis.evaluation.study.seed_runs.compared_endpoint`):
    the primary, or all five where the stored run predates the fit gate or its gate chose
    other members. With the stored run's per-seed values (``same_seed``: seed, quantity,
    value), the clause also gives its value at this build's ``training_seed`` when the two
    differ: the same seed in another run is another training run."""
    n_seeds, where = int(spread["seeds"].max()), source.iloc[0]
    if n_seeds < 2 or where["source"] != "stored run":
        return seed_brief(spread, source, endpoint)
    table = spread.set_index("quantity")
    quantity, which, row, value, inside, digits = _seed_comparison(spread, where, endpoint)
    text = (f"one training seed here; a stored {n_seeds}-seed run ({where['date']}) puts the {which} gap change "
            f"at {row['min']:+.{digits}f} to {row['max']:+.{digits}f}, and this build's {value:+.{digits}f} lies "
            + ("inside that range" if inside else f"outside it (a fresh seed, exchangeable with the stored {n_seeds}, "
               f"would fall outside their range with probability {seed_runs.outside_range_chance(n_seeds):.2f}: "
               f"it is as likely to be the "
               f"lowest or the highest of {n_seeds + 1} as any other)"))
    if not inside and {"mean", "sd"} <= set(row.index):
        low, high = seed_runs.retrain_interval(row)
        held = low <= value <= high
        text += (f"; the 95 % prediction interval for one more retrain (seeds taken to vary normally; t with "
                 f"{n_seeds - 1} df), {low:+.3f} to {high:+.3f}, " + ("holds it" if held
                 else "does not hold it: the build differs from that run by more than a retrain explains"))
    if same_seed is not None:
        stored = seed_runs.value_at(same_seed, training_seed, quantity)
        if stored is not None and f"{stored:+.3f}" != f"{value:+.3f}":
            units, here = where.get("stored vector units"), where.get("vector units here")
            if isinstance(units, str) and isinstance(here, str) and here != units:
                why = (f"that run's CPU had {units} vector units and this build's {here}, and another kind of CPU "
                       "trains the same seed to other floats from the first step")
            else:
                known = f"that run's CPU had {units} vector units" if isinstance(units, str) else (
                    "that run did not record its CPU")
                why = f"{known}, a CPU of another kind may train the same seed to other floats from the first step"
            commit = where.get("commit")
            since = f", and code changed since its commit {commit} can move it too" if isinstance(commit, str) else ""
            text += (f". Its training seed {training_seed}, this build's, gave {stored:+.3f} in that run, so the same "
                     f"seed, built again, moved by {abs(value - stored):.3f}: {why}{since}; three seeds cannot tell "
                     "such a move from a retrain's")
        elif stored is not None:
            text += f" (its training seed {training_seed} is this build's own, so that much is by construction)"
    if seed_runs.primaries_differ(where) and seed_runs.PRIMARY_GAP in table.index:
        primary = table.loc[seed_runs.PRIMARY_GAP]
        mine = primary.get(seed_runs.BUILD)
        text += (". The all-five soft votes are compared because the two builds' fit gates chose different members, "
                 f"so their primaries are different ensembles: this build's is {where['primary here']}, the stored "
                 f"run's {where['stored primary']} (its gap change {primary['min']:+.3f} to {primary['max']:+.3f} "
                 "across that run's seeds" + (_retrain_clause(primary, mine) if pd.notna(mine) else "") + ")")
    return text


def _seed_comparison(spread: pd.DataFrame, where: pd.Series, endpoint: pd.DataFrame) -> tuple:
    """The stored run's seed range of the endpoint this build shares with it, and this
    build's value: quantity, its name in words, the range's row, the value, whether the
    range holds it, and the decimals that print it apart from the range's ends."""
    analysis = seed_runs.compared_endpoint(spread, where)
    quantity, which = seed_runs.GAPS[analysis], "primary" if analysis == "primary" else "all-five"
    row = spread.set_index("quantity").loc[quantity]
    value = endpoint.iloc[0 if analysis == "primary" else -1]["gap change"]
    inside = row["min"] <= value <= row["max"]
    return quantity, which, row, value, inside, 3 if inside else _digits_apart(value, row["min"], row["max"])


def seed_brief(spread: pd.DataFrame, source: pd.DataFrame, endpoint: pd.DataFrame,
               same_seed: pd.DataFrame | None = None, training_seed: int = 0) -> str:
    """:func:`seed_caveat` in one line, for the answer box: the stored run's range, whether
    it and one more retrain's prediction interval hold this build's value, and, with the
    stored run's per-seed values (``same_seed``), how far this build's own seed moved when
    built again, against the seeds' SD: a build is not a fresh draw of the seed; and how far
    outside the stored ranges this build's detectors lie at most (:func:`furthest_outside`)."""
    n_seeds, where = int(spread["seeds"].max()), source.iloc[0]
    if n_seeds < 2:
        return "one training seed and no stored several-seed run: how far a retrain moves the endpoint is unknown"
    if where["source"] != "stored run":
        return f"{n_seeds} training seeds in this build (their spread is in the seed table)"
    quantity, which, row, value, inside, digits = _seed_comparison(spread, where, endpoint)
    text = (f"one training seed: a stored {n_seeds}-seed run puts the {which} gap change at "
            f"{row['min']:+.{digits}f} to {row['max']:+.{digits}f}, and this build's {value:+.{digits}f} lies "
            f"{'inside' if inside else 'outside'} that range")
    if not inside and {"mean", "sd"} <= set(row.index):
        low, high = seed_runs.retrain_interval(row)
        held = low <= value <= high
        text += (f", {'inside' if held else 'outside'} one more retrain's 95 % prediction interval "
                 f"({low:+.3f} to {high:+.3f})")
    stored = None if same_seed is None else seed_runs.value_at(same_seed, training_seed, quantity)
    if stored is not None and f"{stored:+.3f}" != f"{value:+.3f}":
        sd = f", against the seeds' SD of {row['sd']:.4f}" if "sd" in row.index and pd.notna(row["sd"]) else ""
        text += (f"; in the stored run this build's training seed, {training_seed}, gave {stored:+.3f}, so the same "
                 f"seed built again moved by {abs(value - stored):.3f}{sd} (another kind of CPU, or later code, "
                 "trains it to other floats)")
    furthest = furthest_outside(spread)
    return text + (f"; {furthest}" if furthest else "")


def _retrain_clause(row: pd.Series, value: float) -> str:
    """This build's ``value`` of a stored seed-spread ``row``, read against the row's range
    and one more retrain's prediction interval."""
    inside = row["min"] <= value <= row["max"]
    text = (f"; this build's gap change for that ensemble, {value:+.3f}, lies "
            f"{'inside' if inside else 'outside'} that range")
    if {"mean", "sd"} <= set(row.index):
        low, high = seed_runs.retrain_interval(row)
        held = low <= value <= high
        text += (f" and {'inside' if held else 'outside'} one more retrain's interval, {low:+.3f} to {high:+.3f}"
                 + ("" if held else ": for that ensemble the two builds differ by more than a retrain would"))
    return text


def _like_and_pooled(mix: pd.DataFrame) -> tuple[pd.Series, pd.Series, bool] | None:
    """The like-for-like and the pooled reading of the primary endpoint, and whether the
    members' gap is measurably above zero pooled but not like for like; None where the two
    test sets share no method."""
    from analysis.evaluation.study import method_mix

    rows = mix.set_index("reading")
    if method_mix.SOURCE_MIX not in rows.index:
        return None
    like, pooled = rows.loc[method_mix.SOURCE_MIX], rows.loc[method_mix.POOLED]
    return like, pooled, like["reference gap low"] <= 0 < pooled["reference gap low"]


def like_for_like_caveat(mix: pd.DataFrame, per_shift: pd.DataFrame | None = None) -> str:
    """The caveats line's clause on the domains' mix of methods, from the primary endpoint
    per reading (:func:`~analysis.evaluation.study.method_mix.like_for_like_tables`) and,
    where the target has subsets, per kind of shift (``per_shift``)."""
    read = _like_and_pooled(mix)
    if read is None:
        return like_for_like_brief(mix)
    like, pooled, vanishes = read
    reach = (f" (its interval reaches {like['reference gap high'] / pooled['reference gap']:.0%} of the pooled gap)"
             if vanishes else "")
    text = (f"like for like (the target's fakes reweighted to the source's mix of methods, against the target's reals "
            f"of every capture, studio and outdoor) the members' mean gap is {ci_text(like, 'reference gap')}{reach} "
            f"against "
            f"{ci_text(pooled, 'reference gap')} pooled, and the soft vote's change of it "
            f"{ci_text(like, 'gap change')}")
    if vanishes:
        text = "the members' gap is not measurably above zero on the methods both domains share: " + text
    shifts = shift_sentence(per_shift).strip().rstrip(".")
    return text + (f"; {shifts[0].lower()}{shifts[1:]}" if shifts else "")


def like_for_like_brief(mix: pd.DataFrame) -> str:
    """:func:`like_for_like_caveat` in one line, for the answer box: the members' mean gap
    with the same mix of methods in both domains, against the pooled one."""
    read = _like_and_pooled(mix)
    if read is None:
        return "the two test sets share no manipulation method, so the gap mixes a change of method with the domain"
    like, pooled, vanishes = read
    return (f"like for like (the target's fakes in the source's mix of methods) the members' mean gap is "
            f"{ci_text(like, 'reference gap')}" + (", not measurably above zero" if vanishes else "")
            + f" (on the whole target test set {ci_text(pooled, 'reference gap')}); the soft vote's change of it is "
            f"{ci_text(like, 'gap change')}")


def pooled_seed_text(pooled: pd.DataFrame, analysis: str = "primary", stored: bool = False) -> str:
    """The gap change of ``analysis`` (the endpoint the seed caveat compares) pooled over
    training seeds (:func:`~analysis.evaluation.study.seed_runs.pooled_endpoint`), in a
    clause; the first row without one of ``analysis``, and empty without any. ``stored``:
    the seeds are a stored run's, so this build's value is not among them."""
    if pooled is None or pooled.empty:
        return ""
    rows = pooled[pooled["analysis"] == analysis]
    row = rows.iloc[0] if len(rows) else pooled.iloc[0]
    seeds = f"{int(row['seeds'])} training seeds"
    whose = f"the stored run's {seeds} (this build not among them)" if stored else f"this build's {seeds}"
    return f"pooled over {whose}, with the between-seed variance added, " + pooled_gap_clause(row)
