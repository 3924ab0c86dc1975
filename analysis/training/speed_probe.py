"""A few seconds of the machine's own training speed, measured at the start of every
``python -m analysis run`` so that build times can be read beside it.

Machines of the same kind differ about twice in speed (DESIGN rule 15), so a time alone
says little. The probe trains the ``cpu`` variants of the frame CNN (ResNet-18 at 64 px) and
of the clip model (R3D-10 at 64 px, 8 frames) on one fixed random batch, forward, backward and
AdamW step, with one torch thread per process and one process per core, as the training stage
runs. A stage's time multiplied by the frame CNN's probe speed is its work in *probe units*
(thousands of probe samples): about the same number on a fast and on a slow machine.
"""

from __future__ import annotations

import json
import os
import time
from concurrent.futures import ProcessPoolExecutor
from datetime import datetime, timezone
from multiprocessing import get_context
from pathlib import Path

PROBE_MODELS = ("resnet18", "r3d18")  # the frame CNN and the clip model, at the cpu profile's sizes
PROBE_SECONDS = 2.5  # timed per model and process, after one untimed step
PROBE_FILE = "speed_probe.json"
UNIT_SAMPLES = 1000  # one probe unit: this many frame-CNN training samples at the probe's speed


def _one_model(job: tuple[str, float]) -> float:
    """Training samples per second of one model in this process, on one thread."""
    import torch

    from analysis.models import create_model, get_spec
    from analysis.profiles import get_profile
    from analysis.training.crop_datasets import model_layout

    name, seconds = job
    torch.set_num_threads(1)
    torch.manual_seed(0)
    profile = get_profile("cpu")
    spec, variant = get_spec(name), profile.variant(name)
    model = create_model(name, profile)
    batch = profile.recipe_for(name).batch_size
    frames = 1 if spec.input_kind == "frame" else variant.frames
    inputs = model_layout(torch.randn(batch, frames, 3, variant.input_size, variant.input_size), spec,
                          variant.channels_last)
    if variant.channels_last:
        model = model.to(memory_format=torch.channels_last)
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-4)
    model.train()

    def step() -> None:
        loss = model(inputs).float().square().mean()
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()

    step()
    steps, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds:
        step()
        steps += 1
    return steps * batch / (time.perf_counter() - start)


def measure(seconds: float = PROBE_SECONDS, processes: int | None = None) -> dict:
    """The probe: samples per second of each of :data:`PROBE_MODELS` per process, with
    ``processes`` (default: one per core) running it at once."""
    processes = processes or max(1, os.cpu_count() or 1)
    speeds = {}
    with ProcessPoolExecutor(processes, mp_context=get_context("spawn")) as pool:
        for name in PROBE_MODELS:
            per_process = list(pool.map(_one_model, [(name, seconds)] * processes))
            speeds[name] = round(sum(per_process) / len(per_process), 2)
    return {"samples_per_second": speeds, "processes": processes, "seconds_per_model": seconds,
            "measured": datetime.now(timezone.utc).isoformat(timespec="seconds")}


def probe_units(seconds: float, probe: dict) -> float:
    """``seconds`` of this machine's time as machine-independent work: thousands of frame-CNN
    training samples at the probe's speed."""
    return seconds * probe["samples_per_second"][PROBE_MODELS[0]] / UNIT_SAMPLES


def write(folder: Path, probe: dict) -> Path:
    path = Path(folder) / PROBE_FILE
    path.write_text(json.dumps(probe, indent=2))
    return path


def read(folder: Path) -> dict | None:
    path = Path(folder) / PROBE_FILE
    return json.loads(path.read_text()) if path.is_file() else None
