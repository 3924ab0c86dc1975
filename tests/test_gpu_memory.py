"""Activation memory measured on the CPU, and the paper profile's micro-batches against
a 24 GB card (analysis.training.gpu_memory)."""

from __future__ import annotations

import pandas as pd
import pytest
import torch

from analysis.profiles import apply_overrides, get_profile
from analysis.training import gpu_memory


def test_saved_bytes_are_the_activations_autograd_keeps():
    """Linear(10, 20) keeps its input (10 floats per sample), ReLU its output (20 floats),
    which the second Linear keeps too (the same storage, counted once); weights are
    parameters, not activations."""
    model = torch.nn.Sequential(torch.nn.Linear(10, 20), torch.nn.ReLU(), torch.nn.Linear(20, 2))
    for batch in (1, 3):
        assert gpu_memory.saved_for_backward(model, torch.randn(batch, 10))[1] == batch * (10 + 20) * 4


def test_activation_memory_of_a_cnn_grows_with_its_pixels():
    """ResNet-18 at 128 px keeps about four times what it keeps at 64 px per sample."""
    full_width = ["per_model.resnet18.width=1.0"]  # the card's ResNet-18, not the cpu profile's half width
    small, large = (gpu_memory.measure("resnet18", apply_overrides(get_profile("tiny"), [f"models.input_size={size}",
                                                                                       *full_width]),
                                       steps=1) for size in (64, 128))
    assert small["input"] == "64" and large["input"] == "128"
    assert small["parameters"] == large["parameters"] > 10**7
    assert 3.5 < large["activation_mib_per_sample"] / small["activation_mib_per_sample"] < 4.5


def test_accumulation_is_the_fewest_even_split_that_fits():
    row = {"model": "m", "parameters": 0, "activation_mib_per_sample": 1024.0, "fixed_activation_mib": 0.0}
    # 32 GiB of activations for the whole step; 19.2 GiB usable on a 24 GiB card: 2 parts of 16
    assert gpu_memory.accumulation_needed(row, 32) == 2
    assert gpu_memory.accumulation_needed(row, 32, gpu_gib=80) == 1
    with pytest.raises(ValueError, match="even one item"):
        gpu_memory.accumulation_needed({**row, "activation_mib_per_sample": 30 * 1024.0}, 32)


def test_every_paper_model_fits_a_24_gb_card_at_the_cards_batch():
    """The stored CPU measurements cover every paper model, and the profile's
    accumulation gives each a step that fits, at the batch its recipe sets."""
    paper = get_profile("paper")
    plan = gpu_memory.plan(paper)
    assert sorted(plan["model"]) == sorted(paper.model_names())
    assert list(plan["batch"]) == [paper.recipe_for(name).batch_size for name in plan["model"]]
    assert (plan["accumulation"] >= plan["least accumulation"]).all(), plan
    assert (plan["estimated peak (GiB)"] <= gpu_memory.GPU_GIB * gpu_memory.HEADROOM).all()
    assert (plan["micro-batch"] * plan["accumulation"] == plan["batch"]).all()


def test_stored_measurements_are_of_the_current_paper_variants():
    """A paper variant whose architecture or input size changed must be measured again
    (benchmarks/model_memory.py --models NAME)."""
    from analysis.models import item_frames, spec_for

    paper = get_profile("paper")
    for row in gpu_memory.read_measurements().itertuples():
        variant = paper.variant(row.model)
        frames = item_frames(spec_for(row.model, paper), variant, paper)  # a pooled frame model's: a video
        assert (row.arch, row.input) == (variant.arch, str(variant.input_size) if frames == 1
                                         else f"{frames}x{variant.input_size}"), row.model


def test_a_missing_or_old_measurement_file_says_how_to_make_it(tmp_path):
    with pytest.raises(FileNotFoundError, match="model_memory.py"):
        gpu_memory.read_measurements(tmp_path / "none.csv")
    pd.DataFrame({"model": ["resnet18"]}).to_csv(tmp_path / "old.csv", index=False)
    with pytest.raises(ValueError, match="lacks"):
        gpu_memory.read_measurements(tmp_path / "old.csv")
