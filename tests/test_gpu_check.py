"""benchmarks/gpu_check.sh and its Python part: a clear stop without CUDA, and on the CPU
(--cpu-fallback, tiny sizes) everything but the GPU itself."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
import torch

from analysis.paths import PROJECT_ROOT

SCRIPT, CHECK = PROJECT_ROOT / "benchmarks" / "gpu_check.sh", PROJECT_ROOT / "benchmarks" / "gpu_check.py"
pytestmark = pytest.mark.skipif(torch.cuda.is_available(), reason="checks the behaviour without CUDA")


def _run(command: list, tmp_path: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHON": sys.executable, "CUDA_VISIBLE_DEVICES": ""}
    return subprocess.run(command, env=env, cwd=tmp_path, capture_output=True, text=True)


def test_without_cuda_the_script_stops_at_once_and_says_why(tmp_path):
    result = _run(["bash", str(SCRIPT), str(tmp_path / "out")], tmp_path)
    assert result.returncode == 2
    assert "no CUDA device" in result.stderr
    assert not (tmp_path / "out").exists()


def test_without_cuda_the_python_part_stops_unless_asked_for_the_cpu(tmp_path):
    result = _run([sys.executable, str(CHECK), "models", "--out", str(tmp_path / "out")], tmp_path)
    assert result.returncode == 2 and "--cpu-fallback" in result.stderr


def test_model_check_on_the_cpu_writes_its_figures(tmp_path):
    result = _run([sys.executable, str(CHECK), "models", "--out", str(tmp_path), "--cpu-fallback", "--steps", "1",
                   "--models", "resnet18", "resnext50_lstm"], tmp_path)
    assert result.returncode == 0, result.stderr
    table = pd.read_csv(tmp_path / "models.csv")
    assert list(table["model"]) == ["resnet18", "resnext50_lstm"]
    assert (table["samples_per_second"] > 0).all() and table["peak_allocated_gib"].isna().all()
    assert list(table["input"]) == ["1x64", "4x64"] and (table["micro_batch"] == 2).all()
    assert table["cpu_estimate_gib"].notna().all()  # the stored CPU estimate of the paper size, beside it


@pytest.mark.slow
def test_training_check_on_the_cpu_trains_every_model_end_to_end(tmp_path):
    result = _run([sys.executable, str(CHECK), "train", "--out", str(tmp_path), "--cpu-fallback"], tmp_path)
    assert result.returncode == 0, result.stderr[-3000:]
    table = pd.read_csv(tmp_path / "train.csv")
    assert len(table) == 4 and (table["world_size"] == 1).all() and (table["micro_batch"] == 4).all()
    assert (table["scores"] > 0).all()
