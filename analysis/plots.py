"""Figures the chapters show. Each function takes computed tables and returns a Figure."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.colors import ListedColormap
from matplotlib.patches import Patch

from analysis.manifest import SPLITS

SPLIT_COLOURS = {"train": "#4c72b0", "val": "#dd8452", "test": "#55a868"}


def id_partition_grid(partitions: pd.DataFrame, schemes: tuple[str, ...], *, columns: int = 40) -> plt.Figure:
    """Draw each id as one cell of a grid, coloured by its partition, one panel per scheme.

    ``partitions`` has a ``source_id`` column and one column of split names per scheme.
    """
    ordered = partitions.sort_values("source_id")
    rows = int(np.ceil(len(ordered) / columns))
    colours = ListedColormap([SPLIT_COLOURS[s] for s in SPLITS])
    fig, axes = plt.subplots(1, len(schemes), figsize=(5.2 * len(schemes), 3.8), squeeze=False)
    for ax, scheme in zip(axes[0], schemes):
        codes = np.full(rows * columns, np.nan)
        codes[: len(ordered)] = ordered[scheme].map({s: i for i, s in enumerate(SPLITS)}).to_numpy()
        ax.imshow(codes.reshape(rows, columns), cmap=colours, vmin=-0.5, vmax=len(SPLITS) - 0.5)
        ax.set_title(f"{scheme} split")
        ax.set_xlabel(f"id mod {columns}")
        ax.set_ylabel(f"id // {columns}")
    handles = [Patch(color=SPLIT_COLOURS[s], label=s) for s in SPLITS]
    fig.legend(handles=handles, loc="lower center", ncol=len(SPLITS), frameon=False)
    fig.tight_layout(rect=(0, 0.08, 1, 1))
    return fig


def glue_figure(name: str, fig: plt.Figure) -> None:
    """Store a figure for ``{glue:figure}`` and close it, so it shows once, with its caption."""
    from myst_nb import glue

    glue(name, fig, display=False)
    plt.close(fig)
