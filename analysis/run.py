"""``python -m analysis run``: build every artefact of a profile, in order, skipping what
is up to date.

Stages (:data:`STAGES`), each owned by one subpackage (ARCHITECTURE.md):

    data        the embedded benchmark (analysis.benchmark) and the study manifest
                (analysis.data: the benchmark's, or FF++ + Celeb-DF combined)
    preprocess  the crop cache and its report (analysis.preprocess), and MTCNN's face
                counts on the benchmark for the benchmark chapter
    train       one run per model and training seed (analysis.training), each in its own
                process (under ``torchrun`` with ``--nproc`` > 1): checkpoints, run
                record and the run's scores table
    scores      every run's scores in one validated table, ``runs/<profile>/scores.csv``
    results     every table the chapters show, ``runs/<profile>/results/`` (the results
                page's under ``summary/``), with the profile's ``analysis`` settings

Every stage goes through :func:`~analysis.fingerprints.build_if_stale`, the one fingerprint-and-skip helper: an
output folder whose fingerprint (code, inputs and settings) is unchanged is kept, a stale
one is rebuilt, and an interrupted build with the same fingerprint resumes where it
stopped. Everything printed, progress bars included, also goes to
``runs/<profile>/run.log``. Chapters only read what these stages wrote.
"""

from __future__ import annotations

import json
import os
import runpy
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor, as_completed
from contextlib import contextmanager, nullcontext
from dataclasses import asdict
from datetime import datetime, timezone
from pathlib import Path

import pandas as pd
from tqdm import tqdm

from analysis import fork_server, logs
from analysis.errors import UserInputError
from analysis.fingerprints import BUILDING, BUILT, STAMP, build_if_stale, fingerprint, resume_shard  # noqa: F401
from analysis.paths import (FACE_COUNTS_FILE as FACE_COUNTS, FAKE_CHANGES_FILE, LOG_FILE, MANIFEST_FILE,
                            STAGE_TIMES_FILE as STAGE_TIMES, TRAIN_LOG, benchmark_faces_dir, cache_dir, face_counts_file,
                            input_size_artefacts_file, model_run_folders, models_dir, probes_file, profile_file, results_dir, run_dir,
                            run_folder, scores_file)
from analysis.profiles import CUDA, Profile, resolve
from analysis.training import speed_probe

STAGES = ("data", "preprocess", "train", "scores", "results")
# decoding and MTCNN keep one core busy per process: the crop cache is filled by one shard
# per core (shards together equal one unsharded run, tests/test_preprocess.py)
MAX_PREPROCESS_PROCESSES = 4
MAX_PROBE_PROCESSES = 4  # the speed probe runs as many processes as training does, up to this many


def _module_files(*modules) -> list[Path]:
    return [Path(m.__file__) for m in modules]


# --- stages ---------------------------------------------------------------------------

def benchmark_code() -> list[Path]:
    """The modules that decide the benchmark's videos, manifest, probe features and the
    fakes' changes. Editing the benchmark package's analysis helpers (sizing, artefacts,
    shifts) regenerates nothing."""
    from analysis.benchmark import changes, face_render, generator, methods, probes
    from analysis.data import manifest, splits
    from analysis.preprocess import video

    return _module_files(generator, methods, face_render, probes, changes, manifest, splits, video)


def stage_data(profile: Profile) -> Path:
    """Generate the benchmark (every profile's book shows it) and write the study manifest."""
    import av

    from analysis.benchmark import generator
    from analysis.data import sources

    if not profile.studies_benchmark:  # first: a manifest that cannot carry the study fails before minutes of benchmark
        sources.combine_real_manifests(profile, sources.study_manifest(profile))
    out = sources.benchmark_dir(profile.name)
    settings = {"size": asdict(profile.data.benchmark), "seed": profile.data.seed, "av": av.__version__}
    built = build_if_stale(out, fingerprint(benchmark_code(), settings),
                           lambda: generator.generate(out, profile=profile, seed=profile.data.seed),
                           outputs=(MANIFEST_FILE, FAKE_CHANGES_FILE))
    print(f"data: benchmark {'generated' if built else 'up to date'} in {out}", flush=True)
    stage_probes(profile)
    return sources.study_manifest(profile)


def _preprocess_shard(job: tuple) -> None:
    """One shard of the crop cache, in a worker process with one torch thread (the other
    shards' processes use the other cores)."""
    import torch

    from analysis.data.manifest import read_manifest
    from analysis.preprocess import pipeline

    manifest, out, preprocessing, shard_spec, weights_dir, device = job
    torch.set_num_threads(1)
    pipeline.preprocess(read_manifest(manifest), out, preprocessing, shard_spec=shard_spec,
                        weights_dir=weights_dir, device=device)


def preprocess_processes() -> int:
    """Processes that fill the crop cache side by side: one per core, at most
    :data:`MAX_PREPROCESS_PROCESSES`; on CUDA they share the GPU (decoding, on the CPU,
    is most of a video's time)."""
    return max(1, min(os.cpu_count() or 1, MAX_PREPROCESS_PROCESSES))


def local_shards(machine: tuple[int, int], processes: int) -> list[tuple[int, int]]:
    """The shards this machine's processes fill when it is shard ``I`` of ``N`` machines:
    process ``j`` takes every ``processes``-th video of the machine's shard, which is shard
    ``I + N (j - 1)`` of ``N * processes`` (:func:`analysis.preprocess.pipeline.shard`), so
    machines with different numbers of processes still cover every video once."""
    index, count = machine
    return [(index + count * j, count * processes) for j in range(processes)]


def _clear_reports(out: Path) -> None:
    """Remove the reports and records of earlier (possibly other-sharded) builds of a cache;
    every finished video's row is kept in its completion marker and reused."""
    for path in [*out.glob("report*.csv"), *out.glob("preprocess*.json")]:
        path.unlink()


def _preprocess_in_shards(manifest: Path, out: Path, profile: Profile, weights_dir: Path | None,
                          machine: tuple[int, int] = (1, 1)) -> None:
    """Fill this machine's part of the crop cache in :func:`preprocess_processes` worker
    processes (one shard each). The whole cache (``machine`` 1/1) first clears the reports
    of earlier builds, so its report holds every video once."""
    if machine == (1, 1):
        _clear_reports(out)
    shards = local_shards(machine, preprocess_processes())
    if len(shards) == 1:
        from analysis.data.manifest import read_manifest
        from analysis.preprocess import pipeline

        pipeline.preprocess(read_manifest(manifest), out, profile.preprocessing, shard_spec=shards[0],
                            weights_dir=weights_dir, device=profile.device)
        return
    jobs = [(manifest, out, profile.preprocessing, spec, weights_dir, profile.device) for spec in shards]
    with ProcessPoolExecutor(len(jobs), mp_context=fork_server.context()) as pool:
        list(pool.map(_preprocess_shard, jobs))


def stage_probes(profile: Profile) -> Path:
    """Fit the benchmark's shortcut probes once (a minute on a CPU) with the profile's
    ``analysis`` resamples and seed, so that the benchmark chapter only reads them."""
    from analysis.benchmark import probes
    from analysis.data import sources
    from analysis.evaluation import bootstrap

    path = probes_file(profile.name)
    settings = {"n_resamples": profile.analysis.n_resamples, "seed": profile.analysis.seed}
    code = _module_files(probes, bootstrap)
    built = build_if_stale(path.parent, fingerprint([sources.benchmark_dir(profile.name) / STAMP, *code], settings),
                           lambda: probes.probe_aucs(probes.read_features(sources.benchmark_dir(profile.name)),
                                                     **settings).to_csv(path, index=False), outputs=(path.name,))
    print(f"data: shortcut probes {'fitted' if built else 'up to date'} in {path}", flush=True)
    return path


def cache_inputs(profile: Profile) -> list[Path]:
    """The files whose content decides the crop cache besides its code: the study manifest
    and, for the benchmark, the benchmark's own fingerprint. The manifest names the videos
    but not their pixels, so a benchmark regenerated by changed generator code keeps the
    same manifest and would otherwise keep stale crops."""
    from analysis.data import sources

    inputs = [sources.study_manifest(profile)]
    if profile.studies_benchmark:
        inputs.append(sources.benchmark_dir(profile.name) / STAMP)
    return inputs


def stage_preprocess(profile: Profile, weights_dir: Path | None = None,
                     machine: tuple[int, int] = (1, 1)) -> pd.DataFrame | None:
    """Fill the crop cache of the study manifest; write the benchmark's face counts.

    With ``machine`` ``(I, N)`` other than 1/1, fill only this machine's shard I of N
    (resumable, never marked finished) and return None: run the stage once more without
    a shard, with every machine's entries in the cache folder, to finish it (it reuses
    every finished video and writes the one report)."""
    from analysis.data import sources
    from analysis.data.manifest import read_manifest
    from analysis.preprocess import crop_cache, exclusions, face_detect, flow, pipeline, video

    manifest = sources.study_manifest(profile)
    if not manifest.is_file():
        raise UserInputError(f"No study manifest at {manifest}: run the data stage first (`--only data`).")
    if not profile.studies_benchmark:  # the indexed manifests as they are now, not as the last data stage read them
        sources.combine_real_manifests(profile, manifest)
    out = cache_dir(profile.name)
    code = _module_files(video, face_detect, flow, crop_cache, exclusions, pipeline)
    expected = fingerprint([*cache_inputs(profile), *code], profile.preprocessing.as_dict())
    if machine != (1, 1):
        resume_shard(out, expected, lambda: _preprocess_in_shards(manifest, out, profile, weights_dir, machine))
        print(f"preprocess: shard {machine[0]}/{machine[1]} of the crop cache done in {out}; when every shard is, "
              "gather the cache folders into one and run again without --shard to finish", flush=True)
        return None
    built = build_if_stale(out, expected, lambda: _preprocess_in_shards(manifest, out, profile, weights_dir))
    report = pipeline.load_report(out)
    print(f"preprocess: crop cache {'built' if built else 'up to date'} in {out}", flush=True)
    for name, value in pipeline.summary(report).items():
        print(f"{name:>24}: {value:.3f}" if isinstance(value, float) else f"{name:>24}: {value}", flush=True)
    for split, counts in pipeline.load_record(out)["excluded"].items():
        print(f"{'excluded, ' + split:>24}: " + ", ".join(f"{n} {reason}" for reason, n in counts.items()), flush=True)

    faces = face_counts_file(profile.name)
    if profile.studies_benchmark:  # MTCNN already ran on every sampled frame of the study
        ok = report[report["status"] == "ok"]
        ok.rename(columns={"frames_sampled": "frames", "faces_found": "faces"}).to_csv(faces, index=False)
    else:
        folder = benchmark_faces_dir(profile.name)
        bench = sources.benchmark_manifest(profile.name)
        frames = profile.preprocessing.frames_per_video
        build_if_stale(folder, fingerprint([bench, *_module_files(face_detect, video)], {"frames": frames}),
                       lambda: face_detect.detection_rate(read_manifest(bench), frames).to_csv(
                           folder / FACE_COUNTS, index=False))
        shutil.copyfile(folder / FACE_COUNTS, faces)
    if profile.studies_benchmark:
        stage_input_size_artefacts(profile)
    return report


ARTEFACT_VIDEOS = 12  # test fakes per subset and method measured at each model's input size


def stage_input_size_artefacts(profile: Profile) -> Path:
    """Measure once how strong each method's artefact is at every input size a model of the
    profile reads, on the crop cache's MTCNN boxes (half a minute on a CPU), so that the
    benchmark chapter only reads the table."""
    from analysis.benchmark import artefacts
    from analysis.data import sources
    from analysis.data.manifest import read_manifest

    path = input_size_artefacts_file(profile.name)
    cache = cache_dir(profile.name)
    sizes = list(artefacts.reader_sizes(profile.name))
    settings = {"sizes": sizes, "videos": ARTEFACT_VIDEOS, "frames": profile.preprocessing.frames_per_video}
    built = build_if_stale(
        path.parent, fingerprint([cache / STAMP, *_module_files(artefacts)], settings),
        lambda: artefacts.artefact_at_input_sizes(
            read_manifest(sources.benchmark_manifest(profile.name)), cache, profile.preprocessing.frames_per_video,
            sizes, ARTEFACT_VIDEOS).to_csv(path, index=False),
        outputs=(path.name,))
    print(f"preprocess: artefacts at the models' input sizes {'measured' if built else 'up to date'} in {path}",
          flush=True)
    return path


def train_arguments(profile: Profile, overrides: list[str], model: str, seed: int, out: Path,
                    weights_dir: Path | None) -> list[str]:
    """The ``python -m analysis`` arguments that train one run."""
    arguments = ["train", "--profile", profile.name, "--model", model, "--seed", str(seed), "--out", str(out)]
    arguments += [arg for item in overrides for arg in ("-o", item)]
    return arguments + (["--weights-dir", str(weights_dir)] if weights_dir else [])


def train_command(arguments: list[str], nproc: int) -> list[str]:
    """The command that runs :func:`train_arguments` in a new process (``torchrun`` for
    ``nproc`` > 1)."""
    if nproc > 1:
        return [sys.executable, "-m", "torch.distributed.run", "--standalone", f"--nproc_per_node={nproc}",
                "-m", "analysis", *arguments]
    return [sys.executable, "-m", "analysis", *arguments]


@contextmanager
def _hub_offline_unless_reachable(needed: bool, host: str = "huggingface.co") -> Iterator[None]:
    """Hugging Face Hub in offline mode (its cache only) while ``host`` cannot be reached:
    otherwise timm retries each download five times, about 50 s per model, before it gives up."""
    import huggingface_hub.constants as hub

    proxied = any(os.environ.get(name) for name in ("HTTPS_PROXY", "https_proxy", "ALL_PROXY", "all_proxy"))
    before = hub.HF_HUB_OFFLINE
    if needed and not before and not proxied:  # a proxy's network is not ours to probe
        try:
            socket.create_connection((host, 443), timeout=5).close()
        except OSError:
            hub.HF_HUB_OFFLINE = True
    try:
        yield
    finally:
        hub.HF_HUB_OFFLINE = before


def check_weights(profile: Profile, models: list[str], weights_dir: Path | None, *, flow: bool = False) -> None:
    """Stop before any work if a model needs pretrained weights that are not in
    ``weights_dir`` (when given) or cannot be fetched now (when not), or, with ``flow``
    (preprocessing is to run), if the profile's flow is RAFT and no RAFT weights are on disk."""
    from analysis.models import create_model
    from analysis.preprocess import flow as optical_flow
    from analysis.profiles import RAFT

    missing = []
    with _hub_offline_unless_reachable(weights_dir is None and any(profile.variant(m).pretrained for m in models)):
        for model in models:
            variant = profile.variant(model)
            if not variant.pretrained:
                continue
            if weights_dir is not None:
                if not any((Path(weights_dir) / f"{variant.arch}{s}").is_file()
                           for s in (".safetensors", ".pth", ".pt")):
                    missing.append(variant.arch)
                continue
            try:
                create_model(model, profile)  # downloads into the timm / torch cache when online
            except UserInputError:
                missing.append(variant.arch)
    raft_missing = flow and profile.preprocessing.flow == RAFT and optical_flow.find_raft_weights(weights_dir) is None
    if not missing and not raft_missing:
        return
    where = f"in {weights_dir}" if weights_dir else "(no --weights-dir given, and they cannot be downloaded)"
    message = ""
    if missing:
        message = (
            f"The {profile.name} profile starts from pretrained weights, and these are missing {where}: "
            f"{', '.join(f'{arch}.safetensors (or .pth)' for arch in sorted(set(missing)))}. Put them in a folder and "
            "pass it with --weights-dir, or train from random initialisation with -o models.pretrained=false. "
        )
    if raft_missing:
        message += optical_flow.missing_raft_message(weights_dir)
    raise UserInputError(message.strip())


def training_processes(profile: Profile, nproc: int) -> int:
    """How many training runs go at once: on a CPU one per core, each on
    ``profile.threads_per_run`` threads (a fixed count, so the numbers do not depend on the
    machine's cores); on CUDA one at a time, each on its ``nproc`` GPUs."""
    if profile.device == CUDA or not profile.threads_per_run:
        return 1
    return max(1, (os.cpu_count() or 1) // profile.threads_per_run)


def stage_train(profile: Profile, overrides: list[str], *, only_model: str | None = None,
                weights_dir: Path | None = None, nproc: int = 1) -> list[Path]:
    """Train every model (or ``only_model``) with every training seed, each run in its own
    process, :func:`training_processes` at once; skip runs whose fingerprint is unchanged.
    A run that fails does not stop the others: the stage fails after they finish."""
    from analysis import models as model_package
    from analysis.training import crop_datasets, run_record, scoring, trainer

    models = [only_model] if only_model else profile.model_names()
    code = [*_module_files(trainer, crop_datasets, scoring, run_record),
            *sorted(Path(model_package.__file__).parent.glob("*.py"))]
    cache_stamp = cache_dir(profile.name) / STAMP
    if not cache_stamp.is_file():
        raise UserInputError(f"No finished crop cache in {cache_dir(profile.name)}: run the preprocess stage first.")
    jobs = []
    for model in models:
        run_profile = _run_profile(profile, model)
        for seed in profile.seeds:
            out = run_folder(profile.name, model, seed)
            settings = {"profile": run_profile, "model": model, "seed": seed, "nproc": nproc,
                        "weights_dir": str(weights_dir) if weights_dir else None}
            arguments = train_arguments(profile, overrides, model, seed, out, weights_dir)
            jobs.append((model, seed, out, fingerprint([cache_stamp, *code], settings), arguments))
    workers = min(training_processes(profile, nproc), len(jobs))

    def build(job) -> str:
        model, seed, out, expected, arguments = job
        log = out / TRAIN_LOG
        if workers > 1 and nproc == 1:  # side by side on a CPU: forked from one import of the trainer
            launch = lambda: _run_forked(arguments, log)  # noqa: E731
        else:
            launch = lambda: _stream(train_command(arguments, nproc), log if workers > 1 else None)  # noqa: E731
        built = build_if_stale(out, expected, launch,
                               outputs=(run_record.RECORD_FILE, run_record.SCORES_FILE))
        return f"train: {model} seed {seed} {'trained' if built else 'up to date'} in {out}"

    if workers > 1:
        print(f"train: {len(jobs)} runs, {workers} at a time with {profile.threads_per_run} thread(s) each; "
              f"each run's progress goes to {TRAIN_LOG} in its folder", flush=True)
    failures = []
    with ThreadPoolExecutor(workers) as pool:
        futures = {pool.submit(build, job): job for job in _longest_first(jobs, profile)}
        for future in tqdm(as_completed(futures), total=len(jobs), desc="training runs", unit="run",
                           disable=workers == 1):
            try:
                tqdm.write(future.result())
            except UserInputError as err:
                failures.append(str(err))
                tqdm.write(f"train: {futures[future][0]} seed {futures[future][1]} FAILED")
    if failures:
        raise UserInputError(f"{len(failures)} of {len(jobs)} training runs failed; the others are kept. "
                             + " ".join(failures))
    return [job[2] for job in jobs]


def _run_profile(profile: Profile, model: str) -> dict:
    """The profile's settings that decide ``model``'s runs: not which other seeds or models
    the study trains, nor the other models' own settings (a change of one model's recipe
    retrains that model only), nor the results stage's ``analysis`` settings, nor the hang
    guard, which decides nothing while it does not fire. The manifest's content is in the
    crop cache's fingerprint, so its path (which differs between clones) is not."""
    settings = profile.as_dict()
    for key in ("seeds", "train_models", "analysis"):
        settings.pop(key)
    settings["recipe"].pop("hang_guard_seconds")
    own = settings.pop("per_model").get(model)
    if own is not None:
        own.pop("hang_guard_seconds", None)
        settings["per_model"] = own
    return settings


def _longest_first(jobs: list[tuple], profile: Profile) -> list[tuple]:
    """Runs in the order that ends soonest on several processes: the longest first, by
    the time a run of the same model took last (any seed). A model never trained goes by
    the dry run's estimate from the cost table (:func:`analysis.plan.training_hours`; on a
    fresh clone of the cpu profile, which trains 2 at a time, this order ended about 20 s
    sooner than the one by kind, simulated with the run times of a whole build), else by
    its kind (clip and sequence models read 8 frames an item: the long ones), ahead of the
    runs of models trained before."""
    from analysis import plan
    from analysis.models import get_spec
    from analysis.training.run_record import RECORD_FILE

    videos = plan.study_videos(profile)
    costs = plan.read_costs() if plan.COSTS_FILE.is_file() and videos is not None else None

    def expected(job) -> tuple[bool, float]:
        records = [folder / RECORD_FILE for folder in model_run_folders(profile.name, job[0])
                   if (folder / RECORD_FILE).is_file()]
        if records:
            return False, json.loads(records[0].read_text()).get("train_seconds", 0.0)
        estimate = plan.training_hours(profile, job[0], videos, costs, profile.device) if costs is not None else None
        return True, estimate[0] * 3600 if estimate else float(get_spec(job[0]).input_kind != "frame")

    return sorted(jobs, key=expected, reverse=True)


def stage_scores(profile: Profile) -> Path:
    """Every run's scores in one validated table, the one the ``results`` stage reads."""
    from analysis.training.run_record import read_runs, scores_of

    runs = read_runs(models_dir(profile.name))
    table = scores_of(runs)
    path = scores_file(profile.name)
    table.to_csv(path, index=False)
    print(f"scores: {len(runs)} runs, {len(table)} rows in {path}", flush=True)
    return path


def stage_results(profile: Profile) -> Path:
    """Every table of the book (``runs/<profile>/results``), computed once from the scores
    and run records with the profile's ``analysis`` settings, and kept while neither they,
    the code nor the settings change."""
    from analysis.evaluation import study

    study.summary(profile.name, profile.analysis)
    folder = results_dir(profile.name)
    print(f"results: {len(study.read_results(profile.name))} tables in {folder}", flush=True)
    return folder


# --- driver ---------------------------------------------------------------------------

def parse_only(text: str | None) -> tuple[str | None, str | None]:
    """``STAGE`` or ``train:MODEL`` -> (stage, model)."""
    if text is None:
        return None, None
    stage, _, model = text.partition(":")
    if stage not in STAGES:
        raise UserInputError(f"--only {text!r}: the stage must be one of {', '.join(STAGES)}.")
    if model and stage != "train":
        raise UserInputError(f"--only {text!r}: only the train stage takes a model (train:MODEL).")
    if model:
        from analysis.models import get_spec

        get_spec(model)  # an unknown model raises with the choices
    return stage, model or None


def run(profile_name: str, overrides: list[str] | None = None, *, only: str | None = None,
        weights_dir: Path | None = None, nproc: int = 1, shard: tuple[int, int] = (1, 1)) -> Profile:
    """Build the stages of a profile (all, or ``only`` one) and return the resolved profile.
    ``shard`` other than 1/1 fills only this machine's shard of the crop cache (the plan
    without building anything is :func:`analysis.plan.describe`, ``run --dry-run``)."""
    from analysis.training.trainer import check_device

    overrides = list(overrides or [])
    if nproc < 1:
        raise UserInputError(f"--nproc {nproc}: a training run needs at least one process.")
    profile = resolve(profile_name, overrides)
    stage, model = parse_only(only)
    if shard != (1, 1):
        if stage not in (None, "preprocess"):
            raise UserInputError(f"--shard fills a shard of the crop cache: it goes with --only preprocess, not {only}.")
        stage = "preprocess"
    if stage != "data":  # the data stage only generates and indexes: any machine can run it
        check_device(profile.device)
    if stage in (None, "train", "preprocess"):
        models = [] if stage == "preprocess" else [model] if model else profile.model_names()
        check_weights(profile, models, weights_dir, flow=stage in (None, "preprocess"))
    folder = run_dir(profile.name)
    folder.mkdir(parents=True, exist_ok=True)
    profile_file(profile.name).write_text(json.dumps(profile.as_dict(), indent=2))
    steps = {
        "data": lambda: stage_data(profile),
        "preprocess": lambda: stage_preprocess(profile, weights_dir, shard),
        "train": lambda: stage_train(profile, overrides, only_model=model, weights_dir=weights_dir, nproc=nproc),
        "scores": lambda: stage_scores(profile),
        "results": lambda: stage_results(profile),
    }
    with tee_output(folder / LOG_FILE):
        print(f"run: profile {profile.name}, overrides {overrides or 'none'}, stage {only or 'all'}", flush=True)
        probe = speed_probe.measure(processes=min(training_processes(profile, nproc), MAX_PROBE_PROCESSES))
        speed_probe.write(folder, probe)
        print("run: speed probe, training samples per second per process: "
              + ", ".join(f"{name} {value:.1f}" for name, value in probe["samples_per_second"].items())
              + f" ({probe['processes']} process(es) at once)", flush=True)
        for name, step in steps.items():
            if stage in (None, name):
                timed_stage(folder, name, step, probe)
    return profile


def timed_stage(folder: Path, name: str, step: Callable[[], object], probe: dict) -> None:
    """Run one stage; if it built anything, record its wall-clock seconds beside the
    probe of the same run in ``STAGE_TIMES`` (a stage that was up to date keeps the time of
    the build that made it)."""
    before, started = len(BUILT), time.perf_counter()
    step()
    seconds = time.perf_counter() - started
    if len(BUILT) > before:
        record_stage_time(folder, name, seconds, probe)


def record_stage_time(folder: Path, name: str, seconds: float, probe: dict | None = None) -> None:
    """Write a stage's wall-clock seconds into ``STAGE_TIMES`` with the speed probe
    (default: the last one ``run`` measured) and its probe units."""
    probe = probe or speed_probe.read(folder)
    path = Path(folder) / STAGE_TIMES
    times = json.loads(path.read_text()) if path.is_file() else {}
    times[name] = {"seconds": round(seconds, 1),
                   "probe units": round(speed_probe.probe_units(seconds, probe), 1) if probe else None,
                   "probe": probe["samples_per_second"] if probe else None,
                   "finished": datetime.now(timezone.utc).isoformat(timespec="seconds")}
    path.write_text(json.dumps(times, indent=2))


class Tee:
    """A text stream that writes to the terminal and to a log file."""

    def __init__(self, terminal, log):
        self.terminal, self.log = terminal, log

    def write(self, text: str) -> int:
        self.terminal.write(text)
        self.log.write(text)
        return len(text)

    def flush(self) -> None:
        self.terminal.flush()
        self.log.flush()

    def isatty(self) -> bool:
        return self.terminal.isatty()

    def fileno(self) -> int:
        return self.terminal.fileno()


@contextmanager
def tee_output(path: Path) -> Iterator[None]:
    """Copy everything printed (stdout and stderr, progress bars too) to ``path``."""
    with open(path, "a", encoding="utf-8") as log:
        saved = sys.stdout, sys.stderr
        sys.stdout, sys.stderr = Tee(saved[0], log), Tee(saved[1], log)
        try:
            yield
        finally:
            sys.stdout, sys.stderr = saved


def _run_forked(arguments: list[str], log: Path) -> None:
    """Run ``python -m analysis`` with ``arguments`` like :func:`_stream` with a ``log``,
    but in a process forked from the preloaded server (:mod:`analysis.fork_server`), not a
    new interpreter."""
    process = fork_server.context().Process(target=_forked_cli, args=(arguments, str(log)))
    process.start()
    process.join()
    if process.exitcode != 0:
        raise _training_failed(process.exitcode, train_command(arguments, 1), log)


def _forked_cli(argv: list[str], log: str) -> None:
    """A forked run's body: ``python -m analysis`` with ``argv``, its output (to the file
    descriptors too) going to ``log``."""
    fd = os.open(log, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    for stream in (1, 2):
        os.dup2(fd, stream)
    os.close(fd)
    sys.argv = ["analysis", *argv]
    runpy.run_module("analysis", run_name="__main__", alter_sys=True)


def _stream(command: list[str], log: Path | None = None) -> None:
    """Run a stage's subprocess, copying its output (and progress bars) as it comes to the
    terminal, or to ``log`` when runs go side by side."""
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    with open(log, "wb") if log else nullcontext() as sink:
        for chunk in iter(lambda: process.stdout.read1(4096), b""):
            if sink:
                sink.write(chunk)
                sink.flush()
            else:
                sys.stdout.write(chunk.decode("utf-8", errors="replace"))
                sys.stdout.flush()
    if process.wait() != 0:
        raise _training_failed(process.returncode, command, log)


def _training_failed(returncode: int, command: list[str], log: Path | None) -> UserInputError:
    """The error of a training process that exited with ``returncode``: why, the command,
    and the end of its ``log`` (or where its output went)."""
    return UserInputError(f"Training failed ({_exit_cause(returncode)}): {' '.join(command)}; "
                          + (f"its output is in {log}, which ends:\n{logs.tail(log)}\n" if log
                             else "its output is above and in the run log."))


def _exit_cause(returncode: int) -> str:
    """A subprocess's exit status in words; a signal is named (SIGKILL is most often the
    system out of memory)."""
    if returncode >= 0:
        return f"exit status {returncode}"
    name = signal.Signals(-returncode).name if -returncode in signal.valid_signals() else str(-returncode)
    return f"killed by {name}" + (", most often the system out of memory" if name == "SIGKILL" else "")
