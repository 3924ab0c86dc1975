"""The cpu benchmark is sized by the power module, at the documented planning values."""

from __future__ import annotations

from dataclasses import replace

from analysis.benchmark.sizing import MAX_VAL_WIDTH, PLANNING, TARGET_MDE, design_table, primary_mde, required_pairs, validation_width
from analysis.benchmark.generator import SIZES, SUBSETS


def test_cpu_size_resolves_the_primary_endpoint_and_validation():
    size = SIZES["cpu"]
    assert primary_mde(size) <= TARGET_MDE
    assert validation_width(size) <= MAX_VAL_WIDTH
    needed = required_pairs(size)
    assert needed["val_pairs"] <= size.val_pairs and needed["target_pairs"] <= size.target_pairs
    # and it is not oversized by more than a rounding: one pair fewer per subset misses
    assert primary_mde(replace(size, target_pairs=needed["target_pairs"] - 1)) > TARGET_MDE


def test_design_table_counts_the_generated_videos():
    size = SIZES["cpu"]
    table = design_table(size).set_index("set")
    source = SUBSETS["source"]
    assert table.loc["source test", "real videos"] == 2 * size.test_pairs
    assert table.loc["source test", "fake videos"] == source.fakes_per_pair * size.test_pairs
    targets = [s for s in SUBSETS.values() if s.domain == "target"]
    assert table.loc["target test", "identity groups"] == size.target_pairs * len(targets)
    assert table.loc["target test", "fake videos"] == sum(s.fakes_per_pair for s in targets) * size.target_pairs
    assert table.attrs["primary_mde"] == primary_mde(size)


def test_weaker_planning_needs_more_pairs():
    size = SIZES["cpu"]
    harder = replace(PLANNING, auc_cross=0.7, correlation=0.5)
    assert required_pairs(size, harder)["target_pairs"] > required_pairs(size)["target_pairs"]
