"""Detectors: a registry of model specs and the builders that make them.

A profile (:mod:`analysis.profiles`) picks each model's variant from this registry, so this
package never imports the profiles: the functions here take a resolved profile object.
"""

from dataclasses import replace
from pathlib import Path

import pandas as pd
from torch import nn

from analysis.models import zoo  # noqa: F401  (registers the models)
from analysis.models.registry import ModelSpec, Variant, get_spec, list_models, register_model

__all__ = ["ModelSpec", "Variant", "create_model", "get_spec", "list_models", "register_model", "model_table"]


def create_model(name: str, profile, weights_dir: Path | None = None) -> nn.Module:
    """Build a registered model in ``profile``'s variant of it (a resolved
    :class:`analysis.profiles.Profile`: ``get_profile(name)`` for a named one)."""
    return get_spec(name).builder(profile.variant(name), weights_dir=weights_dir)


def model_table(profiles) -> pd.DataFrame:
    """One row per model: view, input, and per profile (resolved profile objects) its
    architecture, size, frames, parameter count and how it differs from the model card
    (the ``cpu vs card`` column, when the ``paper`` and ``cpu`` profiles are both given)."""
    by_name = {profile.name: profile for profile in profiles}
    rows = []
    for name in list_models():
        spec = get_spec(name)
        row = {"model": name, "card": spec.card, "view": spec.view, "input": spec.input_kind, "schedule": spec.schedule}
        for profile, settings in by_name.items():
            variant = settings.variant(name)
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
