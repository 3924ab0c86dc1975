"""Does a paper model's training step fit a GPU? Parameters and activation memory per
sample, measured on the CPU, and the micro-batch and gradient accumulation that follow.

Why: the paper recipe's step of 32 items is 640 ResNeXt-50 passes for the ResNeXt + LSTM
(20 frames an item), several times what a 24 GB card holds at once. The profile keeps the
card's batch and splits each step into micro-batches (``Recipe.grad_accumulation``). How
much a step needs is measured without a GPU: the bytes autograd saves for the backward
pass during a training step's forward (the activations a GPU must hold at the peak of the
step), at two batch sizes, so that the difference is the cost of one more sample. The
figures are stored in :data:`MEMORY_FILE` by ``benchmarks/model_memory.py``; the training
chapter reads them, and ``benchmarks/gpu_check.sh`` measures the real peak on a GPU.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pandas as pd
import torch

from analysis.paths import STORED_DIR
from analysis.profiles import Profile, apply_overrides, as_profile

MEMORY_FILE = STORED_DIR / "paper_memory.csv"
GPU_GIB = 24.0  # the card the paper profile is planned for (an RTX 3090/4090 or an A5000)
# share of the card the estimate may fill: the CUDA context, the allocator's fragmentation,
# cuDNN workspaces and the gradients that live beside the activations during backward
HEADROOM = 0.8
# per parameter: fp32 weight, its gradient and AdamW's two moments (16 bytes), and the
# fp16 copy autocast makes of it for the forward pass (2)
PARAMETER_BYTES = 18
MEASURED_BATCHES = (1, 2)  # two batch sizes: the difference is one sample's activations
GIB = 2**30
COLUMNS = ("model", "arch", "input", "parameters", "activation_mib_per_sample", "fixed_activation_mib")


def saved_for_backward(model: torch.nn.Module, inputs: torch.Tensor) -> tuple[torch.Tensor, int]:
    """Forward ``inputs`` and count the bytes autograd keeps for the backward pass: every
    distinct storage saved, parameters excluded (they are counted once, as parameters).
    Returns the outputs and the byte count."""
    parameters = {p.untyped_storage().data_ptr() for p in model.parameters()}
    saved: dict[int, int] = {}

    def keep(tensor: torch.Tensor) -> torch.Tensor:
        storage = tensor.untyped_storage()
        if storage.data_ptr() not in parameters:
            saved[storage.data_ptr()] = storage.nbytes()
        return tensor

    with torch.autograd.graph.saved_tensors_hooks(keep, lambda tensor: tensor):
        outputs = model(inputs)
    return outputs, sum(saved.values())


def step_function(name: str, profile: Profile | str, batch: int, device: str = "cpu",
                  amp: bool = False) -> tuple[torch.nn.Module, Callable[[], int]]:
    """One training step of ``name`` (the profile's variant, random initialisation: the
    architecture, not the weights, decides memory and speed) on a fixed random batch of
    ``batch`` items: forward (fp16 autocast if ``amp``), the trainer's loss, backward and
    AdamW. Returns the model and a function that runs a step and returns the bytes its
    forward saved for the backward pass. A sample is one item of the trainer: a frame for frame models, a
    video's frames for frame models that pool them, a clip or a sequence of frames otherwise."""
    from analysis.models import create_model, item_frames, spec_for
    from analysis.models.base import ANOMALY
    from analysis.training.crop_datasets import model_layout
    from analysis.training.scoring import autocast
    from analysis.training.trainer import class_weights, one_class_loss, weighted_loss

    profile = apply_overrides(as_profile(profile), ["models.pretrained=false"])
    spec, variant = spec_for(name, profile), profile.variant(name)
    frames = item_frames(spec, variant, profile)
    torch.manual_seed(0)
    model = create_model(name, profile).to(device)
    inputs = model_layout(torch.randn(batch, frames, 3, variant.input_size, variant.input_size), spec).to(device)
    labels = (torch.arange(batch) % 2).to(device)
    weights = class_weights(torch.tensor([0, 1]).numpy()).to(device)
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-5)
    scaler = torch.amp.GradScaler("cuda", enabled=amp)
    model.train()
    model.pre_fit([inputs])

    def step() -> int:
        with autocast(device, amp):
            outputs, saved = saved_for_backward(model, inputs)
            outputs = outputs.float()
            loss = one_class_loss(outputs)[0] if model.loss_kind == ANOMALY else weighted_loss(outputs, labels,
                                                                                               weights, 1)[0]
        optimizer.zero_grad(set_to_none=True)
        scaler.scale(loss).backward()
        scaler.step(optimizer)
        scaler.update()
        return saved

    return model, step


def measure(name: str, profile: Profile | str = "paper", steps: int = 2) -> dict:
    """Parameters and activation memory of ``name`` at the profile's input size, from
    ``steps`` training steps at each of :data:`MEASURED_BATCHES` items, in fp32 on the CPU."""
    from analysis.models import item_frames, spec_for

    saved = {}
    for batch in MEASURED_BATCHES:
        model, step = step_function(name, profile, batch)
        saved[batch] = [step() for _ in range(steps)][-1]
    variant = as_profile(profile).variant(name)
    frames = item_frames(spec_for(name, profile), variant, profile)
    small, large = MEASURED_BATCHES
    per_sample = (saved[large] - saved[small]) / (large - small)
    size = f"{variant.input_size}" if frames == 1 else f"{frames}x{variant.input_size}"
    return {"model": name, "arch": variant.arch, "input": size,
            "parameters": sum(p.numel() for p in model.parameters()),
            "activation_mib_per_sample": round(per_sample / 2**20, 2),
            "fixed_activation_mib": round(max(saved[small] - per_sample, 0) / 2**20, 2)}


def step_gib(parameters: int, per_sample_mib: float, fixed_mib: float, micro_batch: int) -> float:
    """Estimated peak GPU memory of a training step of ``micro_batch`` items, in GiB:
    parameters with their gradients, optimiser state and fp16 copy, plus the activations.
    The activations are counted in fp32 as measured; under autocast most are fp16, so the
    estimate errs high."""
    return (parameters * PARAMETER_BYTES + (fixed_mib + micro_batch * per_sample_mib) * 2**20) / GIB


def accumulation_needed(row: pd.Series | dict, batch_size: int, gpu_gib: float = GPU_GIB,
                        headroom: float = HEADROOM) -> int:
    """The fewest micro-batches a step of ``batch_size`` items splits into (evenly) for
    one GPU of ``gpu_gib`` to hold it within ``headroom``; raises if one item is too many."""
    budget = gpu_gib * headroom
    for parts in range(1, batch_size + 1):
        if batch_size % parts == 0 and step_gib(row["parameters"], row["activation_mib_per_sample"],
                                                row["fixed_activation_mib"], batch_size // parts) <= budget:
            return parts
    raise ValueError(f"{row['model']}: even one item needs more than {budget:.1f} GiB")


def read_measurements(path: Path = MEMORY_FILE) -> pd.DataFrame:
    """The stored measurements, checked."""
    if not Path(path).is_file():
        raise FileNotFoundError(f"no stored memory measurements at {path}: run benchmarks/model_memory.py")
    table = pd.read_csv(path)
    missing = [c for c in COLUMNS if c not in table.columns]
    if missing:
        raise ValueError(f"{path} lacks the column(s) {missing}; rewrite it with benchmarks/model_memory.py")
    return table


def plan(profile: Profile | str = "paper", path: Path = MEMORY_FILE) -> pd.DataFrame:
    """Per measured model: its size and memory, the profile's step (batch, accumulation,
    micro-batch on one GPU), the estimated peak of that micro-batch's step, and the least
    accumulation that fits :data:`GPU_GIB` (the profile must set at least that)."""
    profile = as_profile(profile)
    rows = []
    for row in read_measurements(path).to_dict("records"):
        recipe = profile.recipe_for(row["model"])
        micro = recipe.batch_size // recipe.grad_accumulation
        rows.append({
            "model": row["model"], "arch": row["arch"], "input": row["input"],
            "params (M)": row["parameters"] / 1e6,
            "activations per sample (MiB)": row["activation_mib_per_sample"],
            "batch": recipe.batch_size, "accumulation": recipe.grad_accumulation, "micro-batch": micro,
            "estimated peak (GiB)": step_gib(row["parameters"], row["activation_mib_per_sample"],
                                             row["fixed_activation_mib"], micro),
            "least accumulation": accumulation_needed(row, recipe.batch_size),
        })
    return pd.DataFrame(rows)
