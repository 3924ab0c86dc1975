"""Reading results per declared kind of domain shift.

The scores table names a video by ``(dataset, method, video_id)`` only; the benchmark
manifest says which named subset (and so which declared shift: unseen method, unseen
capture, or both) each video belongs to. :func:`subset_of` joins the two, so the
generalization gap can be computed per kind of shift.
"""

from __future__ import annotations

import pandas as pd

from analysis.data.manifest import KEY_COLUMNS
from analysis.errors import UserInputError


def subset_of(table: pd.DataFrame, manifest: pd.DataFrame) -> pd.Series:
    """The benchmark subset (and so the declared shift) of every row of a table keyed by
    ``(dataset, method, video_id)``, such as a scores table, so a cross-domain AUC or gap
    can be read per kind of shift. Rows of videos the manifest does not know are an error."""
    keys = list(KEY_COLUMNS)
    lookup = manifest.drop_duplicates(keys).set_index(keys)["subset"]
    found = pd.MultiIndex.from_frame(table[keys]).map(lookup.get)
    missing = pd.isna(found)
    if missing.any():
        first = table.loc[missing].iloc[0]
        raise UserInputError(
            f"{int(missing.sum())} row(s) name videos the benchmark manifest does not have, e.g. "
            f"{tuple(first[k] for k in keys)}: the table was not made from this benchmark."
        )
    return pd.Series(found, index=table.index, name="subset")
