"""Train/val/test splits that never put one identity in two partitions.

Two schemes partition FaceForensics++ source ids:

* ``official``: the benchmark's own split files (pairs of ids per partition);
* ``identity``: connected components of the graph whose nodes are source ids and whose
  edges join the two ids of every manipulated video, shuffled with a seed and dealt
  70/15/15. A face swap ``a_b`` shows parts of both ``a`` and ``b``, so both must stay
  on the same side; components make that true for any set of videos, including the
  embedded benchmark.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from pathlib import Path

import numpy as np
import pandas as pd

from analysis.errors import UserInputError
from analysis.data.manifest import SPLITS
from analysis.paths import FFPP_SPLIT_DIR

IDENTITY_FRACTIONS = {"train": 0.70, "val": 0.15, "test": 0.15}


def load_official_pairs(split_dir: Path = FFPP_SPLIT_DIR) -> dict[str, list[tuple[str, str]]]:
    """Read ``train.json``, ``val.json`` and ``test.json``: lists of ``[id, id]`` pairs."""
    pairs: dict[str, list[tuple[str, str]]] = {}
    for split in SPLITS:
        path = Path(split_dir) / f"{split}.json"
        if not path.is_file():
            raise UserInputError(
                f"The official split file {path} is missing; expected train.json, val.json "
                f"and test.json in {split_dir} (shipped under data_manifests/ffpp_splits)."
            )
        try:
            entries = json.loads(path.read_text())
        except (json.JSONDecodeError, UnicodeDecodeError) as err:
            raise UserInputError(f"The split file {path} is not valid JSON ({err}).") from err
        if not isinstance(entries, list) or not all(
            isinstance(e, list) and len(e) == 2 and all(isinstance(i, str) for i in e)
            for e in entries
        ):
            raise UserInputError(
                f"The split file {path} is malformed: expected a JSON list of "
                '[id, id] pairs of strings, such as [["071", "054"], ...].'
            )
        pairs[split] = [(a, b) for a, b in entries]
    return pairs


def ids_by_split(pairs: Mapping[str, Iterable[tuple[str, str]]]) -> dict[str, str]:
    """Map every id to its partition; raise if one id sits in two partitions."""
    assignment: dict[str, str] = {}
    for split, split_pairs in pairs.items():
        for pair in split_pairs:
            for source_id in pair:
                previous = assignment.setdefault(source_id, split)
                if previous != split:
                    raise UserInputError(
                        f"The split puts id {source_id!r} in both {previous!r} and {split!r}; "
                        "a source id must belong to exactly one partition."
                    )
    return assignment


def identity_components(ids: Iterable[str], edges: Iterable[tuple[str, str]]) -> list[list[str]]:
    """Connected components of the id graph (union-find), each sorted, in sorted order."""
    parent: dict[str, str] = {i: i for i in ids}

    def find(node: str) -> str:
        parent.setdefault(node, node)
        while parent[node] != node:
            parent[node] = parent[parent[node]]
            node = parent[node]
        return node

    for a, b in edges:
        root_a, root_b = find(a), find(b)
        if root_a != root_b:
            parent[max(root_a, root_b)] = min(root_a, root_b)
    groups: dict[str, list[str]] = {}
    for node in list(parent):
        groups.setdefault(find(node), []).append(node)
    return sorted(sorted(g) for g in groups.values())


CELEBDF = "celebdf"  # the dataset name the Celeb-DF v2 indexer writes


def celebdf_group(source_id: str, video_id: str) -> str:
    """The bootstrap unit of a Celeb-DF v2 video: the celebrity of the real video it is,
    or that it was made from (``idA`` of ``idA_NNNN`` and ``idA_idB_NNNN``); a YouTube-real
    video, whose name carries no identity, is a group of its own.

    Why not the swap graph's components: Celeb-DF swaps each celebrity's face into many
    others' videos, so the components are a handful (its official 518-video test list
    forms about six) and a bootstrap over them has almost nothing to resample. What makes
    a fake depend on other videos most is the real video it was made from: the fake keeps
    its person, pose, lighting, background and everything outside the inner face, and that
    celebrity's other videos share the person. The donor face ``idB`` links videos too;
    ``analysis.evaluation.group_coverage`` measures what leaving that link out costs.
    """
    return f"{CELEBDF}/{source_id}" if source_id else f"{CELEBDF}/youtube-{video_id}"


def identity_groups(manifest: pd.DataFrame) -> pd.Series:
    """Each video's identity group, the independent unit of the study's bootstrap
    (DESIGN rule 11), named ``<dataset>/<id>``. For Celeb-DF v2 it is
    :func:`celebdf_group`; for every other dataset the connected component of its ids
    (``source_id``, and ``target_id`` for a manipulated video), named after its smallest
    id: a benchmark pair and every video made from it form one group, and so does an
    FF++ pair (each FF++ id is swapped with one other only)."""
    groups = pd.Series("", index=manifest.index, name="group")
    for dataset, rows in manifest.groupby("dataset"):
        if dataset == CELEBDF:
            groups.loc[rows.index] = [celebdf_group(s, v) for s, v in zip(rows["source_id"], rows["video_id"])]
            continue
        edges = [(a, b) for a, b in zip(rows["source_id"], rows["target_id"]) if a and b]
        owner = {i: component[0] for component in identity_components(rows["source_id"], edges) for i in component}
        groups.loc[rows.index] = [f"{dataset}/{owner[i]}" for i in rows["source_id"]]
    return groups


def identity_split(
    ids: Iterable[str],
    edges: Iterable[tuple[str, str]],
    *,
    seed: int,
    fractions: Mapping[str, float] = IDENTITY_FRACTIONS,
) -> dict[str, str]:
    """Deal whole identity components to partitions in a seeded random order.

    Components are shuffled, then each goes to the partition furthest below its target
    share of ids, so partition sizes match ``fractions`` as closely as component sizes
    allow. Returns ``{id: split}``.
    """
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise UserInputError(f"The identity split's seed must be a whole number 0 or above, not {seed!r}.")
    components = identity_components(ids, edges)
    if not components:
        raise UserInputError("There are no ids to split: the dataset has no videos.")
    order = np.random.default_rng(seed).permutation(len(components))
    total = sum(len(c) for c in components)
    filled = {split: 0 for split in fractions}
    assignment: dict[str, str] = {}
    for index in order:
        component = components[index]
        split = min(fractions, key=lambda s: (filled[s] - fractions[s] * total) / fractions[s])
        filled[split] += len(component)
        assignment.update({i: split for i in component})
    return assignment


def ffpp_id_partitions(*, seed: int, split_dir: Path = FFPP_SPLIT_DIR) -> pd.DataFrame:
    """One row per FaceForensics++ source id: its official and identity-split partition.

    The identity split is computed from the official pairs (the ids joined by the
    manipulated videos ``a_b`` and ``b_a``), exactly as ``index ffpp --split identity``
    computes it from the files on disk.
    """
    pairs = load_official_pairs(split_dir)
    official = ids_by_split(pairs)
    edges = [pair for split_pairs in pairs.values() for pair in split_pairs]
    identity = identity_split(official, edges, seed=seed)
    frame = pd.DataFrame({"source_id": sorted(official)})
    frame["official"] = frame["source_id"].map(official)
    frame["identity"] = frame["source_id"].map(identity)
    return frame
