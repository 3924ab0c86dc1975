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


def image_grid(
    images: list[list[np.ndarray]],
    *,
    row_labels: list[str],
    col_labels: list[str],
    cmap: str | None = None,
    vmax: float | None = None,
    cell_inches: float = 1.6,
) -> plt.Figure:
    """Show a table of images (RGB uint8, or 2-D maps drawn with ``cmap``).

    With ``cmap``, all maps share one colour scale (``vmax``, default their maximum) and a
    colour bar, so that panels can be compared.
    """
    rows, cols = len(images), len(images[0])
    fig, axes = plt.subplots(rows, cols, figsize=(cell_inches * cols + (0.8 if cmap else 0), cell_inches * rows), squeeze=False)
    if cmap and vmax is None:
        vmax = max(float(np.max(img)) for row in images for img in row)
    for r, row in enumerate(images):
        for c, img in enumerate(row):
            ax = axes[r][c]
            shown = ax.imshow(img, cmap=cmap, vmin=0 if cmap else None, vmax=vmax if cmap else None)
            ax.set_xticks([])
            ax.set_yticks([])
            if r == 0:
                ax.set_title(col_labels[c], fontsize=9)
            if c == 0:
                ax.set_ylabel(row_labels[r], fontsize=9)
    fig.tight_layout()
    if cmap:
        fig.colorbar(shown, ax=axes.ravel().tolist(), shrink=0.8, label="|fake - real| (grey levels)")
    return fig


def message_figure(text: str) -> plt.Figure:
    """A small figure that only says something, for a glued figure with nothing to show."""
    fig, ax = plt.subplots(figsize=(5, 0.8))
    ax.axis("off")
    ax.text(0.5, 0.5, text, ha="center", va="center")
    return fig


def learning_curves(histories: dict[str, list[dict]]) -> plt.Figure:
    """Training loss and validation AUC per epoch, one line per model; warm-up epochs
    (head only) are drawn as open markers."""
    fig, (loss_ax, auc_ax) = plt.subplots(1, 2, figsize=(10, 3.6))
    for name, history in histories.items():
        epochs = [h["epoch"] for h in history]
        line = loss_ax.plot(epochs, [h["train_loss"] for h in history], marker="o", label=name)[0]
        auc_ax.plot(epochs, [h["val_auc"] for h in history], marker="o", color=line.get_color())
        warm = [h for h in history if h["stage"] == "warmup"]
        for ax, key in ((loss_ax, "train_loss"), (auc_ax, "val_auc")):
            ax.scatter([h["epoch"] for h in warm], [h[key] for h in warm], s=60, facecolors="white",
                       edgecolors=line.get_color(), zorder=3)
    loss_ax.set(xlabel="epoch", ylabel="training loss (class-weighted)")
    auc_ax.set(xlabel="epoch", ylabel="validation AUC (video level)", ylim=(0.4, 1.02))
    loss_ax.legend(fontsize=8)
    fig.tight_layout()
    return fig
