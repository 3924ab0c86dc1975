"""The fit gate: which members may enter the primary endpoint's ensemble and its reference.

Added on 2026-12-02 after an earlier build's results (DESIGN rule 16; the gated endpoint is
therefore post hoc, and the all-five version, declared first, is shown beside it): a member enters only if it fitted its own
training data and learned something that holds on the source domain's validation videos,
judged on the training record and the validation split, never on a test set:

* a classifier's lowest training loss lies more than :data:`FIT_MARGIN` below ln 2, the
  loss of a model that always answers one half (one-class scorers have no such scale and
  are judged on validation alone);
* its 95 % interval of the validation AUC (group bootstrap) lies above 0.5.

A member that fails is not evidence that its view sees nothing: its optimisation failed
in this budget, and its "gap" would be the floor of a detector at chance. The gated
ensemble is the primary endpoint; the all-five version is a sensitivity analysis shown
beside it.
"""

from __future__ import annotations

import math
from typing import Callable

import pandas as pd

from analysis.evaluation.bootstrap import Interval

CHANCE = 0.5
CHANCE_LOSS = math.log(2)  # class-weighted cross-entropy of a two-class model that predicts 1/2
FIT_MARGIN = 0.02  # a few times the epoch-to-epoch noise of the training loss on these runs


def lowest_loss(record: dict) -> float:
    """The lowest training loss of any epoch of a run (nan without one)."""
    losses = [h["train_loss"] for h in record.get("history", []) if h.get("train_loss") == h.get("train_loss")]
    return min(losses) if losses else float("nan")


def fit_gate(records: dict[str, dict], validation: Callable[[str], Interval], one_class_models=()) -> pd.DataFrame:
    """One row per model: its lowest training loss, whether that shows it fitted its
    training data, its validation AUC interval, and whether it passes the gate (and why not).
    A one-class scorer (``one_class_models``) has no chance-level loss: only its validation half applies."""
    rows = []
    for name, record in records.items():
        one_class = name in one_class_models
        loss = lowest_loss(record)
        fitted = True if one_class else loss < CHANCE_LOSS - FIT_MARGIN
        interval = validation(name)
        learned = interval.low > CHANCE
        reasons = ([] if fitted else [f"training loss never below {CHANCE_LOSS - FIT_MARGIN:.3f} (ln 2 - {FIT_MARGIN})"])
        reasons += [] if learned else ["validation AUC interval does not lie above 0.5"]
        rows.append({"model": name, "lowest training loss": float("nan") if one_class else loss,
                     "fitted training data": "n/a (one-class)" if one_class else ("yes" if fitted else "no"),
                     "validation AUC": interval.estimate, "validation AUC low": interval.low,
                     "validation AUC high": interval.high, "passes": fitted and learned,
                     "why not": "; ".join(reasons)})
    return pd.DataFrame(rows)


def passed(table: pd.DataFrame) -> list[str]:
    """The models of a :func:`fit_gate` table that pass, in its order."""
    return table.loc[table["passes"].astype(bool), "model"].tolist()
