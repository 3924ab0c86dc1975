"""Figures the chapters show. Each function takes computed tables and returns a Figure."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.colors import ListedColormap
from matplotlib.patches import Patch

from analysis.data.manifest import SPLITS
from analysis.evaluation import ensembles
from analysis.evaluation.scores_table import VIDEO_LEVEL

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


SOURCE_SUFFIX = "__source"


def glue_figure(name: str, fig: plt.Figure, *, source: str) -> None:
    """Store a figure for ``{glue:figure}`` and close it, so it shows once, with its caption.

    ``source`` says where the figure's data came from; it is glued as ``<name>__source``
    and the provenance appendix collects it from every executed chapter.
    """
    from myst_nb import glue

    glue(name, fig, display=False)
    glue(name + SOURCE_SUFFIX, source, display=False)
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


def learning_curves(histories: dict[str, list[dict]], *, loss_label: str = "training loss (class-weighted)",
                    log_loss: bool = False) -> plt.Figure:
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
    loss_ax.set(xlabel="epoch", ylabel=loss_label, yscale="log" if log_loss else "linear")
    auc_ax.set(xlabel="epoch", ylabel="validation AUC (video level)", ylim=(0.4, 1.02))
    loss_ax.legend(fontsize=8)
    fig.tight_layout()
    return fig


def score_distributions(scores: pd.DataFrame, models: list[str], *, ylabel: str = "score") -> plt.Figure:
    """Video-level test scores of each model (one panel each), real videos against every
    manipulation method, in-domain and cross-domain side by side."""
    import seaborn as sns

    test = scores[(scores["frame_index"] == VIDEO_LEVEL) & (scores["split"] == "test") & scores["model"].isin(models)]
    test = test.assign(group=np.where(test["domain"] == "source", "in-domain: ", "cross-domain: ") + test["method"])
    order = sorted(test["group"].unique(), key=lambda g: (not g.startswith("in"), "real" not in g, g))
    fig, axes = plt.subplots(1, len(models), figsize=(4.6 * len(models), 3.8), squeeze=False)
    for ax, model in zip(axes[0], models):
        part = test[test["model"] == model]
        sns.boxplot(data=part, x="score", y="group", order=order, ax=ax, color="#dddddd", fliersize=0)
        sns.stripplot(data=part, x="score", y="group", order=order, ax=ax, hue="label", palette={0: "#4c72b0", 1: "#c44e52"},
                      size=3, legend=False)
        ax.set(title=model, xlabel=ylabel, ylabel="")
    fig.tight_layout()
    return fig


def heatmaps(matrices: dict[str, pd.DataFrame], *, centre: dict[str, float] | None = None, columns: int = 2) -> plt.Figure:
    """One annotated model-by-model heatmap per measure, ``columns`` to a row, each with its
    colour bar (where ``centre`` names a value, the colour that marks it is white)."""
    import seaborn as sns

    rows = int(np.ceil(len(matrices) / columns))
    fig, axes = plt.subplots(rows, columns, figsize=(5.4 * columns, 4.9 * rows), squeeze=False)
    for ax in axes.ravel()[len(matrices):]:
        ax.axis("off")
    for ax, (title, matrix) in zip(axes.ravel(), matrices.items()):
        sns.heatmap(matrix, ax=ax, annot=True, fmt=".2f", cmap="vlag", center=(centre or {}).get(title),
                    cbar_kws={"shrink": 0.7}, square=True, annot_kws={"fontsize": 8})
        ax.set_title(title)
        ax.tick_params(labelsize=8)
    fig.tight_layout()
    return fig


def gain_vs_diversity(table: pd.DataFrame, diversity_column: str, gain_columns: list[str]) -> plt.Figure:
    """Ensemble gain against members' diversity, one point per subset, coloured by members."""
    fig, axes = plt.subplots(1, len(gain_columns), figsize=(5 * len(gain_columns), 3.8), squeeze=False, sharey=True,
                             layout="constrained")
    for ax, column in zip(axes[0], gain_columns):
        points = ax.scatter(table[diversity_column], table[column], c=table["n members"], cmap="viridis", s=40)
        ax.axhline(0, color="grey", linewidth=0.8)
        ax.set(xlabel=diversity_column, ylabel="AUC gain", title=column)
    bar = fig.colorbar(points, ax=axes.ravel().tolist(), label="members")
    bar.set_ticks(sorted(table["n members"].unique()))  # whole numbers of members only
    return fig


def interval_plot(table: pd.DataFrame, column: str, *, label_column: str = "label", xlabel: str | None = None,
                  reference: float | None = None, muted: pd.Series | None = None) -> plt.Figure:
    """Point estimates with their 95 % intervals (``column``, ``column low/high``), a row
    each. Rows where ``muted`` is true (say, gaps that are not interpretable) are drawn in
    light grey with open markers, so the eye reads only the others."""
    fig, ax = plt.subplots(figsize=(7, 0.32 * len(table) + 1.0))
    y = np.arange(len(table))[::-1]
    estimate = table[column].to_numpy()
    errors = np.array([estimate - table[f"{column} low"].to_numpy(), table[f"{column} high"].to_numpy() - estimate])
    grey = np.zeros(len(table), bool) if muted is None else np.asarray(muted, bool)
    for rows, style in ((~grey, dict(fmt="o", color="#4c72b0", ecolor="#8fa8d0")),
                        (grey, dict(fmt="o", color="#b0b0b0", ecolor="#d0d0d0", mfc="white"))):
        if rows.any():
            ax.errorbar(estimate[rows], y[rows], xerr=errors[:, rows], capsize=3, **style)
    if reference is not None:
        ax.axvline(reference, color="grey", linewidth=0.8, linestyle="--")
    ax.set_yticks(y, table[label_column], fontsize=8)
    for tick, faint in zip(ax.get_yticklabels(), grey):
        tick.set_color("#909090" if faint else "black")
    ax.set_xlabel(xlabel or column)
    fig.tight_layout()
    return fig


CARD_RED = "#c44e52"


def family_intervals(families: pd.DataFrame, *, interpretable: str, marked: str | None = None,
                     xlabels: dict[str, str] | None = None) -> plt.Figure:
    """Every ensemble of a family (``name``, ``estimate``, ``low``, ``high``, ``family``,
    ``read``) sorted by its estimate, with its simultaneous interval, one panel per family
    (each sorted on its own) and a colour per number of members; rows whose ``read`` is not
    ``interpretable`` are open grey markers, and the ensemble ``marked`` (the primary) is
    ringed in red. Too many rows to label: the sort and the colours carry it. ``xlabels``:
    an x-axis label per family (say, which side of 0 means what)."""
    names = families["family"].drop_duplicates().tolist()
    sizes = families["name"].map(lambda n: len(ensembles.split_name(n)[1]))
    colours = dict(zip(sorted(sizes.unique()), plt.get_cmap("viridis")(np.linspace(0, 0.85, sizes.nunique()))))
    longest = sizes.groupby(families["family"]).size().max()
    fig, axes = plt.subplots(1, len(names), figsize=(5 * len(names), 0.045 * longest + 2.4), squeeze=False)
    for ax, family in zip(axes[0], names):
        part = families[families["family"] == family].assign(members=sizes).sort_values("estimate")
        y = np.arange(len(part))
        for (n, read), group in part.groupby(["members", part["read"] == interpretable]):
            where = y[part.index.get_indexer(group.index)]
            colour = colours[n] if read else "#b0b0b0"
            spans = [group["estimate"] - group["low"], group["high"] - group["estimate"]]
            ax.errorbar(group["estimate"], where, xerr=spans, fmt="o", markersize=3, color=colour, ecolor=colour,
                        alpha=0.8, elinewidth=0.8, mfc=colour if read else "white")
        if marked is not None and (part["name"] == marked).any():
            ax.scatter(part.loc[part["name"] == marked, "estimate"], y[(part["name"] == marked).to_numpy()], s=70,
                       facecolors="none", edgecolors=CARD_RED, linewidths=1.5, zorder=3)
        ax.axvline(0.0, color="grey", linewidth=0.8, linestyle="--")
        ax.set(title=family, xlabel=(xlabels or {}).get(family, "change (simultaneous 95 % interval)"), yticks=[],
               ylabel="ensembles, sorted within this panel")
    handles = [Patch(color=colours[n], label=f"{n} members") for n in colours]
    if (families["read"] != interpretable).any():
        handles.append(plt.Line2D([], [], color="#b0b0b0", marker="o", mfc="white", linestyle="none",
                                  label="not read (gate)"))
    if marked is not None and (families["name"] == marked).any():
        handles.append(plt.Line2D([], [], color=CARD_RED, marker="o", mfc="none", linestyle="none", markersize=8,
                                  label="the primary ensemble"))
    axes[0][0].legend(handles=handles, fontsize=8, loc="upper left", frameon=False)
    fig.tight_layout()
    return fig


def paired_changes(table: pd.DataFrame) -> plt.Figure:
    """Paired changes (``label``, ``change``, ``change low/high``), a row each. Behind each
    row, a grey band of +-its own ``MDE`` (changes its test sets cannot tell from 0); on the
    row, model card 000's change for the same contrast (``card``, a dotted red bar) and
    that change scaled to this benchmark's members' gap (``card scaled``, an open red
    diamond). A row without one of these values (NaN) draws nothing for it."""
    missing = {"label", "change", "change low", "change high", "MDE", "card", "card scaled"} - set(table.columns)
    if missing:
        raise ValueError(f"paired_changes() needs the columns {sorted(missing)}; got {list(table.columns)}.")
    fig = interval_plot(table, "change", xlabel="paired change in gap (95 % interval)", reference=0.0)
    ax = fig.axes[0]
    y = np.arange(len(table))[::-1]
    half = 0.35  # each row's marks span this far above and below it
    for row_y, (_, row) in zip(y, table.iterrows()):
        if pd.notna(row["MDE"]):
            ax.fill_betweenx([row_y - half, row_y + half], -row["MDE"], row["MDE"], color="#e0e0e0", zorder=0)
        if pd.notna(row["card"]):
            ax.vlines(row["card"], row_y - half, row_y + half, color=CARD_RED, linestyle=":", linewidth=1.5)
        if pd.notna(row["card scaled"]):
            ax.scatter(row["card scaled"], row_y, marker="D", s=36, facecolors="none", edgecolors=CARD_RED,
                       zorder=3)
    handles = [Patch(color="#e0e0e0", label="within the row's MDE (80 % power)"),
               plt.Line2D([], [], color=CARD_RED, linestyle=":", label="card 000's change"),
               plt.Line2D([], [], color=CARD_RED, marker="D", markerfacecolor="none", linestyle="none",
                          label="card 000's change, scaled to this benchmark")]
    ax.legend(handles=handles, fontsize=7, loc="upper center", bbox_to_anchor=(0.5, -0.25), ncol=3, frameon=False)
    fig.set_size_inches(9, 0.75 * len(table) + 1.8)
    fig.tight_layout()
    return fig


def reliability_diagrams(points: pd.DataFrame) -> plt.Figure:
    """Observed share of fakes against mean predicted probability per bin, one panel per
    model, before and after calibration (``points``: model, stage, predicted, observed,
    videos); marker area follows the number of videos in the bin."""
    models = list(dict.fromkeys(points["model"]))
    fig, axes = plt.subplots(1, len(models), figsize=(3.0 * len(models), 3.2), squeeze=False, sharey=True)
    for ax, model in zip(axes[0], models):
        ax.plot([0, 1], [0, 1], color="grey", linewidth=0.8, linestyle="--")
        for stage, colour in (("before", "#c44e52"), ("after", "#4c72b0")):
            part = points[(points["model"] == model) & (points["stage"] == stage)]
            ax.plot(part["predicted"], part["observed"], color=colour, linewidth=1)
            ax.scatter(part["predicted"], part["observed"], s=8 + 4 * part["videos"], color=colour, label=stage)
        ax.set(title=model, xlabel="predicted fake probability", xlim=(0, 1), ylim=(-0.02, 1.02))
    axes[0][0].set_ylabel("observed share of fakes")
    axes[0][0].legend(fontsize=8, loc="upper left")
    fig.tight_layout()
    return fig


def observed_against_null(pairs: pd.DataFrame, measures: tuple[str, ...]) -> plt.Figure:
    """Each pair's measure (dot, with its bootstrap interval) beside its range under
    independence given the label (grey bar), one panel per measure."""
    fig, axes = plt.subplots(1, len(measures), figsize=(3.6 * len(measures), 0.3 * len(pairs) + 1.4), squeeze=False,
                             sharey=True)
    y = np.arange(len(pairs))[::-1]
    labels = pairs["model a"] + " / " + pairs["model b"]
    for ax, measure in zip(axes[0], measures):
        ax.hlines(y, pairs[f"{measure} null low"], pairs[f"{measure} null high"], color="#cccccc", linewidth=6,
                  label="if independent")
        estimate = pairs[measure].to_numpy()
        errors = np.abs([estimate - pairs[f"{measure} low"].to_numpy(), pairs[f"{measure} high"].to_numpy() - estimate])
        ax.errorbar(estimate, y, xerr=errors, fmt="o", color="#4c72b0", ecolor="#8fa8d0", capsize=2, markersize=4,
                    label="observed")
        ax.set(title=measure)
    axes[0][0].set_yticks(y, labels, fontsize=8)
    axes[0][0].legend(fontsize=8, loc="lower left")
    fig.tight_layout()
    return fig
