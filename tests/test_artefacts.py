"""The change and artefact measures on hand-made videos with known answers."""

import numpy as np
import pytest

from analysis.benchmark.changes import difference_maps, temporal_variation


def test_constant_change_has_no_temporal_variation():
    real = np.zeros((5, 4, 4, 3))
    fake = real.copy()
    fake[:, 1:3, 1:3] = 0.5
    assert temporal_variation(real, fake) == 0.0
    maps = difference_maps(real, fake)
    assert maps.shape == (5, 4, 4) and maps[:, 1, 1].tolist() == [0.5] * 5 and maps[:, 0, 0].sum() == 0


def test_alternating_change_varies_fully():
    real = np.zeros((4, 2, 2, 3))
    fake = real.copy()
    fake[::2] = 1.0  # on, off, on, off: every step changes by 1, mean size 0.5
    assert temporal_variation(real, fake) == pytest.approx(2.0)


def test_shape_mismatch_is_refused():
    with pytest.raises(ValueError, match="differ in shape"):
        difference_maps(np.zeros((2, 4, 4, 3)), np.zeros((3, 4, 4, 3)))


def test_crop_side_counts_the_margin_in_output_pixels():
    from analysis.benchmark.artefacts import _crop_side_px
    from analysis.preprocess.face_detect import margin_for

    box = np.array([10.0, 20.0, 70.0, 90.0])  # 60 x 70 px: the longer side sets the square
    for size in (32, 64):
        side = _crop_side_px(box, size)
        assert side == pytest.approx(70 * size / (size - margin_for(size)))
        assert size / side < size / 70  # the margin makes the face's own scale smaller


def test_the_preprocess_stage_measures_artefacts_at_input_sizes_once_per_crop_cache(tmp_path, monkeypatch):
    """``stage_input_size_artefacts`` measures at the input sizes of the profile's models
    on the study's crop cache, writes the table the chapter reads, and measures again only
    when the crop cache is rebuilt."""
    import pandas as pd

    from analysis import run as runner
    from analysis.benchmark import artefacts
    from analysis.data.sources import benchmark_dir
    from analysis.paths import cache_dir, input_size_artefacts_file
    from analysis.profiles import get_profile

    monkeypatch.setenv("ANALYSIS_RUNS_DIR", str(tmp_path / "runs"))
    profile = get_profile("tiny")
    manifest = pd.DataFrame({"video_id": ["a", "a_b"], "label": [0, 1]})
    benchmark_dir(profile.name).mkdir(parents=True)
    manifest.to_csv(benchmark_dir(profile.name) / runner.MANIFEST_FILE, index=False)
    monkeypatch.setattr("analysis.data.manifest.read_manifest", lambda path: pd.read_csv(path))
    cache = cache_dir(profile.name)
    cache.mkdir(parents=True)
    (cache / runner.STAMP).write_text("crop cache 1")
    calls = []

    def measured(manifest, cache_root, frames, sizes, per_method):
        calls.append((list(manifest["video_id"]), cache_root, frames, sizes, per_method))
        return pd.DataFrame({"input px": sizes, "mean |fake-real|": [float(s) for s in sizes]})

    monkeypatch.setattr(artefacts, "artefact_at_input_sizes", measured)
    path = runner.stage_input_size_artefacts(profile)
    sizes = sorted({profile.variant(name).input_size for name in profile.model_names()})
    assert path == input_size_artefacts_file(profile.name)
    assert calls == [(["a", "a_b"], cache, profile.preprocessing.frames_per_video, sizes, runner.ARTEFACT_VIDEOS)]
    assert pd.read_csv(path)["input px"].tolist() == sizes
    runner.stage_input_size_artefacts(profile)
    assert len(calls) == 1  # the same crop cache: not measured again
    (cache / runner.STAMP).write_text("crop cache 2")
    runner.stage_input_size_artefacts(profile)
    assert len(calls) == 2
