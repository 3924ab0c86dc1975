"""Detectors: a registry of model specs and the builders that make them."""

from dataclasses import replace
from pathlib import Path

import pandas as pd
from torch import nn

from analysis.models import zoo  # noqa: F401  (registers the models)
from analysis.models.registry import ModelSpec, Variant, get_spec, list_models, register_model

__all__ = ["ModelSpec", "Variant", "create_model", "get_spec", "list_models", "register_model", "model_table"]


def create_model(name: str, profile: str, weights_dir: Path | None = None) -> nn.Module:
    """Build a registered model in its variant for ``profile``."""
    spec = get_spec(name)
    return spec.builder(spec.variant(profile), weights_dir=weights_dir)


def model_table(profiles: tuple[str, ...] = ("paper", "cpu")) -> pd.DataFrame:
    """One row per model: view, input, and per profile its architecture, size, frames,
    parameter count and how it differs from the model card."""
    rows = []
    for name in list_models():
        spec = get_spec(name)
        row = {"model": name, "card": spec.card, "view": spec.view, "input": spec.input_kind, "recipe": spec.recipe}
        for profile in profiles:
            variant = spec.variant(profile)
            model = spec.builder(replace_pretrained(variant))
            row[f"{profile} arch"] = variant.arch
            row[f"{profile} input"] = f"{variant.frames}x{variant.input_size}px" if variant.frames > 1 else f"{variant.input_size}px"
            row[f"{profile} params (M)"] = round(sum(p.numel() for p in model.parameters()) / 1e6, 1)
            row[f"{profile} note"] = variant.note
        rows.append(row)
    return pd.DataFrame(rows)


def replace_pretrained(variant: Variant) -> Variant:
    """The same variant with random weights (to count parameters without downloading)."""
    return replace(variant, pretrained=False)
