"""Training under torchrun: each rank on its LOCAL_RANK device, every decision shared,
validation and scoring sharded and gathered (analysis.training.distributed)."""

from __future__ import annotations

import json
import socket
from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch.multiprocessing as mp

from analysis.errors import UserInputError
from analysis.profiles import get_profile
from analysis.training import distributed, trainer
from tests.conftest import train_config, without_batch_statistics


def test_device_follows_local_rank():
    """A CUDA profile puts the process of LOCAL_RANK k on cuda:k (checked without a GPU)."""
    assert distributed.rank_device("cuda", {"LOCAL_RANK": "3", "RANK": "7"}) == "cuda:3"
    assert distributed.rank_device("cuda", {}) == "cuda:0"
    assert distributed.rank_device("cpu", {"LOCAL_RANK": "3"}) == "cpu"
    with pytest.raises(ValueError, match="LOCAL_RANK"):
        distributed.rank_device("cuda", {"LOCAL_RANK": "x"})


def test_backend_follows_the_device_not_the_machine():
    """NCCL for GPU ranks; a CUDA machine training on its CPU (-o device=cpu) uses gloo."""
    assert distributed.backend("cuda:1") == "nccl"
    assert distributed.backend("cpu") == "gloo"


def test_a_single_process_is_left_alone(monkeypatch):
    monkeypatch.delenv("RANK", raising=False)
    assert distributed.setup("cpu") == distributed.Context(0, 1, "cpu")


def test_shards_gather_back_in_order():
    rows = pd.DataFrame({"video_id": [f"v{i}" for i in range(7)]})
    shards = [distributed.shard(rows, distributed.Context(r, 3)) for r in range(3)]
    assert sorted(sum((list(s["video_id"]) for s in shards), [])) == sorted(rows["video_id"])
    merged = [None] * 7
    for r, s in enumerate(shards):
        merged[r::3] = list(s["video_id"])
    assert merged == list(rows["video_id"])  # gather's interleaving undoes shard


def test_micro_batch_splits_the_step_or_says_why():
    recipe = get_profile("tiny").recipe
    assert trainer.micro_batch(replace(recipe, batch_size=32, grad_accumulation=4), world=2) == 4
    with pytest.raises(UserInputError, match="split evenly"):
        trainer.micro_batch(replace(recipe, batch_size=32, grad_accumulation=3), world=2)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _join(rank: int, world: int, port: int) -> distributed.Context:
    import os

    os.environ.update(RANK=str(rank), LOCAL_RANK=str(rank), WORLD_SIZE=str(world), MASTER_ADDR="127.0.0.1",
                      MASTER_PORT=str(port))
    return distributed.setup("cpu")


def _collectives(rank: int, world: int, port: int, folder: str) -> None:
    """Each rank holds different values; gather and share must give every rank the same."""
    ctx = _join(rank, world, port)
    local = [10 * rank + i for i in range(3 - rank)]  # shards of unequal length
    gathered = distributed.gather(local, ctx)
    decided = distributed.share([rank + 0.5, float("nan")], ctx)
    Path(folder, f"{rank}.json").write_text(json.dumps({"gathered": gathered, "decided": decided}))


def test_ranks_with_different_values_receive_the_same(tmp_path):
    mp.spawn(_collectives, args=(2, _free_port(), str(tmp_path)), nprocs=2)
    results = [json.loads((tmp_path / f"{r}.json").read_text(), parse_constant=float) for r in (0, 1)]
    assert results[0]["gathered"] == results[1]["gathered"] == [0, 10, 1, 11, 2]
    assert results[0]["decided"][0] == results[1]["decided"][0] == 0.5  # rank 0's value
    assert all(np.isnan(r["decided"][1]) for r in results)


def _train_rank(rank: int, world: int, port: int, prepared: tuple, folder: str) -> None:
    """One rank of a 2-process run whose ranks see different validation shards and whose
    clocks disagree: rank 1's runs a million times fast, so its own clock says the run
    hung after every epoch. Each rank logs the decisions it took."""
    _join(rank, world, port)
    if rank == 1:
        real_clock = trainer.clock
        trainer.clock = lambda: 1e6 * real_clock()
    decisions = []
    real_auc, real_stop = trainer.validation_metrics, trainer._stop_reason

    def logged_auc(model, val_split, *args):
        value = real_auc(model, val_split, *args)
        decisions.append({"shard": list(val_split.videos["video_id"]), "validation": list(value[:2])})
        return value

    def logged_stop(epoch, stages, stage, stale, recipe, over):
        reason = real_stop(epoch, stages, stage, stale, recipe, over)
        decisions[-1].update(stale=stale, over=over, stop=reason)
        return reason

    trainer.validation_metrics, trainer._stop_reason = logged_auc, logged_stop
    recipe = replace(get_profile("tiny").recipe, epochs=3, patience=1, hang_guard_seconds=600.0)
    profile = replace(get_profile("tiny"), recipe=recipe)
    trainer.train(replace(train_config(prepared, Path(folder) / "run"), profile=profile))
    Path(folder, f"decisions{rank}.json").write_text(json.dumps(decisions))


def test_ranks_that_see_different_data_take_the_same_decisions(prepared, tmp_path):
    mp.spawn(_train_rank, args=(2, _free_port(), tuple(str(p) for p in prepared), str(tmp_path)), nprocs=2)
    ranks = [json.loads((tmp_path / f"decisions{r}.json").read_text()) for r in (0, 1)]
    assert ranks[0] and ranks[0][0]["shard"] != ranks[1][0]["shard"]  # each rank validated other videos
    strip = lambda log: [{k: v for k, v in d.items() if k != "shard"} for d in log]  # noqa: E731
    assert strip(ranks[0]) == strip(ranks[1])
    assert not any(d["over"] for d in ranks[1])  # rank 0's clock decided, not rank 1's
    record = json.loads((tmp_path / "run" / "record.json").read_text())
    assert record["world_size"] == 2 and record["stop_reason"] != trainer.HANG_GUARD
    assert [h["val_auc"] for h in record["history"]] == [d["validation"][0] for d in ranks[0]]


def test_gradient_accumulation_matches_one_pass(prepared, tmp_path, monkeypatch):
    """Four micro-batches per step train what one pass over the step trains."""
    monkeypatch.setattr(trainer, "create_model", without_batch_statistics)
    tiny = get_profile("tiny")
    accumulated = replace(tiny, recipe=replace(tiny.recipe, grad_accumulation=4))
    runs = [trainer.train(replace(train_config(prepared, tmp_path / name, model="vit_b16"), profile=profile))
            for name, profile in (("one", tiny), ("four", accumulated))]
    records = [json.loads((r / "record.json").read_text()) for r in runs]
    assert [r["micro_batch"] for r in records] == [8, 2]
    assert records[1]["recipe"]["grad_accumulation"] == 4 and records[1]["recipe"]["batch_size"] == 8
    losses = [[h["train_loss"] for h in r["history"]] for r in records]
    np.testing.assert_allclose(losses[0], losses[1], atol=1e-5)
    a, b = (pd.read_csv(r / "scores.csv") for r in runs)
    assert np.abs(a["score"] - b["score"]).max() < 1e-4


def _train_without_batch_statistics(rank: int, world: int, port: int, prepared: tuple, folder: str) -> None:
    _join(rank, world, port)
    trainer.create_model = without_batch_statistics
    tiny = get_profile("tiny")
    profile = replace(tiny, recipe=replace(tiny.recipe, grad_accumulation=2))
    trainer.train(replace(train_config(prepared, Path(folder) / "ddp", model="vit_b16"), profile=profile))


@pytest.mark.slow
def test_two_processes_with_micro_batches_match_one_process(prepared, tmp_path, monkeypatch):
    """2 gloo processes, each running its half of every step in 2 micro-batches, train what
    one process trains in one pass per step (the model without BatchNorm, as above)."""
    mp.spawn(_train_without_batch_statistics, args=(2, _free_port(), tuple(str(p) for p in prepared), str(tmp_path)),
             nprocs=2)
    monkeypatch.setattr(trainer, "create_model", without_batch_statistics)
    single = trainer.train(train_config(prepared, tmp_path / "single", model="vit_b16"))
    records = [json.loads((r / "record.json").read_text()) for r in (single, tmp_path / "ddp")]
    assert (records[1]["world_size"], records[1]["micro_batch"]) == (2, 2)
    for key in ("train_loss", "val_auc"):
        np.testing.assert_allclose([h[key] for h in records[0]["history"]],
                                   [h[key] for h in records[1]["history"]], atol=1e-5)
    a, b = (pd.read_csv(r / "scores.csv") for r in (single, tmp_path / "ddp"))
    assert a[["method", "video_id", "frame_index"]].equals(b[["method", "video_id", "frame_index"]])
    assert np.abs(a["score"] - b["score"]).max() < 1e-4
