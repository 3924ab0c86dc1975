"""Identity components and the split schemes."""

from __future__ import annotations

import pandas as pd
import pytest

from analysis.errors import UserInputError
from analysis.data.manifest import check_disjoint
from analysis.data.splits import (
    ffpp_id_partitions,
    identity_components,
    identity_groups,
    identity_split,
    ids_by_split,
)


def test_components_follow_chains_of_swaps():
    ids = ["a", "b", "c", "d", "e", "f"]
    edges = [("a", "b"), ("c", "b"), ("d", "e")]
    assert identity_components(ids, edges) == [["a", "b", "c"], ["d", "e"], ["f"]]


def test_identity_split_keeps_components_whole_and_hits_fractions():
    ids = [f"{i:03d}" for i in range(300)]
    edges = [(ids[i], ids[i + 1]) for i in range(0, 300, 3)] + [(ids[i + 1], ids[i + 2]) for i in range(0, 300, 3)]
    assignment = identity_split(ids, edges, seed=4)
    for a, b in edges:
        assert assignment[a] == assignment[b]
    sizes = {s: sum(v == s for v in assignment.values()) for s in ("train", "val", "test")}
    assert sizes == {"train": 210, "val": 45, "test": 45}


def test_identity_split_is_deterministic_per_seed():
    ids = [str(i) for i in range(100)]
    assert identity_split(ids, [], seed=1) == identity_split(ids, [], seed=1)
    assert identity_split(ids, [], seed=1) != identity_split(ids, [], seed=2)


def test_official_ffpp_partition_sizes():
    partitions = ffpp_id_partitions(seed=0)
    assert len(partitions) == 1000
    assert partitions["official"].value_counts().to_dict() == {"train": 720, "val": 140, "test": 140}
    assert partitions["identity"].value_counts().to_dict() == {"train": 700, "val": 150, "test": 150}


def test_overlapping_split_files_are_refused():
    with pytest.raises(UserInputError, match="'x' in both 'train' and 'val'"):
        ids_by_split({"train": [("x", "y")], "val": [("x", "z")]})


def test_check_disjoint_names_the_leaking_id():
    check_disjoint([(("a", "b"), "train"), (("c", ""), "test")])
    with pytest.raises(UserInputError, match="'b' appears in both 'train' and 'test'"):
        check_disjoint([(("a", "b"), "train"), (("b", ""), "test")])


def test_identity_groups_join_a_pair_and_every_video_made_from_it():
    manifest = pd.DataFrame({
        "dataset": ["d"] * 6 + ["e"],
        "source_id": ["a", "b", "a", "b", "c", "c", "a"],
        "target_id": ["", "", "b", "a", "", "d", ""],
    })
    groups = identity_groups(manifest)
    assert groups.tolist() == ["d/a", "d/a", "d/a", "d/a", "d/c", "d/c", "e/a"]  # datasets never share a group


@pytest.mark.parametrize("seed", [-1, 1.5, True, "0"])
def test_identity_split_refuses_a_seed_that_is_not_a_whole_number_0_or_above(seed):
    with pytest.raises(UserInputError, match="seed must be a whole number 0 or above"):
        identity_split(["a", "b"], [], seed=seed)
