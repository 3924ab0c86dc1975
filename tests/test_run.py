"""``python -m analysis run``: the shared fingerprint-and-skip helper and the stages."""

from __future__ import annotations

import pytest

from analysis import run as runner
from analysis.errors import UserInputError


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


def test_only_names_a_stage_and_optionally_a_model():
    assert runner.parse_only("train:resnet18") == ("train", "resnet18")
    assert runner.parse_only("scores") == ("scores", None)
    with pytest.raises(UserInputError, match="one of data, preprocess, train, scores"):
        runner.parse_only("evaluate")
    with pytest.raises(UserInputError, match="Unknown model"):
        runner.parse_only("train:resnet19")


def test_training_runs_in_its_own_process_under_torchrun_when_asked(tmp_path):
    from analysis.profiles import get_profile

    single = runner.train_command(get_profile("tiny"), ["recipe.epochs=2"], "r3d18", 1, tmp_path, None, 1)
    assert single[1:4] == ["-m", "analysis", "train"] and ["-o", "recipe.epochs=2"] == single[-2:]
    ddp = runner.train_command(get_profile("tiny"), [], "r3d18", 1, tmp_path, tmp_path / "w", 2)
    assert "torch.distributed.run" in ddp and "--nproc_per_node=2" in ddp and ddp[-1] == str(tmp_path / "w")


def test_a_cuda_profile_stops_on_a_machine_without_cuda(monkeypatch):
    import torch

    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    with pytest.raises(UserInputError, match="-o device=cpu"):
        runner.run("paper", ["models.pretrained=false"], only="data")


def test_missing_pretrained_weights_stop_at_once_naming_files_and_weights_dir(tmp_path):
    with pytest.raises(UserInputError) as caught:
        runner.run("paper", ["device=cpu"], weights_dir=tmp_path)
    message = str(caught.value)
    assert "resnet18.tv_in1k.safetensors" in message and "--weights-dir" in message
    assert "models.pretrained=false" in message


def test_benchmark_fingerprint_covers_what_makes_the_videos_and_nothing_else():
    names = {path.name for path in runner.benchmark_code()}
    assert {"generator.py", "methods.py", "face_render.py", "probes.py", "video.py"} <= names
    assert not names & {"sizing.py", "artefacts.py", "shifts.py"}  # read by chapters, not the generator


def test_crop_cache_follows_the_benchmark_videos_not_only_their_manifest():
    from analysis.profiles import get_profile

    benchmark_inputs = {path.name for path in runner.cache_inputs(get_profile("cpu"))}
    assert benchmark_inputs == {"manifest.csv", runner.STAMP}  # the benchmark's fingerprint
    assert runner.STAMP not in {path.name for path in runner.cache_inputs(get_profile("paper"))}
