"""The embedded benchmark: determinism, manifest, splits, and where each method acts."""

from __future__ import annotations

import av
import numpy as np
import pandas as pd
import pytest

from analysis.benchmark.changes import CHANGE_COLUMNS, difference_maps, temporal_variation
from analysis.benchmark.face_render import (
    Pose, ellipse_alpha, face_coordinates, random_identity, region_alpha, support_box,
)
from analysis.benchmark.generator import (
    ANOMALY_VIEWS, CAPTURES, SIZES, SOURCE_METHODS, SUBSETS, fake_schedule, generate, make_scene, render_real,
    source_video,
)
from analysis.benchmark.methods import FakeInputs, get_method
from analysis.data.manifest import read_manifest
from analysis.data.splits import identity_split
from analysis.paths import FAKE_CHANGES_FILE
from analysis.preprocess.video import read_video
from tests.conftest import assert_identity_disjoint


@pytest.fixture(scope="module")
def bench(tmp_path_factory):
    out = tmp_path_factory.mktemp("bench")
    generate(out, profile="tiny", seed=0, workers=2)
    return out


def test_same_seed_same_benchmark_other_seed_other(bench, tmp_path):
    generate(tmp_path / "again", profile="tiny", seed=0, workers=1)
    first, again = read_manifest(bench / "manifest.csv"), read_manifest(tmp_path / "again" / "manifest.csv")
    pd.testing.assert_frame_equal(first.drop(columns="path"), again.drop(columns="path"))
    for a, b in zip(first["path"], again["path"]):
        np.testing.assert_array_equal(read_video(a), read_video(b))

    generate(tmp_path / "other", profile="tiny", seed=1, workers=2)
    people = pd.read_csv(bench / "identities.csv").drop(columns="identity_id")
    other = pd.read_csv(tmp_path / "other" / "identities.csv").drop(columns="identity_id")
    assert not people.equals(other)
    relative = pd.read_csv(bench / "manifest.csv")["path"].iloc[0]
    assert not np.array_equal(read_video(bench / relative), read_video(tmp_path / "other" / relative))


def test_manifest_describes_real_h264_videos(bench):
    manifest = read_manifest(bench / "manifest.csv")
    size = SIZES["tiny"]
    expected = sum(size.pairs(s) * (2 + s.fakes_per_pair) for s in SUBSETS.values())
    assert len(manifest) == expected
    source = manifest[manifest["domain"] == "source"]
    assert (source["label"] == 1).sum() == 2 * (source["label"] == 0).sum()  # 4 fakes per pair of reals
    for row in manifest.itertuples():
        assert row.anomaly_view == ANOMALY_VIEWS.get(row.method, "none")
        with av.open(row.path) as container:
            stream = container.streams.video[0]
            assert stream.codec_context.name == "h264"
            assert (stream.width, stream.height) == (row.width, row.height)
        assert row.crf == CAPTURES[SUBSETS[row.subset].capture].crf
        assert row.method == "original" or row.method in SUBSETS[row.subset].methods
    assert set(source["method"]) == {"original", *SOURCE_METHODS}
    views = {ANOMALY_VIEWS[m] for m in SOURCE_METHODS}
    assert {"spatial", "global", "temporal"} <= views


def test_every_fake_is_measured_against_its_own_decoded_source(bench):
    """The generator writes, for every manipulated video in the manifest's order, the change
    that decoding the fake and its source video again measures, to the last bit."""
    manifest = read_manifest(bench / "manifest.csv")
    fakes = manifest[manifest["label"] == 1].reset_index(drop=True)
    measured = pd.read_csv(bench / FAKE_CHANGES_FILE)
    assert measured[["subset", "method", "video_id"]].equals(fakes[["subset", "method", "video_id"]])
    for fake, row in zip(fakes.itertuples(), measured.itertuples(index=False)):
        real, manipulated = read_video(source_video(manifest, fake._asdict())["path"]), read_video(fake.path)
        assert row[-2:] == (float(difference_maps(real, manipulated).mean()), temporal_variation(real, manipulated))
    assert list(measured.columns[-2:]) == list(CHANGE_COLUMNS) and (measured["mean change"] > 0).all()


def test_every_target_subset_declares_one_shift(bench):
    manifest = read_manifest(bench / "manifest.csv")
    target = manifest[manifest["domain"] == "target"]
    assert set(target["subset"]) == {s.name for s in SUBSETS.values() if s.domain == "target"}
    source = SUBSETS["source"]
    for subset in SUBSETS.values():
        if subset.domain != "target":
            continue
        new_method = not set(subset.methods) & set(source.methods)
        new_capture = subset.capture != source.capture
        assert subset.shift == "+".join(k for k, new in (("method", new_method), ("capture", new_capture)) if new)


def test_fake_schedule_balances_methods_and_directions():
    subset = SUBSETS["unseen_capture"]
    slots = [slot for k in range(8) for slot in fake_schedule(subset, k)]
    counts = pd.Series([m for m, _ in slots]).value_counts()
    assert set(counts.index) == set(subset.methods) and counts.nunique() == 1
    assert sum(d for _, d in slots) * 2 == len(slots)


def test_splits_are_the_identity_split_and_disjoint(bench):
    manifest = read_manifest(bench / "manifest.csv")
    target = manifest[manifest["domain"] == "target"]
    assert set(target["split"]) == {"test"}
    source = manifest[manifest["domain"] == "source"]
    fakes = source[source["target_id"] != ""]
    size = SIZES["tiny"]
    total = size.train_pairs + size.val_pairs + size.test_pairs
    fractions = {"train": size.train_pairs / total, "val": size.val_pairs / total, "test": size.test_pairs / total}
    expected = identity_split(source["source_id"], zip(fakes["source_id"], fakes["target_id"]), seed=0,
                              fractions=fractions)
    assert source["source_id"].map(expected).tolist() == source["split"].tolist()
    assert_identity_disjoint(source)
    reals = source[source["label"] == 0].groupby("split").size()
    assert reals.to_dict() == {"train": 2 * size.train_pairs, "val": 2 * size.val_pairs, "test": 2 * size.test_pairs}


def test_target_identities_never_occur_in_source(bench):
    people = pd.read_csv(bench / "identities.csv")
    source, target = people[people["domain"] == "source"], people[people["domain"] == "target"]
    assert not set(source["identity_id"]) & set(target["identity_id"])
    looks = [c for c in people.columns if c not in ("identity_id", "domain")]
    assert source.merge(target, on=looks).empty
    manifest = read_manifest(bench / "manifest.csv")
    target_videos = manifest[manifest["domain"] == "target"]
    assert set(target_videos["source_id"]) | set(target_videos["target_id"]) - {""} <= set(target["identity_id"])


@pytest.fixture(scope="module")
def rendered():
    """Real and fake frames before noise and encoding, for a few pairs in each capture."""
    out = []
    methods = sorted({m for s in SUBSETS.values() for m in s.methods})
    for k in range(4):
        for capture in CAPTURES.values():
            rng = np.random.default_rng([7, k, len(capture.name)])
            a, b = random_identity(rng, "a"), random_identity(rng, "b")
            scene, donor_scene = make_scene(rng, capture, SIZES["cpu"]), make_scene(rng, capture, SIZES["cpu"])
            real = np.stack(render_real(a, scene))
            for method in methods:
                fake = np.stack(get_method(method).render(FakeInputs(a, b, scene, donor_scene, list(real)), rng))
                out.append((method, a, scene, real, fake))
    return out


def test_each_method_changes_only_inside_its_region(rendered):
    for method, person, scene, real, fake in rendered:
        change = difference_maps(real, fake)
        region = "mouth" if method == "lip_desync" else "face"
        inside = np.stack([region_alpha(person, p, real.shape[1:3], region, 1.0) > 0 for p in scene.poses])
        # swaps paste another face's inner region, which may reach just past the outline;
        # the lip desync's mask is feathered over 3 px around the mouth
        grow = 1.0 if method == "lip_desync" else 1.25
        near = np.stack([region_alpha(person, p.shifted(scale_factor=grow), real.shape[1:3], region, 8.0) > 0 for p in scene.poses])
        assert change[inside].mean() > 0.01, method
        assert change[~near].max() < 1e-6, method
        assert change[inside].mean() > 20 * change[~inside].mean(), method


def test_temporal_methods_change_from_frame_to_frame(rendered):
    by_method = {}
    for method, _, _, real, fake in rendered:
        by_method.setdefault(method, []).append(temporal_variation(real, fake))
    mean = {m: float(np.mean(v)) for m, v in by_method.items()}
    for temporal in ("jitter_swap", "lip_desync"):
        assert mean[temporal] > 2 * mean["blend_swap"], mean
        assert mean[temporal] > 2 * mean["relight"], mean


def test_a_feature_drawn_on_its_support_box_is_the_whole_frame_drawing():
    """The renderer draws small features on their support box only: every covered pixel
    must lie inside it, and the box's values must be the whole frame's, bit for bit, for
    any roll, scale, feather and position, a face half outside the frame included."""
    rng = np.random.default_rng(0)
    shape, checked = (96, 128), 0
    for _ in range(300):
        pose = Pose(cx=float(rng.uniform(-30, 160)), cy=float(rng.uniform(-30, 130)), scale=float(rng.uniform(6, 50)),
                    roll=float(rng.uniform(-np.pi, np.pi)), yaw=float(rng.uniform(-0.6, 0.6)))
        ellipse = (*rng.uniform(-1.2, 1.2, 2), *rng.uniform(0.01, 0.5, 2), float(rng.choice([0.0, 1.0, 3.0])))
        shift = (pose.yaw * 0.3, 0.0)
        u, v = face_coordinates(shape, pose)
        fu, fv = u - shift[0], v - shift[1]
        whole = ellipse_alpha(fu, fv, *ellipse[:4], pose.scale, ellipse[4])
        box = support_box(shape, pose, [ellipse], shift)
        outside = whole.copy()
        outside[box] = 0
        assert not outside.any()
        assert np.array_equal(ellipse_alpha(fu[box], fv[box], *ellipse[:4], pose.scale, ellipse[4]), whole[box])
        checked += bool(whole.any())
    assert checked > 100  # most draws put the ellipse on the frame


def test_unknown_profile_is_a_clear_error(tmp_path, capsys):
    from analysis.cli import main

    assert main(["synth", "--profile", "nosuch", "--out", str(tmp_path)]) == 2
    assert "choose one of" in capsys.readouterr().err
    assert not any(tmp_path.iterdir())


@pytest.mark.slow
def test_mtcnn_finds_faces_in_95_percent_of_cpu_frames(tmp_path):
    """On the first fifth of every subset's identity pairs of the cpu benchmark. A pair's
    videos depend on the data seed and the pair's index only, so these are a cpu build's
    own videos (its preprocessing report gives the rate over all of them) at a fifth of
    the cost."""
    from dataclasses import replace

    from analysis.preprocess.face_detect import detection_rate, rate_table
    from analysis.profiles import get_profile

    cpu = get_profile("cpu")
    full = cpu.data.benchmark
    fifth = replace(full, **{f: -(-getattr(full, f) // 5) for f in ("train_pairs", "val_pairs", "test_pairs",
                                                                       "target_pairs")})
    manifest = generate(tmp_path, profile=replace(cpu, data=replace(cpu.data, benchmark=fifth)), seed=0)
    rates = detection_rate(manifest, frames_per_video=4).merge(manifest[["method", "video_id", "subset"]])
    rates = rate_table(rates, ["subset", "label"])
    assert len(rates) == 2 * len(SUBSETS)
    assert (rates["face rate"] >= 0.95).all(), rates


def test_subset_of_maps_scores_rows_to_their_shift(bench):
    from analysis.benchmark.shifts import subset_of
    from analysis.errors import UserInputError

    manifest = read_manifest(bench / "manifest.csv")
    scores = manifest[["dataset", "method", "video_id"]].sample(frac=1.0, random_state=0)
    assert subset_of(scores, manifest).tolist() == manifest.loc[scores.index, "subset"].tolist()
    stray = pd.DataFrame({"dataset": ["synthetic"], "method": ["original"], "video_id": ["zz999"]})
    with pytest.raises(UserInputError, match="zz999"):
        subset_of(stray, manifest)


def test_synth_draws_the_books_benchmark_unless_told_another_seed(tmp_path, monkeypatch):
    from analysis import cli
    from analysis.benchmark import generator
    from analysis.profiles import get_profile

    seeds = []
    monkeypatch.setattr(generator, "generate", lambda out, *, profile, seed, workers: seeds.append(seed) or [])
    monkeypatch.setattr(cli, "_print_counts", lambda manifest: None)
    assert cli.main(["synth", "--profile", "cpu", "--out", str(tmp_path)]) == 0
    assert cli.main(["synth", "--profile", "cpu", "--out", str(tmp_path), "--seed", "0"]) == 0
    assert seeds == [get_profile("cpu").data.seed, 0] and get_profile("cpu").data.seed != 0
