"""Figures whose reading depends on how rows are placed and coloured."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.colors import to_hex

from analysis.book import plots


def test_family_intervals_sorts_each_family_and_greys_what_the_gate_does_not_read():
    rows = [("soft_vote(a+b)", 0.03, "gap", "ok"), ("soft_vote(a+b+c)", -0.01, "gap", "ok"),
            ("stacking(a+b)", 0.02, "gap", "no"), ("soft_vote(a+b)", 0.10, "cross", "ok"),
            ("soft_vote(a+b+c)", 0.05, "cross", "ok"), ("stacking(a+b)", 0.07, "cross", "ok")]
    families = pd.DataFrame(rows, columns=["name", "estimate", "family", "read"])
    families = families.assign(low=families["estimate"] - 0.01, high=families["estimate"] + 0.01)
    fig = plots.family_intervals(families, interpretable="ok", marked="soft_vote(a+b)", xlabels={"gap": "right: wider"})
    gap, cross = fig.axes
    assert [gap.get_title(), cross.get_title()] == ["gap", "cross"]
    assert gap.get_xlabel() == "right: wider" and "interval" in cross.get_xlabel()
    ring = gap.collections[-1].get_offsets()  # the primary, ringed where it sorts in each panel
    assert [tuple(p) for p in ring] == [(0.03, 2.0)] and [tuple(p) for p in cross.collections[-1].get_offsets()] == [(0.10, 2.0)]
    placed = {}
    for line in gap.lines:  # one marker line per (members, read) group
        for x, y in zip(line.get_xdata(), line.get_ydata()):
            placed[round(float(x), 3)] = (int(y), to_hex(line.get_markerfacecolor()))
    assert [placed[x][0] for x in (-0.01, 0.02, 0.03)] == [0, 1, 2]  # sorted by the estimate
    assert placed[0.02][1] == "#ffffff"  # not read: an open marker
    assert placed[0.03][1] != placed[-0.01][1]  # two and three members differ in colour
    labels = [t.get_text() for t in gap.get_legend().get_texts()]
    assert labels == ["2 members", "3 members", "not read (gate)", "the primary ensemble"]
    assert np.isclose(gap.lines[-1].get_xdata()[0], 0.0)  # the line at no change


def test_each_heatmap_has_its_colour_bar_and_its_centre_is_white():
    matrix = pd.DataFrame([[0.2, 0.5], [0.8, 0.5]], index=["a", "b"], columns=["a", "b"])
    fig = plots.heatmaps({"kappa": matrix, "auc": matrix + 0.1}, centre={"auc": 0.6})
    bars = [ax for ax in fig.axes if ax.get_label() == "<colorbar>"]
    assert len(bars) == 2
    mesh = fig.axes[1].collections[0]  # the second heatmap, centred on 0.6
    white = mesh.cmap(mesh.norm(0.6))
    assert min(white[:3]) > 0.9  # vlag is white at its centre
    plt.close(fig)
