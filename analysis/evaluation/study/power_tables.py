"""What the study's test sets can detect: the primary endpoint's minimum detectable
effect, measured and analytic, beside what model card 000 implies (:mod:`analysis.evaluation.power`)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from analysis.evaluation import power
from analysis.evaluation.bootstrap import LEVEL, N_RESAMPLES, SetBootstrap
from analysis.evaluation.published import CARD_000, published_table, published_value
from analysis.evaluation.study.endpoints import primary_endpoint
from analysis.evaluation.study.fitting import CARD_000_FIVE, CHANCE, Study

def card_assumptions() -> dict[str, float]:
    """What model card 000 implies for a power analysis, in the primary endpoint's own
    contrast: its soft vote's change in gap against the mean of its five members (``claimed
    effect``); the change against its best single model, which the card itself quotes
    (``claimed effect vs best single``); and the members' mean in-domain and cross-domain AUCs."""
    table = published_table()
    five = table[(table["card"] == CARD_000) & table["model"].isin(CARD_000_FIVE)]
    single = published_value("vit_b16 (best single model)", "in-domain minus cross-domain AUC")
    vote = published_value("soft-vote ensemble of the five", "in-domain minus cross-domain AUC")
    in_domain = five["test set"].str.startswith("FF++")  # FF++ is the card's training domain
    auc_in = float(five.loc[in_domain, "published value"].mean())
    auc_cross = float(five.loc[~in_domain, "published value"].mean())
    return {"claimed effect": (auc_in - auc_cross) - vote, "claimed effect vs best single": single - vote,
            "auc in": auc_in, "auc cross": auc_cross}


def test_design(study: Study, domain: str, icc: float = 0.0) -> power.EvalSet:
    """The size of one of this run's test sets, as the power module describes it."""
    wide = study.wide(domain, "test")
    labels = wide.index.get_level_values("label")
    groups = wide.index.get_level_values("group").nunique()
    return power.EvalSet(int((labels == 0).sum()), int((labels == 1).sum()), groups, icc)


def measured_clustering(study: Study, domain: str, n_resamples: int = N_RESAMPLES, seed: int = 0) -> float:
    """This run's design effect: the variance of the members' AUCs under the group
    bootstrap over their variance under a video bootstrap (mean over card 000's five that
    vary under the video bootstrap; NaN when none does)."""
    wide = study.wide(domain, "test")[study.five]
    frame = wide.reset_index()
    frame["group"] = [f"video {i}" for i in range(len(frame))]
    by_video = frame.set_index(list(wide.index.names))
    grouped = SetBootstrap.fit(wide, n_resamples, seed).samples.var()
    videos = SetBootstrap.fit(by_video, n_resamples, seed).samples.var()
    # a member whose AUC never moves under the video bootstrap has no ratio; none left: NaN
    ratios = (grouped / videos)[videos > 0]
    return float(ratios.mean()) if len(ratios) else float("nan")


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


def simultaneous_gate(study: Study) -> pd.DataFrame:
    """The chance gate with the family of all single detectors at a 95 % joint level
    (Bonferroni: each detector's BCa in-domain interval at 1 - 0.05 / n): per detector, that
    interval's lower end and whether it lies above 0.5."""
    level = 1 - (1 - LEVEL) / len(study.models)
    lows = [study.boot.in_domain.interval({m: 1.0}, level).low for m in study.models]
    return pd.DataFrame({"model": study.models, "level": level, "in-domain AUC low": lows,
                         "passes": [low > CHANCE for low in lows]})
