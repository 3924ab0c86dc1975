"""Power by design: the embedded benchmark's evaluation sets, sized before any result.

The cpu profile's numbers of source test pairs, target pairs and validation pairs are
chosen with :mod:`analysis.evaluation.power` so that, at the planning values below, the
primary endpoint (the paired change in generalization gap of the five-model soft vote
against the mean of its members) has a minimum detectable effect of at most
:data:`TARGET_MDE` at 80 % power, and a validation AUC has a 95 % interval narrower than
:data:`MAX_VAL_WIDTH`. The book recomputes the MDE from the AUCs the run reached.

Planning values and where they come from:

* ``auc_in`` 0.90: the in-domain AUC the study requires of its best detector (issue 14);
* ``auc_cross`` 0.75: a drop of 0.15, inside the 0.12-0.18 drops of the model card;
* ``auc_val`` 0.80: validation is judged for the weaker members, not the best;
* ``correlation`` 0.7 between the ensemble's and the reference's AUC estimates (the
  ensemble contains the reference, so their errors on the same videos are related);
* ``icc`` 0.1: intra-group correlation of a pair's videos, the power module's default,
  to be replaced by the value the run measures (group vs video bootstrap variance).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import pandas as pd

from analysis.evaluation.power import EvalSet, auc_se, gap_change_mde, required_groups
from analysis.benchmark.generator import SOURCE, SUBSETS, BenchmarkSize

TARGET_MDE = 0.05
MAX_VAL_WIDTH = 0.15
Z95 = 1.959963984540054


@dataclass(frozen=True)
class Planning:
    """The AUCs and correlations the design is sized for (see the module docstring)."""

    auc_in: float = 0.90
    auc_cross: float = 0.75
    auc_val: float = 0.80
    correlation: float = 0.7
    icc: float = 0.1


PLANNING = Planning()


def _per_pair(domain: str) -> tuple[int, float]:
    """Reals and fakes one identity pair contributes to an evaluation set of ``domain``
    (target subsets are pooled, so their mean)."""
    subsets = [s for s in SUBSETS.values() if (s.domain == SOURCE) == (domain == SOURCE)]
    return 2, sum(s.fakes_per_pair for s in subsets) / len(subsets)


def evaluation_sets(size: BenchmarkSize, planning: Planning = PLANNING) -> dict[str, EvalSet]:
    """The validation, source test and (pooled) target test sets of a benchmark size."""
    reals, fakes = _per_pair(SOURCE)
    t_reals, t_fakes = _per_pair("target")
    targets = sum(1 for s in SUBSETS.values() if s.domain != SOURCE)
    return {
        "source validation": EvalSet.per_group(size.val_pairs, reals, fakes, planning.icc),
        "source test": EvalSet.per_group(size.test_pairs, reals, fakes, planning.icc),
        "target test": EvalSet.per_group(size.target_pairs * targets, t_reals, t_fakes, planning.icc),
    }


def primary_mde(size: BenchmarkSize, planning: Planning = PLANNING) -> float:
    sets = evaluation_sets(size, planning)
    return gap_change_mde(sets["source test"], sets["target test"], auc_in=planning.auc_in,
                          auc_cross=planning.auc_cross, correlation=planning.correlation)


def validation_width(size: BenchmarkSize, planning: Planning = PLANNING) -> float:
    """Width of a 95 % interval of one validation AUC at ``planning.auc_val``."""
    return 2 * Z95 * auc_se(evaluation_sets(size, planning)["source validation"], planning.auc_val)


def required_pairs(size: BenchmarkSize, planning: Planning = PLANNING) -> dict[str, int]:
    """Fewest validation pairs for :data:`MAX_VAL_WIDTH`, and fewest target pairs per
    subset for :data:`TARGET_MDE` given the size's source test pairs."""
    from dataclasses import replace

    val = required_groups(MAX_VAL_WIDTH, lambda g: validation_width(replace(size, val_pairs=g), planning))
    target = required_groups(TARGET_MDE, lambda g: primary_mde(replace(size, target_pairs=g), planning), start=1)
    return {"val_pairs": val, "target_pairs": target}


def design_table(size: BenchmarkSize, planning: Planning = PLANNING) -> pd.DataFrame:
    """The sized design as the benchmark chapter shows it: each evaluation set's videos
    and groups, with the planned MDE and validation interval width."""
    rows = [
        {"set": name, "identity groups": s.groups, "real videos": s.n_real, "fake videos": s.n_fake,
         "design effect": round(s.design_effect, 2)}
        for name, s in evaluation_sets(size, planning).items()
    ]
    table = pd.DataFrame(rows)
    table.attrs.update(asdict(planning), primary_mde=primary_mde(size, planning),
                       validation_width=validation_width(size, planning))
    return table
