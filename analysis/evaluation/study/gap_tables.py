"""The gap chapter's tables beyond the results page's: the gap per declared kind of shift,
the primary endpoint under other fit-gate margins, the AUC per manipulation method, frame
against video level, and the model cards' published numbers (:func:`gap_results`); and
what these test sets can detect against the clear best member (:func:`best_member_power`,
a results-page table the verdict reads). The ``results`` stage writes them."""

from __future__ import annotations

import numpy as np
import pandas as pd

from analysis.evaluation import metrics, power
from analysis.evaluation.published import published_table
from analysis.evaluation.study.endpoints import best_member_mde, clear_best_member, gate_sensitivity
from analysis.evaluation.study.fitting import Study
from analysis.evaluation.study.power_tables import card_assumptions
from analysis.evaluation.study.shift_tables import method_auc_table, shift_table
from analysis.profiles import Analysis

BEST_MEMBER_COLUMNS = ["clear best member", "MDE vs clear best member", "claimed effect vs best single",
                       "power at claimed effect", "scaled effect", "power at scaled effect"]


def best_member_power(study: Study, power_row: pd.DataFrame) -> pd.DataFrame:
    """What these test sets can detect in the primary ensemble's change in gap against its
    clear best member (80 % power), and the probability of finding the card's change against
    its best single model, as quoted and scaled to this benchmark's members' gap as in
    ``power_row`` (:func:`~analysis.evaluation.study.power_tables.power_table`). No row
    without a clear best member."""
    best = clear_best_member(study, study.primary)
    if best is None:
        return pd.DataFrame(columns=BEST_MEMBER_COLUMNS)
    mde = best_member_mde(study, study.primary)
    se = mde / power.z_sum()
    claimed = card_assumptions()["claimed effect vs best single"]
    row = power_row.iloc[0]
    # the card's change is a share of its members' gap: the same share of this benchmark's
    scaled = claimed * row["scaled effect"] / row["claimed effect"] if row["scaled effect"] > 0 else np.nan
    return pd.DataFrame([{"clear best member": best, "MDE vs clear best member": mde,
                          "claimed effect vs best single": claimed,
                          "power at claimed effect": power.power_at(claimed, se), "scaled effect": scaled,
                          "power at scaled effect": power.power_at(scaled, se) if scaled > 0 else np.nan}],
                        columns=BEST_MEMBER_COLUMNS)


def level_table(study: Study) -> pd.DataFrame:
    """Frame-level and video-level metrics of every single model on both test sets."""
    tables = []
    for name in study.models:
        table = metrics.evaluate_model(study.scores[study.scores["model"] == name])
        tables.append(table[table["set"] != "validation"].assign(model=name))
    return pd.concat(tables, ignore_index=True)


def gap_results(study: Study, settings: Analysis, manifest: pd.DataFrame | None) -> dict[str, pd.DataFrame]:
    """Every table of the gap chapter that the results page does not already hold, by file
    name; ``gap_per_shift`` only where the manifest names target subsets (the benchmark)."""
    subsets = manifest if manifest is not None and "subset" in manifest.columns else None
    tables = {
        "gate_sensitivity": gate_sensitivity(study),
        "method_auc": method_auc_table(study, study.models, settings.n_resamples, settings.seed, manifest=subsets),
        "levels": level_table(study),
        "published": published_table(),
    }
    if subsets is not None:
        tables["gap_per_shift"] = shift_table(study, subsets, [*study.models, study.primary], settings.n_resamples,
                                              settings.seed)
    return tables
