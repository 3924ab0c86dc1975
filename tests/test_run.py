"""``python -m analysis run``: the shared fingerprint-and-skip helper and the stages."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from analysis import run as runner
from analysis.errors import UserInputError
from analysis.paths import cache_dir


def test_build_if_stale_skips_rebuilds_and_resumes(tmp_path):
    out, calls = tmp_path / "stage", []

    def build(text="done"):
        calls.append(text)
        (out / "result.txt").write_text(text)

    assert runner.build_if_stale(out, "aaa", build, outputs=("result.txt",))
    assert not runner.build_if_stale(out, "aaa", build, outputs=("result.txt",))  # up to date
    assert calls == ["done"]
    (out / "extra.txt").write_text("stale leftovers")
    assert runner.build_if_stale(out, "bbb", build)  # another fingerprint: removed, rebuilt
    assert not (out / "extra.txt").exists() and len(calls) == 2

    def interrupted():
        (out / "partial.txt").write_text("half")
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        runner.build_if_stale(out, "ccc", interrupted)
    assert runner.build_if_stale(out, "ccc", build)  # same fingerprint: resumed in place
    assert (out / "partial.txt").exists()


def test_fingerprint_follows_files_and_settings(tmp_path):
    code = tmp_path / "code.py"
    code.write_text("x = 1")
    first = runner.fingerprint([code], {"a": 1})
    assert runner.fingerprint([code], {"a": 1}) == first
    assert runner.fingerprint([code], {"a": 2}) != first
    code.write_text("x = 2")
    assert runner.fingerprint([code], {"a": 1}) != first


def test_a_runs_fingerprint_follows_its_own_recipe_not_the_other_models_or_the_hang_guard():
    from analysis.profiles import resolve

    cpu = resolve("cpu")
    before = {m: runner.fingerprint([], runner._run_profile(cpu, m)) for m in ("r3d18", "r3d18_flow", "deep_svdd")}

    def after(overrides, model):
        return runner.fingerprint([], runner._run_profile(resolve("cpu", overrides), model))

    other = ["per_model.r3d18_flow.epochs=10", "seeds=[0,1]", "train_models=[r3d18,r3d18_flow]",
             "recipe.hang_guard_seconds=60", "per_model.r3d18.hang_guard_seconds=60"]
    assert after(other, "r3d18") == before["r3d18"]
    assert after(other, "r3d18_flow") != before["r3d18_flow"]
    assert after(["per_model.r3d18.batch_size=8"], "r3d18") != before["r3d18"]
    assert after(["recipe.lr=1e-3"], "deep_svdd") != before["deep_svdd"]  # the recipe all models share


def test_only_names_a_stage_and_optionally_a_model():
    assert runner.parse_only("train:resnet18") == ("train", "resnet18")
    assert runner.parse_only("scores") == ("scores", None)
    with pytest.raises(UserInputError, match="one of data, preprocess, train, scores"):
        runner.parse_only("evaluate")
    with pytest.raises(UserInputError, match="Unknown model"):
        runner.parse_only("train:resnet19")


def test_training_runs_in_its_own_process_under_torchrun_when_asked(tmp_path):
    from analysis.profiles import get_profile

    arguments = runner.train_arguments(get_profile("tiny"), ["recipe.epochs=2"], "r3d18", 1, tmp_path, None)
    single = runner.train_command(arguments, 1)
    assert single[1:4] == ["-m", "analysis", "train"] and ["-o", "recipe.epochs=2"] == single[-2:]
    ddp = runner.train_command(runner.train_arguments(get_profile("tiny"), [], "r3d18", 1, tmp_path, tmp_path / "w"), 2)
    assert "torch.distributed.run" in ddp and "--nproc_per_node=2" in ddp and ddp[-1] == str(tmp_path / "w")


def test_a_cuda_profile_stops_on_a_machine_without_cuda(monkeypatch):
    import torch

    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    with pytest.raises(UserInputError, match="-o device=cpu"):
        runner.run("paper", ["models.pretrained=false"], only="train")


def test_the_data_stage_of_a_cuda_profile_runs_on_any_machine(monkeypatch, tmp_path):
    """It only generates the benchmark and combines the indexed manifests (README: the
    machines that fill the crop cache, or any other, run it)."""
    import torch

    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    monkeypatch.setenv("ANALYSIS_RUNS_DIR", str(tmp_path))
    monkeypatch.setattr(runner.speed_probe, "measure", lambda processes: {"samples_per_second": {}, "processes": processes})
    ran = []
    monkeypatch.setattr(runner, "stage_data", lambda profile: ran.append(profile.name))
    runner.run("paper", only="data")
    assert ran == ["paper"]


def test_missing_pretrained_weights_stop_at_once_naming_files_and_weights_dir(tmp_path):
    with pytest.raises(UserInputError) as caught:
        runner.run("paper", ["device=cpu"], weights_dir=tmp_path)
    message = str(caught.value)
    assert "resnet18.tv_in1k.safetensors" in message and "--weights-dir" in message
    assert "models.pretrained=false" in message
    # and RAFT, which the paper profile's flow view needs: named, never replaced in silence
    assert "raft_small_C_T_V2-01064c6d.pth" in message and "preprocessing.flow=farneback" in message


def test_missing_raft_weights_stop_preprocessing_at_once_unless_farneback_is_chosen(tmp_path, monkeypatch):
    import torch

    monkeypatch.setattr(torch.hub, "get_dir", lambda: str(tmp_path / "hub"))
    with pytest.raises(UserInputError, match="raft_small_C_T_V2-01064c6d.pth") as caught:
        runner.run("paper", ["device=cpu"], only="preprocess", weights_dir=tmp_path)
    assert str(tmp_path) in str(caught.value) and "--weights-dir" in str(caught.value)
    # chosen on purpose, Farneback passes the check (and the stage then asks for its manifest)
    monkeypatch.setenv("ANALYSIS_RUNS_DIR", str(tmp_path / "runs"))
    with pytest.raises(UserInputError, match="No study manifest"):
        runner.run("paper", ["device=cpu", "preprocessing.flow=farneback"], only="preprocess", weights_dir=tmp_path)


def test_benchmark_fingerprint_covers_what_makes_the_videos_and_nothing_else():
    names = {path.name for path in runner.benchmark_code()}
    assert {"generator.py", "methods.py", "face_render.py", "probes.py", "video.py"} <= names
    assert not names & {"sizing.py", "artefacts.py", "shifts.py"}  # read by chapters, not the generator


def test_crop_cache_follows_the_benchmark_videos_not_only_their_manifest():
    from analysis.profiles import get_profile

    benchmark_inputs = {path.name for path in runner.cache_inputs(get_profile("cpu"))}
    assert benchmark_inputs == {"manifest.csv", runner.STAMP}  # the benchmark's fingerprint
    assert runner.STAMP not in {path.name for path in runner.cache_inputs(get_profile("paper"))}


def test_training_runs_go_side_by_side_and_a_failed_run_keeps_the_others(tmp_path, monkeypatch):
    """On a CPU, one run per core at the profile's fixed threads; a run that fails does not
    stop the others, and the stage then fails naming it."""
    import threading

    from analysis.profiles import resolve
    from analysis.paths import run_folder
    from analysis.training.run_record import RECORD_FILE, SCORES_FILE

    monkeypatch.setenv("ANALYSIS_RUNS_DIR", str(tmp_path))
    monkeypatch.setattr(runner.os, "cpu_count", lambda: 2)
    profile = resolve("tiny", ["train_models=[resnet18,r3d18,vit_b16]"])
    stamp = cache_dir(profile.name) / runner.STAMP
    stamp.parent.mkdir(parents=True)
    stamp.write_text("cache")
    assert runner.training_processes(profile, 1) == 2
    assert runner.training_processes(resolve("tiny", ["threads_per_run=2"]), 1) == 1
    running, most = set(), []

    def fake_run(arguments, log):
        model = arguments[arguments.index("--model") + 1]
        out = Path(arguments[arguments.index("--out") + 1])
        running.add(model)
        most.append(len(running))
        threading.Event().wait(0.2)
        running.discard(model)
        assert log == out / runner.TRAIN_LOG  # side by side: each run's output in its own log
        if model == "r3d18":
            raise runner.UserInputError(f"Training failed: {model}")
        (out / RECORD_FILE).write_text("{}")
        (out / SCORES_FILE).write_text("")

    monkeypatch.setattr(runner, "_run_forked", fake_run)
    with pytest.raises(runner.UserInputError, match="1 of 3 training runs failed.*r3d18"):
        runner.stage_train(profile, [])
    assert max(most) == 2
    for model, finished in (("resnet18", True), ("vit_b16", True), ("r3d18", False)):
        assert (run_folder(profile.name, model, 0) / runner.STAMP).is_file() is finished


def test_a_failed_run_says_why_from_its_log(tmp_path):
    """Side by side, a run's output goes only to its log: the error carries the log's last
    lines without the progress bars (CI shows the error, not the log), and a killed run
    names the signal."""
    log = tmp_path / "train.log"
    crash = ("import sys\nfor i in range(3): print(f'\\r{i * 50}%|##   | {i}/2 [00:0{i}<00:01]', end='')\n"
             "raise OSError(28, 'No space left on device')")
    with pytest.raises(runner.UserInputError) as failed:
        runner._stream([sys.executable, "-c", crash], log)
    message, ending = str(failed.value).split("which ends:\n")
    assert "exit status 1" in message
    assert ending.splitlines() == ["Traceback (most recent call last):", '  File "<string>", line 3, in <module>',
                                   "OSError: [Errno 28] No space left on device"]
    with pytest.raises(runner.UserInputError, match="killed by SIGKILL, most often the system out of memory"):
        runner._stream([sys.executable, "-c", "import os, signal; os.kill(os.getpid(), signal.SIGKILL)"], log)


def test_a_forked_run_writes_its_log_and_fails_with_its_exit_status(tmp_path):
    """Runs side by side start from a fork server that imported the trainer once: a run's
    output, its file descriptors' too, goes to its own log, and a failed run is reported
    as a failed subprocess is."""
    log = tmp_path / "train.log"
    runner._run_forked(["models"], log)
    assert "resnet18" in log.read_text()
    with pytest.raises(runner.UserInputError) as failed:
        runner._run_forked(["train", "--profile", "no_such_profile", "--model", "resnet18", "--out", str(tmp_path)], log)
    message, ending = str(failed.value).split("which ends:\n")
    assert "exit status 2" in message and "-m analysis train --profile no_such_profile" in message
    assert ending.startswith("error:") and "no_such_profile" in ending


def test_worker_processes_fork_from_the_preloaded_server_on_linux_only(monkeypatch):
    from analysis import fork_server

    monkeypatch.setattr(fork_server.sys, "platform", "linux")
    assert fork_server.context().get_start_method() == "forkserver"
    monkeypatch.setattr(fork_server.sys, "platform", "darwin")
    assert fork_server.context().get_start_method() == "spawn"


def test_log_tail_keeps_the_last_lines_that_are_not_progress_bars(tmp_path):
    from analysis import logs

    log = tmp_path / "x.log"
    log.write_bytes(b"one\r\n 45%|####5     | 9/20 [00:03<00:04]\rtwo\n\nthree\xff\n")
    assert logs.tail(log, 2) == "two\nthree\ufffd"
    assert logs.tail(tmp_path / "missing.log") == ""


def test_speed_probe_measures_both_models_and_converts_seconds_to_probe_units():
    from analysis.training import speed_probe

    probe = speed_probe.measure(seconds=0.2, processes=1)
    assert set(probe["samples_per_second"]) == set(speed_probe.PROBE_MODELS)
    assert all(v > 0 for v in probe["samples_per_second"].values())
    frame_cnn = probe["samples_per_second"][speed_probe.PROBE_MODELS[0]]
    assert speed_probe.probe_units(100.0, probe) == pytest.approx(100.0 * frame_cnn / speed_probe.UNIT_SAMPLES)
    # a machine twice as slow takes twice the seconds at half the probe speed: the same units
    slow = {**probe, "samples_per_second": {k: v / 2 for k, v in probe["samples_per_second"].items()}}
    assert speed_probe.probe_units(200.0, slow) == pytest.approx(speed_probe.probe_units(100.0, probe))


def test_a_stage_time_is_recorded_only_when_the_stage_built(tmp_path):
    import json

    probe = {"samples_per_second": {"resnet18": 100.0, "r3d18": 10.0}, "processes": 2}
    runner.timed_stage(tmp_path, "data", lambda: None, probe)  # up to date: nothing built
    assert not (tmp_path / runner.STAGE_TIMES).exists()
    runner.timed_stage(tmp_path, "data", lambda: runner.build_if_stale(tmp_path / "out", "x", lambda: None), probe)
    times = json.loads((tmp_path / runner.STAGE_TIMES).read_text())
    assert set(times) == {"data"} and times["data"]["probe"] == probe["samples_per_second"]
    assert times["data"]["probe units"] == pytest.approx(times["data"]["seconds"] * 0.1, abs=0.1)


def test_a_relative_runs_folder_is_read_from_the_project_root_wherever_the_process_starts(tmp_path, monkeypatch):
    """A notebook's kernel starts in the notebook's folder; it must find the runs the shell
    that exported ANALYSIS_RUNS_DIR=runs/exercises meant."""
    from analysis import paths

    monkeypatch.setenv("ANALYSIS_RUNS_DIR", "runs/exercises")
    monkeypatch.chdir(tmp_path)
    assert paths.run_dir("cpu") == paths.PROJECT_ROOT / "runs" / "exercises" / "cpu"
    monkeypatch.setenv("ANALYSIS_RUNS_DIR", str(tmp_path / "elsewhere"))
    assert paths.run_dir("cpu") == tmp_path / "elsewhere" / "cpu"


def test_pages_name_the_runs_folder_as_any_clone_does(tmp_path, monkeypatch):
    """The provenance page lists each figure's data by path: never this machine's folders."""
    from analysis import paths

    monkeypatch.delenv("ANALYSIS_RUNS_DIR", raising=False)
    scores = paths.run_dir("cpu") / paths.SCORES_FILE
    assert paths.shown_path(f"scores table {scores} (test splits)") == "scores table runs/cpu/scores.csv (test splits)"
    assert paths.shown_path(f"{paths.PROJECT_ROOT}/data_manifests/ffpp_splits") == "data_manifests/ffpp_splits"
    monkeypatch.setenv("ANALYSIS_RUNS_DIR", str(tmp_path / "elsewhere"))
    assert paths.shown_path(str(paths.run_dir("cpu") / paths.SCORES_FILE)) == "$ANALYSIS_RUNS_DIR/cpu/scores.csv"


def test_an_unreachable_hub_is_put_offline_for_the_weights_check_and_restored_after(monkeypatch):
    import socket

    import huggingface_hub.constants as hub

    from analysis import run

    def refuse(*args, **kwargs):
        raise OSError("no route")

    for name in ("HTTPS_PROXY", "https_proxy", "ALL_PROXY", "all_proxy"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setattr(socket, "create_connection", refuse)
    monkeypatch.setattr(hub, "HF_HUB_OFFLINE", False)
    with run._hub_offline_unless_reachable(True):
        assert hub.is_offline_mode()
    assert not hub.is_offline_mode()
    with run._hub_offline_unless_reachable(False):  # nothing to download: no probe, no change
        assert not hub.is_offline_mode()
    monkeypatch.setenv("HTTPS_PROXY", "http://proxy:3128")
    with run._hub_offline_unless_reachable(True):
        assert not hub.is_offline_mode()


def test_runs_go_longest_first_by_their_last_time_or_else_by_the_cost_tables_estimate(tmp_path, monkeypatch):
    """A model never trained is placed by the dry run's estimate, so a cost table that makes
    the autoencoder and the ResNet-18 slow puts them ahead of the clip model that their
    kind would put first; a model with a run record follows, by the time it took."""
    import json

    import pandas as pd

    from analysis import plan
    from analysis.paths import run_folder
    from analysis.profiles import get_profile
    from analysis.training.run_record import RECORD_FILE

    monkeypatch.setenv("ANALYSIS_RUNS_DIR", str(tmp_path))
    profile = get_profile("cpu")
    videos = pd.DataFrame({"domain": "source", "split": ["train"] * 4 + ["val", "test"], "label": [0, 1] * 3})
    monkeypatch.setattr(plan, "study_videos", lambda _: videos)
    speeds = {"autoencoder": 0.01, "resnet18": 1.0, "r3d18": 1000.0, "vit_b16": 1000.0}
    costs = pd.DataFrame([{"name": name, "profile": "cpu", "device": "cpu", "forward_per_second": 1000.0,
                           "train_per_second": speed, "source": "test"} for name, speed in speeds.items()])
    monkeypatch.setattr(plan, "read_costs", lambda: costs)
    monkeypatch.setattr(plan, "COSTS_FILE", tmp_path / "costs.csv")
    plan.COSTS_FILE.write_text("read through read_costs")
    folder = run_folder(profile.name, "vit_b16", 0)
    folder.mkdir(parents=True)
    (folder / RECORD_FILE).write_text(json.dumps({"train_seconds": 1e6}))
    jobs = [(name, 0) for name in ("vit_b16", "resnet18", "r3d18", "autoencoder")]
    assert [job[0] for job in runner._longest_first(jobs, profile)] == ["autoencoder", "resnet18", "r3d18", "vit_b16"]
