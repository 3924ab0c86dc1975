"""A few seconds of the machine's own training speed, measured at the start of every
``python -m analysis run`` so that build times can be read beside it.

Machines of the same kind differ about twice in speed (DESIGN rule 15), so a time alone
says little. The probe trains the ``cpu`` variants of the frame CNN (ResNet-18 at 64 px) and
of the clip model (R3D-10 at 32 px, 8 frames) on one fixed random batch, forward, backward and
AdamW step, with one torch thread per process and one process per core, as the training stage
runs. It trains them at full width (:data:`PROBE_WIDTH`), as every probe since the first did,
so that probes of builds before and after the cpu stand-ins were narrowed read the same. A stage's time multiplied by the frame CNN's probe speed is its work in *probe units*
(thousands of probe samples): about the same number on a fast and on a slow machine.
"""

from __future__ import annotations

import json
import os
import time
from concurrent.futures import ProcessPoolExecutor
from datetime import datetime, timezone
from pathlib import Path

from analysis import fork_server
from analysis.paths import SPEED_PROBE_FILE as PROBE_FILE

PROBE_MODELS = ("resnet18", "r3d18")  # the frame CNN and the clip model, at the cpu profile's sizes
PROBE_SECONDS = 2.5  # timed per model and process, after one untimed step
PROBE_WIDTH = 1.0  # the stage widths the probe trains, whatever the cpu profile's (Variant.width)
UNIT_SAMPLES = 1000  # one probe unit: this many frame-CNN training samples at the probe's speed


def model_speed(name: str, profile, batch_size: int, channels_last: bool, seconds: float) -> float:
    """Samples per second of forward, backward and AdamW step of ``name`` (the profile's
    variant, random init) on one fixed batch in memory, with the trainer's loss; nothing else.
    A sample is a frame for frame models, also where the profile pools a video's frames
    (the same arithmetic per frame), so costs and plans count frames for them."""
    import torch

    from analysis.models import get_spec
    from analysis.models.base import ANOMALY
    from analysis.training.crop_datasets import channels_last_format, model_layout
    from analysis.training.trainer import class_weights, one_class_loss, weighted_loss

    spec, variant = get_spec(name), profile.variant(name)
    torch.manual_seed(0)
    model = spec.builder(variant, weights_dir=None)  # as registered: a frame model reads frames
    if channels_last:
        model = model.to(memory_format=channels_last_format(spec))
    frames = 1 if spec.input_kind == "frame" else variant.frames
    inputs = model_layout(torch.randn(batch_size, frames, 3, variant.input_size, variant.input_size), spec,
                          channels_last)
    labels = torch.arange(batch_size) % 2
    weights = class_weights(labels.numpy())
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-4)
    model.train()
    model.pre_fit([inputs])

    def step() -> None:
        outputs = model(inputs).float()
        loss = one_class_loss(outputs, 1)[0] if model.loss_kind == ANOMALY else weighted_loss(outputs, labels, weights, 1)[0]
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()

    step()  # the first step allocates
    steps, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds:
        step()
        steps += 1
    return steps * batch_size / (time.perf_counter() - start)


def _one_model(job: tuple[str, float]) -> float:
    """The probe of one model in a worker process, on one thread, at the cpu profile's
    batch and memory order."""
    import torch

    from analysis.profiles import apply_overrides, get_profile

    name, seconds = job
    torch.set_num_threads(1)
    profile = apply_overrides(get_profile("cpu"), [f"per_model.{name}.width={PROBE_WIDTH}"])
    return model_speed(name, profile, profile.recipe_for(name).batch_size, profile.variant(name).channels_last,
                       seconds)


def measure(seconds: float = PROBE_SECONDS, processes: int | None = None) -> dict:
    """The probe: samples per second of each of :data:`PROBE_MODELS` per process, with
    ``processes`` (default: one per core) running it at once."""
    processes = processes or max(1, os.cpu_count() or 1)
    speeds = {}
    with ProcessPoolExecutor(processes, mp_context=fork_server.context()) as pool:
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
