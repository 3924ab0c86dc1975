"""The registry of manipulation methods and the declared strengths of their artefacts."""

from __future__ import annotations

import numpy as np
import pytest

from analysis.benchmark.face_render import Pose, random_identity
from analysis.benchmark.methods import (
    REAL_METHOD, SOURCE_FACE_HALF_WIDTH_PX, BlendSwapParams, FakeInputs, JitterSwapParams, Method,
    RefinedSwapParams, get_method, list_methods, register_method, synthesis_factor,
)
from analysis.benchmark.generator import CAPTURES, SIZES, SUBSETS, make_scene, render_real


def test_every_method_a_subset_uses_is_registered_with_a_view():
    used = {m for s in SUBSETS.values() for m in s.methods}
    assert used <= set(list_methods())
    assert all(get_method(m).view for m in used)
    assert list_methods("*_swap") == ["blend_swap", "jitter_swap", "refined_swap"]


def test_registry_refuses_duplicates_the_real_label_and_unknown_names():
    existing = get_method("relight")
    with pytest.raises(ValueError, match="already registered"):
        register_method(existing)
    with pytest.raises(ValueError, match="names the real videos"):
        register_method(Method(REAL_METHOD, "none", "", existing.params, existing.renderer))
    with pytest.raises(ValueError, match="blend_swap"):
        get_method("blendswap")


def test_refined_swap_keeps_half_of_each_source_artefact():
    blend, jitter, refined = BlendSwapParams(), JitterSwapParams(), RefinedSwapParams()
    assert 1 - refined.synthesis_scale == pytest.approx((1 - blend.synthesis_scale) / 2)
    assert 1 - refined.skin_correction == pytest.approx((1 - blend.skin_correction) / 2)
    assert refined.drift_iod == pytest.approx(jitter.shift_iod / 2)
    assert refined.gain_sd == pytest.approx(jitter.gain_sd / 2)


def test_a_synthesiser_of_fixed_size_costs_a_smaller_face_less_resolution():
    studio, outdoor = CAPTURES["studio"], CAPTURES["outdoor"]
    assert SOURCE_FACE_HALF_WIDTH_PX == pytest.approx(np.mean(studio.face_scale) * studio.height, abs=0.1)

    def factor(half_width: float, scale: float = 0.6) -> float:
        return synthesis_factor(scale, Pose(cx=0, cy=0, scale=half_width))

    assert factor(SOURCE_FACE_HALF_WIDTH_PX) == pytest.approx(0.6)
    assert factor(2 / 3 * SOURCE_FACE_HALF_WIDTH_PX) == pytest.approx(0.9)  # the target capture's faces
    assert factor(0.5 * SOURCE_FACE_HALF_WIDTH_PX) == 1.0  # smaller than the synthesiser: no loss
    assert factor(np.mean(outdoor.face_scale) * outdoor.height) > factor(SOURCE_FACE_HALF_WIDTH_PX)


def _video(method: str, seed: int):
    rng = np.random.default_rng(seed)
    a, b = random_identity(rng, "a"), random_identity(rng, "b")
    scene, donor_scene = make_scene(rng, CAPTURES["studio"], SIZES["cpu"]), make_scene(rng, CAPTURES["studio"], SIZES["cpu"])
    real = render_real(a, scene)
    return np.stack(real), np.stack(get_method(method).render(FakeInputs(a, b, scene, donor_scene, real), rng))


def test_renders_are_deterministic_given_the_generator_state():
    first, again = _video("jitter_swap", 5), _video("jitter_swap", 5)
    np.testing.assert_array_equal(first[1], again[1])
