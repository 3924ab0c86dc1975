"""Detectors: a registry of model specs and the builders that make them.

A profile (:mod:`analysis.profiles`) picks each model's variant from this registry, so this
package never imports the profiles: the functions here take a resolved profile object.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd

from analysis.models import zoo  # noqa: F401  (registers the models)
from analysis.errors import UserInputError
from analysis.models.registry import VIDEO, ModelSpec, Variant, get_spec, list_models, register_model

if TYPE_CHECKING:  # reading the registry imports no PyTorch; building a model does
    from torch import nn

__all__ = ["ModelSpec", "Variant", "create_model", "get_spec", "item_frames", "list_models", "register_model",
           "model_table", "spec_for"]


def spec_for(name: str, profile) -> ModelSpec:
    """The registry entry of ``name`` as ``profile`` (a resolved profile) trains and scores
    it: a frame model whose recipe pools its frames' features (``aggregation:
    mean_features``) reads whole videos (input kind :data:`~analysis.models.registry.VIDEO`)
    and is built by its pooled builder; every other model as registered."""
    spec = get_spec(name)
    recipe = profile.recipe_for(spec.name)
    if not recipe.pools_features:
        return spec
    if spec.pooled_builder is None:
        poolable = [m for m in list_models() if get_spec(m).pooled_builder is not None]
        raise UserInputError(f"recipe.aggregation={recipe.aggregation} pools a frame model's features per video; "
                             f"{spec.name} ({spec.input_kind} input) cannot. Models that can: {', '.join(poolable)}.")
    return replace(spec, input_kind=VIDEO, builder=spec.pooled_builder)


def item_frames(spec: ModelSpec, variant: Variant, profile) -> int:
    """Frames in one training item of ``spec`` (as :func:`spec_for` gives it): one for a
    frame model, every cached frame of the video for a pooling one, the variant's clip or
    sequence length else."""
    if spec.input_kind == "frame":
        return 1
    if spec.input_kind == VIDEO:
        return profile.preprocessing.frames_per_video
    return variant.frames


def create_model(name: str, profile, weights_dir: Path | None = None) -> nn.Module:
    """Build a registered model in ``profile``'s variant of it (a resolved
    :class:`analysis.profiles.Profile`: ``get_profile(name)`` for a named one), pooled per
    video where its recipe says so (:func:`spec_for`)."""
    return spec_for(name, profile).builder(profile.variant(name), weights_dir=weights_dir)


def model_table(profiles) -> pd.DataFrame:
    """One row per model: view, input, and per profile (resolved profile objects) its
    architecture, size, frames, parameter count and how it differs from the model card
    (the ``cpu vs card`` column, when the ``paper`` and ``cpu`` profiles are both given).
    The models are built on PyTorch's meta device, which counts their parameters without
    allocating or initialising them (0.6 s for both profiles' 18 models against 3.3)."""
    import torch

    by_name = {profile.name: profile for profile in profiles}
    rows = []
    for name in list_models():
        spec = get_spec(name)
        row = {"model": name, "card": spec.card, "view": spec.view, "input": spec.input_kind, "schedule": spec.schedule}
        for profile, settings in by_name.items():
            variant = settings.variant(name)
            with torch.device("meta"):
                model = spec.builder(replace_pretrained(variant))
            row[f"{profile} arch"] = variant.arch
            row[f"{profile} input"] = f"{variant.frames}x{variant.input_size}px" if variant.frames > 1 else f"{variant.input_size}px"
            row[f"{profile} params (M)"] = round(sum(p.numel() for p in model.parameters()) / 1e6, 1)
            row[f"{profile} note"] = variant.note
        if {"paper", "cpu"} <= set(by_name):
            row["cpu vs card"] = card_differences(by_name["paper"].variant(name), by_name["cpu"].variant(name))
        rows.append(row)
    return pd.DataFrame(rows)


def card_differences(paper: Variant, cpu: Variant) -> str:
    """How a cpu variant departs from the model card's: a smaller member of the same family
    (another architecture name), a smaller input, fewer frames, random initialisation."""
    found = []
    if paper.arch.split(".")[0] != cpu.arch.split(".")[0]:
        found.append(f"smaller member ({cpu.arch.split('.')[0]} for {paper.arch.split('.')[0]})")
    if cpu.input_size < paper.input_size:
        found.append(f"smaller input ({cpu.input_size} for {paper.input_size} px)")
    if cpu.frames < paper.frames:
        found.append(f"fewer frames ({cpu.frames} for {paper.frames})")
    if paper.pretrained and not cpu.pretrained:
        found.append("random init")
    return "; ".join(found) or "as the card"


def replace_pretrained(variant: Variant) -> Variant:
    """The same variant with random weights (to count parameters without downloading)."""
    return replace(variant, pretrained=False)
