"""Linear combinations summed in one fixed order, so they agree bit for bit on every CPU.

``matrix @ weights`` goes to BLAS, which picks its kernel, and with it the order of the
additions, by CPU: the same scores gave results a few units in the last place apart on an
AVX2 and an AVX-512 machine. Most of the study does not care, but a few steps turn such a
difference into a different number: resamples that tie with the estimate in a BCa bias
correction, and scores that tie between two videos in an AUC. Elementwise products and
sums are exactly rounded everywhere, so adding the weighted columns one by one in the
order given gives the same bits on any machine.
"""

from __future__ import annotations

import numpy as np


def weighted_sum(columns: np.ndarray, weights) -> np.ndarray:
    """``columns @ weights`` for a ``(..., k)`` array and ``k`` weights, added from the
    first column to the last."""
    columns = np.asarray(columns, float)
    weights = np.asarray(weights, float)
    if columns.shape[-1:] != weights.shape:
        raise ValueError(f"{weights.size} weights for {columns.shape[-1]} columns")
    total = np.zeros(columns.shape[:-1])
    for j, w in enumerate(weights):
        total = total + w * columns[..., j]
    return total
