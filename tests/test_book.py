"""The book driver: chapters execute through papermill, failures name chapter and cell."""

from __future__ import annotations

import nbformat
import pytest

from analysis import book


@pytest.fixture
def scratch_book(tmp_path, monkeypatch):
    """Point the driver at a scratch chapter folder and output folder."""
    monkeypatch.setattr(book, "SOURCE_DIR", tmp_path / "chapters")
    monkeypatch.setattr(book, "EXECUTED_DIR", tmp_path / "notebooks")
    (tmp_path / "chapters").mkdir()
    return tmp_path


def test_toc_lists_the_datasets_chapter_and_each_has_a_source():
    names = book.chapters()
    assert "datasets" in names
    for name in names:
        assert (book.SOURCE_DIR / f"{name}.md").is_file()


def test_failing_cell_names_chapter_and_cell(scratch_book):
    (scratch_book / "chapters" / "broken.md").write_text(
        "---\njupytext:\n  text_representation:\n    extension: .md\n    format_name: myst\n"
        "kernelspec:\n  name: python3\n  display_name: Python 3\n---\n"
        "# Broken\n\n```{code-cell} ipython3\nx = 1\n```\n\n"
        "```{code-cell} ipython3\nraise ValueError('deliberate')\n```\n"
    )
    with pytest.raises(book.BookError) as caught:
        book.execute_chapter("broken", {})
    message = str(caught.value)
    assert "'broken'" in message and "cell 2" in message and "ValueError: deliberate" in message


def test_datasets_chapter_executes_with_parameters(scratch_book):
    source = book.PROJECT_ROOT / "book" / "chapters" / "datasets.md"
    (scratch_book / "chapters" / "datasets.md").write_text(source.read_text())
    book.execute_chapter("datasets", {"profile": "tiny", "seed": 5})
    executed = nbformat.read(scratch_book / "notebooks" / "datasets.ipynb", as_version=4)
    injected = [c for c in executed.cells if "injected-parameters" in c.metadata.get("tags", [])]
    assert injected and "seed = 5" in injected[0].source
    mimes = [m for c in executed.cells for o in c.get("outputs", []) for m in o.get("data", {})]
    assert any(m.endswith("image/png") for m in mimes), "the chapter should produce its figure"


def test_external_assets_are_found(tmp_path):
    (tmp_path / "page.html").write_text(
        '<link rel="stylesheet" href="https://cdn.example/x.css">'
        '<script src="_static/local.js"></script>'
        '<a href="https://example.org/paper">a citation link is fine</a>'
        '<img src="//cdn.example/y.png">'
    )
    assert book.external_assets(tmp_path) == [
        ("page.html", "https://cdn.example/x.css"),
        ("page.html", "//cdn.example/y.png"),
    ]


@pytest.mark.parametrize("chapter", ["anomaly", "diversity", "gap"])
def test_analysis_chapters_execute_from_scores_tables_alone(chapter, scratch_book, trained_runs, tmp_path, monkeypatch):
    """The analysis chapters run on a folder of tiny runs and write their CSV tables."""
    import shutil

    runs = tmp_path / "runs"
    shutil.copytree(trained_runs, runs / "tiny" / "models")
    monkeypatch.setenv("ANALYSIS_RUNS_DIR", str(runs))
    source = book.PROJECT_ROOT / "book" / "chapters" / f"{chapter}.md"
    (scratch_book / "chapters" / f"{chapter}.md").write_text(source.read_text())
    book.execute_chapter(chapter, {"profile": "tiny", "n_resamples": 50})
    written = {p.name for p in (runs / "tiny" / "results").iterdir()}
    expected = {"anomaly": {"one_class_thresholds.csv", "one_class_agreement.csv", "one_class_gap.csv"},
                "diversity": {"diversity.csv", "agreement.csv", "gain_vs_diversity.csv"},
                "gap": {"gap.csv", "method_auc.csv", "published.csv", "levels.csv"}}[chapter]
    assert expected <= written
    if chapter == "gap":
        import pandas as pd

        gap = pd.read_csv(runs / "tiny" / "results" / "gap.csv")
        for column in ("members", "in-domain AUC", "in-domain AUC low", "in-domain AUC high", "cross-domain AUC",
                       "cross-domain AUC low", "cross-domain AUC high", "gap", "gap low", "gap high"):
            assert gap[column].notna().all(), column
