"""The embedded benchmark: determinism, manifest, splits, and where each method acts."""

from __future__ import annotations

import av
import numpy as np
import pandas as pd
import pytest

from analysis.artefacts import difference_maps, temporal_variation
from analysis.faces import random_identity, region_alpha
from analysis.manifest import read_manifest
from analysis.splits import identity_split
from analysis.synthetic import (
    ANOMALY_VIEWS, DOMAINS, SIZES, generate, make_scene, render_fake, render_real,
)
from analysis.video import read_video
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
    expected = 2 * size.source_pairs * (1 + len(DOMAINS["source"].methods))
    expected += 2 * size.target_pairs * (1 + len(DOMAINS["target"].methods))
    assert len(manifest) == expected
    source = manifest[manifest["domain"] == "source"]
    assert (source["label"] == 1).sum() == 4 * (source["label"] == 0).sum()  # 1:4 as in FF++
    for row in manifest.itertuples():
        assert row.anomaly_view == ANOMALY_VIEWS.get(row.method, "none")
        with av.open(row.path) as container:
            stream = container.streams.video[0]
            assert stream.codec_context.name == "h264"
            assert (stream.width, stream.height) == (row.width, row.height)
        assert row.crf == DOMAINS[row.domain].crf
    assert set(manifest.loc[manifest["domain"] == "source", "method"]) == {"original", *DOMAINS["source"].methods}
    views = {ANOMALY_VIEWS[m] for m in DOMAINS["source"].methods}
    assert {"spatial", "global", "temporal"} <= views


def test_splits_are_the_identity_split_and_disjoint(bench):
    manifest = read_manifest(bench / "manifest.csv")
    target = manifest[manifest["domain"] == "target"]
    assert set(target["split"]) == {"test"}
    source = manifest[manifest["domain"] == "source"]
    fakes = source[source["target_id"] != ""]
    expected = identity_split(source["source_id"], zip(fakes["source_id"], fakes["target_id"]), seed=0)
    assert source["source_id"].map(expected).tolist() == source["split"].tolist()
    assert_identity_disjoint(source)
    assert set(source["split"]) == {"train", "val", "test"}


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
    """Real and fake frames before noise and encoding, for a few pairs of each domain."""
    out = []
    for k in range(4):
        for domain, style in DOMAINS.items():
            rng = np.random.default_rng([7, k, len(domain)])
            a, b = random_identity(rng, "a"), random_identity(rng, "b")
            scene, donor_scene = make_scene(rng, style, SIZES["cpu"]), make_scene(rng, style, SIZES["cpu"])
            real = np.stack(render_real(a, scene))
            for method in style.methods:
                fake = np.stack(render_fake(method, a, b, scene, donor_scene, list(real), rng))
                out.append((method, a, scene, real, fake))
    return out


def test_each_method_changes_only_inside_its_region(rendered):
    for method, person, scene, real, fake in rendered:
        change = difference_maps(real, fake)
        region = "mouth" if method == "lip_desync" else "face"
        inside = np.stack([region_alpha(person, p, real.shape[1:3], region, 1.0) > 0 for p in scene.poses])
        # swaps paste another face's inner region, which may reach just past the outline
        near = np.stack([region_alpha(person, p.shifted(scale_factor=1.25), real.shape[1:3], region, 4.0) > 0 for p in scene.poses])
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


def test_paper_profile_has_no_benchmark_size(tmp_path, capsys):
    from analysis.cli import main

    assert main(["synth", "--profile", "paper", "--out", str(tmp_path)]) == 2
    assert "real datasets" in capsys.readouterr().err


@pytest.mark.slow
def test_mtcnn_finds_faces_in_95_percent_of_cpu_frames(tmp_path):
    from analysis.face_detect import detection_rate, rate_table

    manifest = generate(tmp_path, profile="cpu", seed=0)
    rates = rate_table(detection_rate(manifest, frames_per_video=4), ["domain", "label"])
    assert (rates["face rate"] >= 0.95).all(), rates
