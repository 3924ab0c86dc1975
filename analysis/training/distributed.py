"""Training under ``torchrun``: which device a process uses, and the few collectives that
keep the processes of one run in step.

Why a module: a distributed run is correct only if every rank works on its own GPU
(``LOCAL_RANK``; otherwise every rank lands on ``cuda:0``), every collective uses tensors
on the backend's device (NCCL reads CUDA tensors only), and every decision that changes
what a rank does next (the validation AUC, the plateau step, early stopping, the hang
guard, the best checkpoint) is computed once, on rank 0, and shared. A rank that decided
on its own data or its own clock could stop while the others wait in the next collective.

Multi-node runs use torchrun's own options (``--nnodes``, ``--rdzv-backend``,
``--rdzv-endpoint``, README "Several GPUs and several machines"); nothing here depends on
how many machines the ranks are spread over. A single process (no ``RANK`` in the
environment) never touches ``torch.distributed``.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import pandas as pd
import torch
import torch.distributed as dist

from analysis.profiles import CUDA

NCCL, GLOO = "nccl", "gloo"


@dataclass(frozen=True)
class Context:
    """This process's place in the run: its global rank, the number of processes, and
    the device its model, batches and collectives live on."""

    rank: int = 0
    world: int = 1
    device: str = "cpu"

    @property
    def main(self) -> bool:
        """Rank 0 decides and writes."""
        return self.rank == 0

    @property
    def distributed(self) -> bool:
        return self.world > 1


def rank_device(device: str, environ: Mapping[str, str] = os.environ) -> str:
    """The device of this process: ``cuda:<LOCAL_RANK>`` for a CUDA profile (torchrun sets
    ``LOCAL_RANK`` to the process's index on its machine), the profile's device otherwise."""
    if device != CUDA:
        return device
    local_rank = environ.get("LOCAL_RANK", "0")
    if not local_rank.isdigit():
        raise ValueError(f"LOCAL_RANK={local_rank!r} is not a process index; launch with torchrun")
    return f"{CUDA}:{int(local_rank)}"


def backend(device: str) -> str:
    """NCCL for GPU ranks, gloo for CPU ranks (a CUDA machine training on its CPU too)."""
    return NCCL if torch.device(device).type == CUDA else GLOO


def setup(device: str) -> Context:
    """Join the process group when launched by torchrun (``RANK`` set) and bind this
    process to its device; a single process keeps ``device`` unchanged."""
    if "RANK" not in os.environ:
        return Context(device=device)
    mine = rank_device(device)
    if torch.device(mine).type == CUDA:
        index = torch.device(mine).index
        if index >= torch.cuda.device_count():
            raise RuntimeError(f"LOCAL_RANK {index} but this machine has {torch.cuda.device_count()} GPU(s): "
                               "start torchrun with --nproc-per-node at most the number of GPUs")
        torch.cuda.set_device(mine)
    if not dist.is_initialized():
        dist.init_process_group(backend(mine))
    return Context(dist.get_rank(), dist.get_world_size(), mine)


def shard(rows: pd.DataFrame, ctx: Context) -> pd.DataFrame:
    """This rank's rows of a validation or scoring set: every ``world``-th row from its
    rank, so the shards differ by at most one video (:func:`gather` undoes it)."""
    return rows.iloc[ctx.rank :: ctx.world]


def gather(items: Sequence, ctx: Context) -> list:
    """Every rank's :func:`shard` results, back in the order of the unsharded rows (on
    every rank)."""
    if not ctx.distributed:
        return list(items)
    parts: list[list] = [[] for _ in range(ctx.world)]
    dist.all_gather_object(parts, list(items))
    merged = [None] * sum(len(p) for p in parts)
    for rank, part in enumerate(parts):
        merged[rank :: ctx.world] = part
    return merged


def share(values: Sequence[float], ctx: Context) -> list[float]:
    """Rank 0's ``values``, on every rank: the one way a rank learns a decision."""
    if not ctx.distributed:
        return [float(v) for v in values]
    tensor = torch.tensor([float(v) for v in values], dtype=torch.float64, device=ctx.device)
    dist.broadcast(tensor, src=0)
    return tensor.tolist()


def share_object(obj, ctx: Context):
    """Rank 0's ``obj`` (a checkpoint read from its disk, or None), on every rank. Send
    CPU tensors: CUDA ones would arrive on the sender's GPU index."""
    if not ctx.distributed:
        return obj
    box = [obj if ctx.main else None]
    dist.broadcast_object_list(box, src=0, device=torch.device(ctx.device))
    return box[0]


def sum_over_ranks(tensor: torch.Tensor, ctx: Context) -> torch.Tensor:
    """``tensor`` summed over the ranks, in place (it must be on ``ctx.device``)."""
    if ctx.distributed:
        dist.all_reduce(tensor)
    return tensor
