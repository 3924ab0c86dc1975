"""What the provenance appendix reports: the software, the machine, the commit, the seeds,
how long each chapter took, and where each figure's data came from."""

from __future__ import annotations

import json
import os
import platform
from importlib import metadata
from pathlib import Path

import pandas as pd

from analysis.book.notebook_outputs import as_text, glued_outputs
from analysis.paths import (STORED_DIR, benchmark_dir, book_status_file, models_dir, run_dir, shown_path,
                            stage_times_file)
from analysis.profiles import DEFAULT_PROFILE
from analysis.training.run_record import git, read_runs
from analysis.book.plots import SOURCE_SUFFIX
from analysis.evaluation.study import seed_runs
from analysis.training.speed_probe import PROBE_MODELS

PROBE_MODEL = PROBE_MODELS[0]
VECTOR_FLAGS = ("avx2", "avx512f", "avx512_vnni", "avx512_bf16", "amx_tile")  # /proc/cpuinfo flags that change kernels  # the probe whose speed converts seconds to probe units

PACKAGES = ("torch", "torchvision", "timm", "facenet-pytorch", "av", "opencv-python-headless", "numpy", "pandas",
            "scipy", "scikit-learn", "matplotlib", "seaborn", "papermill", "jupytext", "jupyter-book", "sphinx",
            "myst-nb", "sphinx-exercise", "playwright")


def versions() -> pd.DataFrame:
    rows = [{"package": "python", "version": platform.python_version()}]
    for name in PACKAGES:
        try:
            rows.append({"package": name, "version": metadata.version(name)})
        except metadata.PackageNotFoundError:
            rows.append({"package": name, "version": "not installed"})
    return pd.DataFrame(rows)


def git_state() -> dict[str, str]:
    """The commit the book was built from and whether the working tree had changes."""
    commit = git("rev-parse", "HEAD") or "unknown (not a git checkout)"
    return {"commit": commit, "uncommitted changes": "yes" if git("status", "--porcelain") else "no"}


def hardware() -> dict[str, str]:
    import torch

    cpu, flags = platform.processor() or "unknown", set()
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.is_file():
        lines = cpuinfo.read_text().splitlines()
        names = [line.split(":", 1)[1].strip() for line in lines if line.startswith("model name")]
        cpu = names[0] if names else cpu
        flags = next((set(line.split(":", 1)[1].split()) for line in lines if line.startswith("flags")), set())
    memory = ""
    if hasattr(os, "sysconf") and "SC_PHYS_PAGES" in os.sysconf_names:
        memory = f"{os.sysconf('SC_PAGE_SIZE') * os.sysconf('SC_PHYS_PAGES') / 2**30:.1f} GiB"
    return {
        "system": f"{platform.system()} {platform.release()} ({platform.machine()})",
        "CPU": cpu,
        "logical cores": str(os.cpu_count()),
        "memory": memory or "unknown",
        "torch threads": f"{torch.get_num_threads()} here; each training run uses its profile's fixed count",
        # another kind of CPU takes other MKL/oneDNN code paths and trains to other floats (DESIGN.md)
        "vector units (they decide the floats)": f"torch {torch.backends.cpu.get_cpu_capability()}; "
        + (", ".join(f for f in VECTOR_FLAGS if f in flags) or "none of " + ", ".join(VECTOR_FLAGS)),
        "CUDA": torch.cuda.get_device_name(0) if torch.cuda.is_available() else "not available",
    }


def _benchmark_record(profile: str) -> dict | None:
    """What the data stage wrote about the benchmark it generated, if it did."""
    path = benchmark_dir(profile) / "benchmark.json"
    return json.loads(path.read_text()) if path.is_file() else None


def run_seeds(profile: str) -> pd.DataFrame:
    """Seed, commit and device of every training run, and the benchmark's seed."""
    rows = []
    record = _benchmark_record(profile)
    if record:
        rows.append({"what": "embedded benchmark", "seed": record.get("seed"), "commit": "", "device": ""})
    for run in read_runs(models_dir(profile)) if models_dir(profile).is_dir() else []:
        record = run.record
        rows.append({"what": f"training run {record['model']}", "seed": record["seed"],
                     "commit": record["git_commit"][:12], "device": record["device"]})
    return pd.DataFrame(rows)


def speed_probe(profile: str) -> pd.DataFrame:
    """The speed probe of the last ``run`` (training samples per second per process)."""
    from analysis.training import speed_probe as probe

    measured = probe.read(run_dir(profile))
    if measured is None:
        return pd.DataFrame(columns=["model", "samples per second", "processes at once"])
    return pd.DataFrame([{"model": name, "samples per second": value, "processes at once": measured["processes"]}
                         for name, value in measured["samples_per_second"].items()])


def stage_timings(profile: str) -> pd.DataFrame:
    """Wall-clock seconds of each stage when it last built, the chapters included, as
    ``run`` and ``book`` recorded them with the speed probe of the same run; each also in
    probe units (thousands of frame-CNN training samples at the probe's speed), which a
    faster or slower machine shares."""
    path = stage_times_file(profile)
    times = json.loads(path.read_text()) if path.is_file() else {}
    rows = [{"stage": name, "seconds": entry["seconds"],
             "probe (resnet18 samples/s)": (entry["probe"] or {}).get(PROBE_MODEL, float("nan")),
             "probe units": float("nan") if entry["probe units"] is None else entry["probe units"],
             "finished": entry["finished"]} for name, entry in times.items()]
    return pd.DataFrame(rows, columns=["stage", "seconds", "probe (resnet18 samples/s)", "probe units", "finished"])


def chapter_status(profile: str) -> pd.DataFrame:
    """Each chapter's last execution: pass or fail, seconds, when, and the command that
    re-executes it on its own."""
    path = book_status_file(profile)
    status = json.loads(path.read_text()) if path.is_file() else {}
    rows = [{"chapter": name, "status": entry["status"], "seconds": entry["seconds"], "finished": entry["finished"],
             "run it locally": f"python -m analysis book --chapter {name}"
                               + ("" if profile == DEFAULT_PROFILE else f" --profile {profile}")}
            for name, entry in status.items()]
    return pd.DataFrame(rows, columns=["chapter", "status", "seconds", "finished", "run it locally"])


def figure_sources(executed_dir: Path) -> pd.DataFrame:
    """Every glued figure of every executed chapter with the data source it declared."""
    rows = []
    for notebook in sorted(Path(executed_dir).glob("*.ipynb")):
        for name, bundle in glued_outputs(notebook).items():
            if name.endswith(SOURCE_SUFFIX):
                rows.append({"chapter": notebook.stem, "figure": name[: -len(SOURCE_SUFFIX)],
                             "data": shown_path(as_text(bundle))})
    return pd.DataFrame(rows, columns=["chapter", "figure", "data"])



def _declared(analysis: str, primary: object) -> str:
    """An endpoint as a build declared it; the fit-gated primary names its ensemble where
    known, as another build's gate may have chosen other members."""
    named = f": {primary}" if analysis.startswith("primary") and isinstance(primary, str) else ""
    return f"{analysis}{named} vs mean member"


def other_draws(data_seed: int) -> pd.DataFrame:
    """The stored earlier builds made on another draw of the benchmark than ``data_seed``'s:
    test sets that no decision taken on this draw had seen."""
    builds = pd.read_csv(STORED_DIR / "earlier_builds.csv", dtype={"training seeds": str})
    return builds[builds["data seed"] != data_seed].reset_index(drop=True)


def earlier_builds(tables: dict[str, pd.DataFrame], data_seed: int, training_seeds=(0,)) -> pd.DataFrame:
    """Every build the book quotes, one row each with its settings and the endpoint as it
    was then declared: the earlier ones (``book/stored/earlier_builds.csv``, kept by hand:
    their run folders are gone), the stored several-seed run's pooled endpoints and this
    build's, both from the results stage's ``tables`` (this build's benchmark draw: ``data_seed``;
    its ``training_seeds``). The training seeds are named, not counted."""
    rows = [pd.read_csv(STORED_DIR / "earlier_builds.csv", dtype={"training seeds": str})]
    source = tables["seed_source"].iloc[0]
    units = source.get("stored vector units")
    cpu = f"; {units} vector units" if isinstance(units, str) else ""
    for _, pooled in tables["seed_pooled"].iterrows():
        rows.append(pd.DataFrame([{
            "build": f"stored run, {pooled['seeds']} training seeds", "date": source["date"],
            "data seed": source["data seed"],
            "training seeds": str(source.get("training seeds", pooled["seeds"])),
            "what differed": f"pooled over seeds (each: {pooled['estimates']}), with the between-seed variance; "
                             f"{seed_runs.POOLED_INTERVAL}",
            "endpoint as then declared": _declared(pooled["analysis"], source.get("stored primary")),
            "gap change": pooled["gap change"],
            "gap change low": pooled["gap change low"], "gap change high": pooled["gap change high"],
            "source": f"{source['commands']} (commit {source['commit']}{cpu})"}]))
    here = source.get("primary here")
    for _, row in tables["primary_endpoint"].iterrows():
        rows.append(pd.DataFrame([{
            "build": "this build", "date": "", "data seed": data_seed,
            "training seeds": ", ".join(map(str, training_seeds)),
            "what differed": "", "endpoint as then declared": _declared(row["analysis"], here),
            "gap change": row["gap change"], "gap change low": row["gap change low"],
            "gap change high": row["gap change high"],
            "source": "this build's results stage (results/summary/primary_endpoint.csv)"}]))
    return pd.concat(rows, ignore_index=True)
