"""benchmarks/memory_scale.py's bookkeeping: the index stage indexes trees of each share's
size, a share's validation rows say whether it fills a scoring batch, and a stage's peak
is its own address space's, not the benchmark's that started it."""

from __future__ import annotations

import importlib.util
import resource

import pandas as pd
import pytest

from analysis.data.indexing import index_celebdf, index_ffpp
from analysis.paths import PROJECT_ROOT


@pytest.fixture(scope="module")
def memory_scale():
    spec = importlib.util.spec_from_file_location("memory_scale", PROJECT_ROOT / "benchmarks" / "memory_scale.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_a_smaller_share_indexes_a_smaller_tree(memory_scale, tmp_path):
    template = tmp_path / "template.mp4"
    template.write_bytes(b"not decoded: indexing only lists files")
    counts = []
    for scale in (0.02, 0.01):
        ffpp, celebdf = memory_scale.build_trees(tmp_path / str(scale), [template], scale)
        counts.append((len(index_ffpp(ffpp).manifest), len(index_celebdf(celebdf).manifest)))
    (ffpp_large, celebdf_large), (ffpp_small, celebdf_small) = counts
    assert 0 < ffpp_small < ffpp_large and 0 < celebdf_small < celebdf_large


def test_validation_rows_count_the_source_validation_frames(memory_scale):
    videos = pd.DataFrame({"domain": ["source", "source", "source", "target"],
                           "split": ["val", "val", "train", "test"]})
    assert memory_scale.validation_rows(videos, frames=4) == 8


def test_a_stage_peak_is_read_from_its_own_high_water_mark(memory_scale, tmp_path):
    status = tmp_path / "status"
    status.write_text("Name:\tpython\nVmPeak:\t 9999999 kB\nVmHWM:\t    2048 kB\nVmRSS:\t    1024 kB\n")
    children = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    assert memory_scale.peak_megabytes(status) == max(2048, children) / 1024
