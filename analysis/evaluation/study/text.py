"""How the study's numbers read: the one interval formatter and the sentences the book
builds from rows of the study's tables (no fitting here, no file reads).

Every interval in the book, tables and prose, reads ``estimate [low, high]`` through
:func:`interval_text`; :func:`ci_text` applies it to one interval column of a table row.
"""

from __future__ import annotations

from collections.abc import Mapping

import pandas as pd

from analysis.evaluation.study import seed_runs
from analysis.evaluation.study.endpoints import ALL_FIVE_ANALYSIS, PRIMARY_ANALYSIS
from analysis.evaluation.study.fitting import CHANCE, INTERPRETABLE, NO_CLEAR_BEST

# the words a sentence classifies with, named so that tests check the class, not the wording
POSITIVE, NEGATIVE, NO_SIGN = "positive", "negative", "not distinguishable from 0"  # an interval's sign
ONE_CLASS_SMALLER, ONE_CLASS_LARGER = "the one-class gap is smaller", "the one-class gap is larger"
ONE_CLASS_UNCLEAR = "the two gaps cannot be told apart"
ONE_CLASS_UNREAD = ("not interpretable: one of the two did not learn in its own domain (its in-domain interval "
                    "includes 0.5)")
NO_SKILL_LEFT = (", but the pair's cross-domain interval reaches 0.5 or lies below it: across domains it has no "
                 "skill left to lose, so its small gap is not generalization")

DASH = "–"  # what an undefined value shows
# the endpoint's two readings, named alike on every page: the fit gate came after an
# earlier build's results, so the gated reading is post hoc (unless all five pass it);
# all five is what was declared
PRIMARY_LABEL = "primary (fit-gated; gate added after an earlier build)"
ALL_FIVE_LABEL = "all five (the endpoint first declared; sensitivity)"


def is_undefined(value: object) -> bool:
    """NaN, None, ``pd.NA`` or an already formatted dash."""
    if isinstance(value, str):
        return value.strip() == DASH
    try:
        return bool(pd.isna(value))
    except (TypeError, ValueError):  # arrays and other containers are values, not gaps
        return False


def interval_text(estimate: float, low: float, high: float, digits: int = 3, percent: bool = False) -> str:
    """``estimate [low, high]``, to ``digits`` decimals (or as whole percentages); a dash when the
    estimate is undefined, and the estimate alone with ``[–]`` when only its interval is (too few
    resamples with both classes)."""
    form = ".0%" if percent else f".{digits}f"
    if is_undefined(estimate):
        return DASH
    if is_undefined(low) or is_undefined(high):
        return f"{estimate:{form}} [{DASH}]"
    return f"{estimate:{form}} [{low:{form}}, {high:{form}}]"


def ci_text(row: pd.Series, column: str, digits: int = 3, percent: bool = False) -> str:
    """:func:`interval_text` of one interval column of a table row (``column``, ``column low``,
    ``column high``)."""
    return interval_text(row[column], row[f"{column} low"], row[f"{column} high"], digits, percent)


def with_intervals(table: pd.DataFrame, columns: list[str], keep: list[str], digits: int = 3) -> pd.DataFrame:
    """A display copy: the ``keep`` columns, then each interval column as one
    ``estimate [low, high]`` text column (the CSV keeps the numbers)."""
    shown = table[keep].copy()
    for column in columns:
        shown[f"{column} [95% CI]"] = [ci_text(row, column, digits) if pd.notna(row[column]) else ""
                                       for _, row in table.iterrows()]
    return shown


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
        below = readable["cross-domain AUC high"] < CHANCE
        floor = readable.loc[(readable["cross-domain AUC low"] <= CHANCE) & ~below, "label"].tolist()
        under = readable.loc[below, "label"].tolist()
        vote = part[part["name"] == primary].iloc[0]
        direction = "harder" if vote["gap low"] > 0 else "easier" if vote["gap high"] < 0 else "no measurable change"
        sentence = (f"**{subset}**: harder than in-domain for {', '.join(harder) or 'no detector'}, easier for "
                    f"{', '.join(easier) or 'no detector'}; the soft vote's gap there is {ci_text(vote, 'gap')} "
                    f"({direction}).")
        if floor:
            sentence += f" At chance there: {', '.join(floor)}."
        if under:
            sentence += f" Below chance there (a cross-domain interval under 0.5): {', '.join(under)}."
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
    return (f"Validation names a clear best member, {best}. Against it, {ensemble} changes the gap by "
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


def diversity_gain_reading(correlation: pd.DataFrame) -> str:
    """What the signs of :func:`gain_diversity_correlation` say, against the one bias
    built into the measure: a weak member raises both its subset's disagreement and the
    subset's gain over a mean member it pulls down, which pushes the correlation up."""
    signs = {}
    for _, row in correlation.iterrows():
        domain = row["gain"].split(" gain")[0]
        signs[domain] = POSITIVE if row["rho low"] > 0 else NEGATIVE if row["rho high"] < 0 else NO_SIGN
    parts = ", ".join(f"{sign} {domain}" for domain, sign in signs.items())
    text = (f"The correlation is {parts}. Read it against a bias of the measure: a weak member disagrees with a "
            "strong one on many videos, which raises the subset's diversity, and pulls the mean member down, "
            "which raises the ensemble's gain over it, so weak members push the correlation up without any useful "
            "disagreement.")
    if NEGATIVE in signs.values():
        text += (" A negative correlation holds despite that push: on this benchmark the subsets whose members "
                 "disagree more tend to gain less over their mean member, so disagreement as measured here shows no "
                 "positive link to useful diversity on these subsets: the association is negative. The correlation "
                 "ranks subsets of every size together, and the number of "
                 "members can move both the mean disagreement and the gain, so read it as a description of these "
                 "subsets, not an effect of disagreement: the figure colours each subset by its number of members.")
    return text


def gap_source_text(row: pd.Series) -> str:
    """Where an endpoint's change in gap comes from (a row of the primary endpoint table):
    the ensemble's in-domain and cross-domain AUC changes over its reference (point
    estimates), and whether a wider gap still leaves it ahead across domains, which the
    interval of its cross-domain change decides."""
    inside = row["ensemble in-domain AUC"] - row["reference in-domain AUC"]
    cross = row["cross-domain AUC change"]
    text = (f"Relative to its members' mean, the ensemble's in-domain AUC changes by {inside:+.3f} and its "
            f"cross-domain AUC by {cross:+.3f}, so the gap {'widens' if row['gap change'] > 0 else 'narrows'} by their "
            f"difference. ")
    if row["gap change"] <= 0:
        return text
    if row["cross-domain AUC change low"] > 0:
        return text + ("It still gains across domains on its average member (that change's interval lies above "
                       "zero): the wider gap comes from gaining more in-domain than across domains, not from losing "
                       "ground on the target domain against that member.")
    if row["cross-domain AUC change high"] < 0:
        return text + ("It also loses across domains on its average member (that change's interval lies below "
                       "zero): worse generalization.")
    return text + "Across domains its change is not measurably different from zero."


def incomplete_warning(runs: pd.DataFrame) -> str:
    """The results page's warning (HTML) about runs the hang guard stopped (:func:`incomplete_runs`)."""
    listed = ", ".join(f"{m} (training seed {s})" for m, s in zip(runs["model"], runs["training seed"]))
    return ('<div class="admonition warning"><p class="admonition-title">Incomplete runs</p>'
            f"<p>The hang guard stopped {listed} before the epochs the recipe fixes. Their scores are not the "
            "recipe's: the verdict below reads no comparison that involves them.</p></div>")


def build_beside_seeds(spread: pd.DataFrame, source: Mapping) -> str:
    """How many of this build's values lie outside a stored run's seed range (``spread``
    with the ``inside`` column of :func:`~analysis.evaluation.study.seed_runs.beside_build`),
    read against how often one more retrain would, and which of this build's endpoint gap
    changes lie outside: a table that sits among the retrains can still leave the endpoint
    outside. Where the stored run's primary is another ensemble (``source``: the
    ``seed_source`` row), only the all-five soft vote is this build's endpoint too."""
    read, n_seeds = spread.set_index("quantity")["inside"].dropna().astype(bool), int(spread["seeds"].max())
    outside, chance = int((~read).sum()), seed_runs.outside_range_chance(n_seeds)
    reproduced = source.get("reproduced seed")
    if reproduced is not None and pd.notna(reproduced):
        return (f"this build's training seed is the stored run's seed {int(reproduced)}, and it gave every one of "
                "that seed's numbers again to the last digit (the same code and kind of CPU train the same floats), "
                "so it lies inside the stored range by construction: the range, not the column, says how far a "
                "retrain moves each number.")
    text = (f"{outside} of {len(read)} lie outside the stored range, where a fresh seed, exchangeable with the stored "
            f"{n_seeds}, would fall outside their range with probability {chance:.2f} (it is as likely to be the "
            f"lowest or the highest of "
            f"{n_seeds + 1} as any other), so about {chance * len(read):.0f} of {len(read)} would. Across the table "
            "this build lies outside "
            + ("more often than one more retrain would: a build on another kind of CPU, or at a later commit, "
               "trains to other floats from the first step" if outside / len(read) > chance
               else "no more often than one more retrain would")
            + " (the numbers are not independent, a gap being one AUC minus another, so read the share as a "
              "description, not a test)")
    furthest = furthest_outside(spread)
    text += f"; {furthest}" if furthest else ""
    endpoint = [q for q in seed_runs.endpoint_quantities(source) if q in read.index and not read[q]]
    if endpoint:
        named = [f'"{q}"' for q in endpoint]  # a quantity may hold an apostrophe (members' mean gap)
        listed = ", ".join(named[:-1]) + " and " + named[-1] if len(named) > 1 else named[0]
        text += (f"; of this build's endpoint, {listed} "
                 f"{'lie' if len(endpoint) > 1 else 'lies'} outside (the caveats above read the gap change, "
                 "not the others, against one more retrain's prediction interval)")
    return text + "."


def seed_sentence(spread: pd.DataFrame, source: pd.DataFrame) -> str:
    """Where the seed spread on the results page comes from: this build's seeds, a stored
    several-seed run (``source``: the ``seed_source`` table), or nowhere."""
    n_seeds, where = int(spread["seeds"].max()), source.iloc[0]
    if n_seeds > 1 and where["source"] == "stored run":
        text = (f"This build trained one seed per detector. The table is from a stored run of the same profile "
                f"with {n_seeds} training seeds (data seed {int(where['data seed'])}, {where['date']}; its commands and "
                "commit are in the provenance appendix): how far each headline number moves between training "
                f"seeds: {widest_moves(spread)}. The bootstrap intervals above hold the trained detectors "
                "fixed, so read both.")
        if "inside" in spread and spread["inside"].notna().any():
            text += f" Its column '{seed_runs.BUILD}' is this build's own value: " + build_beside_seeds(spread, where)
        return text
    if n_seeds > 1:
        return (f"Across the {n_seeds} training seeds of this build, the headline numbers spread as in the table; "
                "the bootstrap intervals hold the trained detectors fixed, so read both.")
    return ("This build trained one seed per detector, so how much the numbers move with the training seed was not "
            "assessed: the intervals above hold the trained detectors fixed. Build with "
            'make book RUN_ARGS="-o seeds=[0,1,2]" to measure it.')


def seeds_agree_text(pooled_row: pd.Series) -> str:
    """Whether every training seed's own interval lies on the same side of zero, from a row
    of :func:`~analysis.evaluation.study.seed_runs.pooled_endpoint`, in words."""
    side = {"above": "lies above zero", "below": "lies below zero", "holds 0": "holds zero"}
    if pooled_row["seeds agree"]:
        return "the seeds agree: each one's own 95 % interval " + side[pooled_row["each seed's interval"]]
    return "the seeds disagree: their own intervals fall on different sides of zero"


def pooled_gap_clause(pooled_row: pd.Series) -> str:
    """A row of :func:`~analysis.evaluation.study.seed_runs.pooled_endpoint` as a clause: its
    gap change pooled over the training seeds, the interval's kind and whether the seeds agree."""
    return (f"the {pooled_row['analysis'].replace(' ', '-')} gap change is {ci_text(pooled_row, 'gap change')} "
            f"({seed_runs.POOLED_INTERVAL}; {seeds_agree_text(pooled_row)})")


DETECTOR_NUMBERS = ("in-domain AUC", "cross-domain AUC", "gap")  # a spread's per-detector quantities, "<kind>: <name>"


def _detector_rows(spread: pd.DataFrame, kinds=DETECTOR_NUMBERS) -> pd.Series:
    """Which rows of a spread are one detector's number of one of ``kinds``; ensembles
    (named with parentheses) are not."""
    return spread["quantity"].str.startswith(tuple(f"{k}: " for k in kinds)) & ~spread["quantity"].str.contains(r"\(")


def widest_moves(spread: pd.DataFrame) -> str:
    """How far one detector's in-domain AUC, cross-domain AUC and gap move at most across
    the training seeds of a spread (:func:`seed_spread`), each with the detector that moved
    most; ensembles (named with parentheses) are left out."""
    table = spread.set_index("quantity")
    moves = []
    for kind in DETECTOR_NUMBERS:
        rows = table[_detector_rows(spread, (kind,)).to_numpy()]
        if not rows.empty:
            widest = rows["range"].idxmax()
            moves.append(f"{'its ' if moves else ''}{kind}{'' if moves else ' moves'} by up to "
                         f"{rows.loc[widest, 'range']:.3f} "
                         f"({widest.removeprefix(f'{kind}: ')})")
    listed = ", ".join(moves[:-1]) + " and " + moves[-1] if len(moves) > 1 else "".join(moves)
    return f"a retrained detector's {listed}" if moves else "no detector's number was measured twice"


def furthest_outside(spread: pd.DataFrame) -> str:
    """How far this build's own detectors (the :data:`~analysis.evaluation.study.seed_runs.BUILD`
    column of a stored run's spread) lie outside that run's seed ranges at most, the
    detector and number that lie furthest, and that distance in the stored SDs; empty when
    every one lies inside, or without the column. A count of numbers outside says nothing
    of how far: a build on another kind of CPU can move further than a retrain."""
    if seed_runs.BUILD not in spread.columns:
        return ""
    rows = spread[_detector_rows(spread) & spread[seed_runs.BUILD].notna()].reset_index(drop=True)
    value = rows[seed_runs.BUILD]
    beyond = pd.concat([rows["min"] - value, value - rows["max"]], axis=1).max(axis=1)
    if rows.empty or beyond.max() <= 0:
        return ""
    row = rows.loc[beyond.idxmax()]
    kind, name = row["quantity"].split(": ", 1)
    text = (f"this build's own detectors lie up to {beyond.max():.3f} outside those ranges ({name}'s {kind}, "
            f"{row[seed_runs.BUILD]:.3f} against {row['min']:.3f} to {row['max']:.3f}")
    return text + (f": {beyond.max() / row['sd']:.1f} of the stored SDs)" if row["sd"] > 0 else ")")


def retrain_text(spread: pd.DataFrame | None, source: str, pooled: pd.DataFrame | None = None,
                 analysis: str = "primary") -> str:
    """How much a retrained detector moves, from a seed spread (:func:`seed_spread`) of
    ``source`` (this build, or a stored run), and the endpoint pooled over its seeds
    (:func:`~analysis.evaluation.study.seed_runs.pooled_endpoint`) when given, both in
    ``analysis`` (:func:`~analysis.evaluation.study.seed_runs.compared_endpoint`; all five
    where the spread has no primary); empty without a spread."""
    if spread is None or spread.empty or spread["seeds"].max() < 2:
        return ""
    table = spread.set_index("quantity")
    if analysis == "primary" and seed_runs.PRIMARY_GAP in table.index:
        gap, which = table.loc[seed_runs.PRIMARY_GAP], "the primary endpoint's"
    else:  # a stored run made before the fit gate, or whose gate chose other members
        analysis, gap, which = "all five", table.loc[seed_runs.ALL_FIVE_GAP], "the all-five soft vote's"
    signs = "all above zero" if gap["min"] > 0 else "all below zero" if gap["max"] < 0 else "of both signs"
    text = (f"Across {int(gap['seeds'])} training seeds ({source}), {which} gap change ranges from "
            f"{gap['min']:+.3f} to {gap['max']:+.3f} (SD {gap['sd']:.4f}; {signs}), and {widest_moves(spread)}")
    outside = furthest_outside(spread)
    text += f"; {outside}. " if outside else ". "
    rows = pd.DataFrame() if pooled is None else pooled[pooled["analysis"] == analysis]
    if not rows.empty:
        text += ("Pooled over them, with the between-seed variance added to the test sets', "
                 f"{pooled_gap_clause(rows.iloc[0])}. ")
    return text


def ensemble_vs_members_text(members: pd.DataFrame, gaps: pd.DataFrame, name: str) -> str:
    """An ensemble's in-domain AUC against each member's (``members``: the paired differences
    of :func:`~analysis.evaluation.study.anomaly_tables.members_table`; ``gaps``: a gap table
    with the ensemble's row), and which members rank fakes below reals: such a member adds
    evidence with the wrong sign, so it pulls an average toward chance instead of adding a view."""
    diffs = [f"{ci_text(row, 'difference')} against {row['member']} alone ({row['member in-domain AUC']:.3f})"
             for _, row in members.iterrows()]
    ensemble = gaps.set_index("name").loc[name]
    text = f"In-domain, {name} reaches {ci_text(ensemble, 'in-domain AUC')}; it differs by " + ", and by ".join(
        diffs) + ". "
    inverted = members.loc[members["member in-domain AUC high"] < CHANCE, "member"].tolist()
    if inverted:
        text += (f"Of its members, {', '.join(inverted)} ranks fakes below reals (in-domain interval below 0.5), "
                 "so averaging it in adds evidence with the wrong sign and pulls the ensemble toward chance. ")
    return text


def threshold_order_text(order: pd.DataFrame) -> str:
    """Why a scorer's balanced threshold can lie above its conservative one, for each scorer
    of ``order`` (:func:`~analysis.evaluation.study.anomaly_tables.threshold_order`); empty if none."""
    if order.empty:
        return ""
    found = [f"The balanced threshold of {row['scorer']} ({row['balanced']:.3f}) lies above its conservative one "
             f"({row['conservative']:.3f}); its largest validation J is {row['validation J']:.3f}, at a validation "
             f"AUC of {row['validation AUC']:.3f}" for _, row in order.iterrows()]
    return ("; ".join(found) + ". A scorer without skill on validation has TPR - FPR near zero at every threshold, "
            "so J peaks wherever the noise puts it, here near the top of the scores where almost nothing is "
            "flagged: that point balances nothing.")


def one_class_verdict(row: pd.Series) -> str:
    """The pair's gap against the supervised detectors' mean, at the 95 % level, from a row
    of :func:`~analysis.evaluation.study.anomaly_tables.versus_supervised`."""
    if row["read"] != INTERPRETABLE:
        return ONE_CLASS_UNREAD
    verdict = (ONE_CLASS_SMALLER if row["gap difference high"] < 0 else ONE_CLASS_LARGER
               if row["gap difference low"] > 0 else ONE_CLASS_UNCLEAR)
    if row["pair cross-domain AUC low"] <= CHANCE:
        verdict += NO_SKILL_LEFT
    return verdict



def endpoint_label(analysis: str) -> str:
    """The page's name for a row of the primary endpoint table (its ``analysis`` column)."""
    return {PRIMARY_ANALYSIS: PRIMARY_LABEL, ALL_FIVE_ANALYSIS: ALL_FIVE_LABEL}.get(analysis, analysis)


def _shared_errors(pairs: pd.DataFrame, models: list[str]) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The pairs of ``models`` among one test set's ``pairs``, and those whose double fault
    lies outside the null of independence given the label (max-T over every pair)."""
    if pairs["set"].nunique() != 1:
        raise ValueError(f"shared_errors_text() takes the pairs of one test set, got {sorted(pairs['set'].unique())}.")
    among = pairs[pairs["model a"].isin(models) & pairs["model b"].isin(models)]
    if among.empty:
        raise ValueError(f"No pair of {models} in the diversity table.")
    return among, among[among["double fault outside null (simultaneous)"].astype(bool)]


NEAR_CONSTANT = 0.05  # a detector flagging under this share of a test set's videos, or over one minus it


def kappa_ceiling(rate_a: float, rate_b: float) -> float:
    """The largest Cohen's kappa two detectors with these flag rates can reach: their
    agreement is at most one minus the difference of the rates."""
    chance = rate_a * rate_b + (1 - rate_a) * (1 - rate_b)
    return (1 - abs(rate_a - rate_b) - chance) / (1 - chance) if chance < 1 else 0.0


def near_constant_text(rates: pd.DataFrame, pairs: pd.DataFrame) -> str:
    """The detectors that call nearly every video of a test set one way (``rates``: the
    ``flag_rates`` table, both test sets), and what that does to their rows of ``pairs``
    (the diversity table of that test set); empty where there are none."""
    if pairs["set"].nunique() != 1:
        raise ValueError(f"near_constant_text() takes the pairs of one test set, got {sorted(pairs['set'].unique())}.")
    name = pairs["set"].iloc[0]
    rate = rates[rates["set"] == name].set_index("model")["flag rate"]
    odd = rate[(rate < NEAR_CONSTANT) | (rate > 1 - NEAR_CONSTANT)].index.tolist()
    if not odd:
        return ""
    counts = []
    for model in odd:
        own = rates[rates["model"] == model].set_index("set")
        elsewhere = "".join(f" ({r['flagged']} of the {r['videos']} {other} videos)" for other, r in own.iterrows()
                            if other != name)
        counts.append(f"{model} calls {own.loc[name, 'flagged']} of the {own.loc[name, 'videos']} {name} videos "
                      f"fake{elsewhere}")
    theirs = pairs[pairs["model a"].isin(odd) | pairs["model b"].isin(odd)]
    ceiling = max(kappa_ceiling(rate[a], rate[b]) for a, b in zip(theirs["model a"], theirs["model b"]))
    others = rate.drop(odd)
    side = "low" if (rate[odd] < NEAR_CONSTANT).all() else "high" if (rate[odd] > 1 - NEAR_CONSTANT).all() else "both"
    right, wrong, missed = {"low": ("the real videos", "the fakes", "missed fakes"),
                            "high": ("the fakes", "the real videos", "false alarms on the real videos"),
                            "both": ("one class", "the other", "errors on that class")}[side]
    outside = theirs[theirs[[c for c in theirs.columns if c.endswith(" outside null (simultaneous)")]].any(axis=1)]
    named = ", ".join(f"{a} with {b}" for a, b in zip(outside["model a"], outside["model b"])) or "none"
    kappa = theirs["Cohen's kappa"]
    one = len(odd) == 1
    its = "its" if one else "their"
    return (f"At {its} validation threshold{'' if one else 's'}, {'; '.join(counts)}. "
            f"{its.capitalize()} verdicts are therefore nearly constant, and that shapes {its} pairs. Kappa, which "
            "discounts the agreement the two detectors' flag rates alone would give, cannot exceed "
            f"{ceiling:.3f} in any of them"
            + (f", as the other detectors flag {others.min():.0%} to {others.max():.0%} of the videos" if len(others)
               else "") + f"; it lies between {kappa.min():.3f} and {kappa.max():.3f}. "
            f"{its.capitalize()} right and wrong answers are almost the label itself (right on {right}, wrong on "
            f"{wrong}), so such a pair's double fault counts the other detector's {missed}, and its Yule's Q says "
            "whether the other detector errs more on one class than on the other, not which errors the two share. "
            f"The grey ranges, which keep each detector's flag rate, lie at almost the same values; of the "
            f"{len(theirs)} pairs, those outside them on any measure: {named}.")


def shared_errors_count(pairs: pd.DataFrame, models: list[str]) -> str:
    """How many pairs of ``models`` fail together more often than detectors independent
    given the label on one test set, as "N of the M pairs" (:func:`shared_errors_text`)."""
    among, outside = _shared_errors(pairs, models)
    return f"{int((outside['double fault'] > outside['double fault null']).sum())} of the {len(among)} pairs"


def shared_errors_text(pairs: pd.DataFrame, models: list[str], how: bool = True) -> str:
    """How many pairs of ``models`` fail together more (or less) often than detectors
    independent given the label, by the double fault (both wrong) with its max-T control
    over every pair of ``pairs`` (:func:`diversity_tables`' rows of one test set). Agreement
    alone counts shared right answers too; the double fault counts only shared errors.
    ``how=False`` leaves out how the count is made, for a page that has just said it."""
    among, outside = _shared_errors(pairs, models)
    fewer = int((outside["double fault"] <= outside["double fault null"]).sum())
    rest = among.drop(outside.index)
    named = ", ".join(f"{a} with {b}" for a, b in zip(rest["model a"], rest["model b"]))
    notes = [f"{fewer} on fewer"] if fewer else []
    if how:
        detectors = len(set(pairs["model a"]) | set(pairs["model b"]))
        notes.append(f"double fault against verdicts shuffled within each class, max-T over all {len(pairs)} pairs of "
                     f"the {detectors} detectors; the shuffle moves videos, not identity groups, so a reference, not a "
                     "test")
    if 0 < len(rest) <= 4:
        notes.append(f"within the reference range: {named}")
    return (f"{shared_errors_count(pairs, models)} fail together on more videos than detectors independent given the "
            f"label would" + (f" ({'; '.join(notes)})" if notes else ""))
