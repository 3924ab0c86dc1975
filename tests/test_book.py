"""The book driver: chapters execute through papermill, failures name chapter and cell."""

from __future__ import annotations

import asyncio
import json
import re
from pathlib import Path

import nbformat
import pytest

from analysis import paths
from analysis.book import build
from analysis.errors import UserInputError
from analysis.evaluation import study


@pytest.fixture
def scratch_book(tmp_path, monkeypatch):
    """Point the driver at a scratch chapter folder and output folder."""
    monkeypatch.setattr(build, "SOURCE_DIR", tmp_path / "chapters")
    monkeypatch.setattr(build, "EXECUTED_DIR", tmp_path / "notebooks")
    monkeypatch.setenv("ANALYSIS_RUNS_DIR", str(tmp_path / "runs"))  # chapter logs stay in the scratch folder
    (tmp_path / "chapters").mkdir()
    return tmp_path


def test_toc_lists_the_datasets_chapter_and_each_has_a_source():
    names = build.chapters()
    assert "datasets" in names
    for name in names:
        assert (build.SOURCE_DIR / f"{name}.md").is_file()


def test_failing_cell_names_chapter_and_cell(scratch_book):
    (scratch_book / "chapters" / "broken.md").write_text(
        "---\njupytext:\n  text_representation:\n    extension: .md\n    format_name: myst\n"
        "kernelspec:\n  name: python3\n  display_name: Python 3\n---\n"
        "# Broken\n\n```{code-cell} ipython3\nx = 1\n```\n\n"
        "```{code-cell} ipython3\nraise ValueError('deliberate')\n```\n"
    )
    with pytest.raises(build.BookError) as caught:
        build.execute_chapter("broken", {})
    message = str(caught.value)
    assert "'broken'" in message and "cell 2" in message and "ValueError: deliberate" in message
    # the book goes on: the chapter status table lists it as failed, with its command
    seconds, error = build._execute_or_fail("broken", {"profile": "tiny"})
    assert "ValueError: deliberate" in error and seconds > 0
    status = paths.book_status_file("tiny")
    status.parent.mkdir(parents=True, exist_ok=True)
    status.write_text(json.dumps({"broken": build._status(seconds, error), "ok": build._status(1.0, "")}))
    from analysis.book import provenance

    table = provenance.chapter_status("tiny")
    assert list(table["status"]) == ["fail", "pass"]
    assert table["run it locally"].iloc[0] == "python -m analysis book --chapter broken --profile tiny"


def test_stderr_goes_to_the_terminal_and_the_log_not_the_page(scratch_book, capfd, monkeypatch):
    monkeypatch.delenv("TQDM_DISABLE", raising=False)  # the kernel inherits it: the bar must draw
    (scratch_book / "chapters" / "noisy.md").write_text(
        "---\njupytext:\n  text_representation:\n    extension: .md\n    format_name: myst\n"
        "kernelspec:\n  name: python3\n  display_name: Python 3\n---\n"
        "# Noisy\n\n```{code-cell} ipython3\n:tags: [parameters, remove-input]\n\nquiet = False\n```\n\n"
        "```{code-cell} ipython3\nimport sys, warnings\nfrom tqdm import tqdm\n"
        "total = sum(tqdm(range(3), file=sys.stderr))\nwarnings.warn('careful')\nprint('the result', total)\n```\n"
    )
    log = scratch_book / "logs" / "noisy.log"
    build.execute_chapter("noisy", {"quiet": True}, log=log)
    executed = nbformat.read(scratch_book / "notebooks" / "noisy.ipynb", as_version=4)
    outputs = [o for c in executed.cells for o in c.get("outputs", [])]
    assert [o.get("name") for o in outputs if o.output_type == "stream"] == ["stdout"]
    assert "the result 3" in outputs[0].text
    logged = log.read_text()
    assert "UserWarning: careful" in logged and "3/3" in logged
    assert "UserWarning: careful" in capfd.readouterr().err
    injected = next(c for c in executed.cells if "injected-parameters" in c.metadata["tags"])
    assert "remove-input" in injected.metadata["tags"]  # hidden like the parameters cell it overrides


def test_datasets_chapter_executes_with_parameters(scratch_book, prepared):
    """It reads the study manifest for its test sets' groups: the tiny benchmark's test
    sets hold a few groups each, so the page warns."""
    import shutil

    source = build.PROJECT_ROOT / "book" / "chapters" / "datasets.md"
    (scratch_book / "chapters" / "datasets.md").write_text(source.read_text())
    (scratch_book / "runs" / "tiny" / "benchmark").mkdir(parents=True)
    shutil.copy(prepared[0], scratch_book / "runs" / "tiny" / "benchmark" / "manifest.csv")
    build.execute_chapter("datasets", {"profile": "tiny", "seed": 5})
    executed = nbformat.read(scratch_book / "notebooks" / "datasets.ipynb", as_version=4)
    injected = [c for c in executed.cells if "injected-parameters" in c.metadata.get("tags", [])]
    assert injected and "seed = 5" in injected[0].source
    mimes = [m for c in executed.cells for o in c.get("outputs", []) for m in o.get("data", {})]
    assert any(m.endswith("image/png") for m in mimes), "the chapter should produce its figure"
    html = [o["data"]["text/html"] for c in executed.cells for o in c.get("outputs", [])
            if "text/html" in o.get("data", {})]
    assert any("Few independent groups" in h for h in html)


def test_external_assets_are_found(tmp_path):
    (tmp_path / "page.html").write_text(
        '<link rel="stylesheet" href="https://cdn.example/x.css">'
        '<script src="_static/local.js"></script>'
        '<a href="https://example.org/paper">a citation link is fine</a>'
        '<img src="//cdn.example/y.png">'
    )
    assert build.external_assets(tmp_path) == [
        ("page.html", "https://cdn.example/x.css"),
        ("page.html", "//cdn.example/y.png"),
    ]




@pytest.mark.parametrize("chapter", ["anomaly", "diversity", "gap", "results"])
def test_analysis_chapters_execute_from_scores_tables_alone(chapter, scratch_book, prepared, trained_runs, tmp_path,
                                                            monkeypatch):
    """The analysis chapters and the results page run on a folder of tiny runs (and the
    benchmark manifest, which names each target video's kind of shift) once the results
    stage has written its tables, which they read without writing any."""
    import shutil

    import pandas as pd

    from analysis import run as runner
    from analysis.profiles import Analysis, get_profile

    runs = tmp_path / "runs"
    shutil.copytree(trained_runs, runs / "tiny" / "models")
    (runs / "tiny" / "benchmark").mkdir()
    shutil.copy(prepared[0], runs / "tiny" / "benchmark" / "manifest.csv")
    monkeypatch.setenv("ANALYSIS_RUNS_DIR", str(runs))
    source = build.PROJECT_ROOT / "book" / "chapters" / f"{chapter}.md"
    (scratch_book / "chapters" / f"{chapter}.md").write_text(source.read_text())
    # what `run` builds before the book: the scores table and the results stage's tables
    runner.stage_scores(get_profile("tiny"))
    study.summary("tiny", Analysis(n_resamples=50))
    results = runs / "tiny" / "results"
    before = {p: p.stat().st_mtime_ns for p in results.rglob("*")}
    build.execute_chapter(chapter, {"profile": "tiny"})
    # chapters read the stage's tables and write none
    assert {p: p.stat().st_mtime_ns for p in results.rglob("*")} == before
    folder = results / "summary" if chapter == "results" else results
    written = {p.name for p in folder.iterdir()}
    expected = {"anomaly": {"one_class_thresholds.csv", "one_class_agreement.csv", "one_class_gap.csv"},  # the stage's
                "diversity": {"diversity.csv", "model_views.csv", "flag_rates.csv", "gain_vs_diversity.csv",
                              "calibration.csv", "combiners.csv"},
                # the endpoint, power, gap and families are the results page's (summary/), not written twice
                "gap": {"gate_sensitivity.csv", "method_auc.csv", "published.csv", "levels.csv", "gap_per_shift.csv"},
                "results": {f"{name}.csv" for name in study.RESULT_FILES}}[chapter]
    assert expected <= written
    if chapter == "gap":
        assert not {"gap.csv", "power.csv", "primary_endpoint.csv", "secondary_families.csv"} & written
        gap = pd.read_csv(results / "summary" / "gap.csv")
        for column in ("members", "in-domain AUC", "in-domain AUC low", "in-domain AUC high", "cross-domain AUC",
                       "cross-domain AUC low", "cross-domain AUC high", "gap", "gap low", "gap high", "gap read"):
            assert gap[column].notna().all(), column
        assert set(gap["gap read"]) <= {study.INTERPRETABLE, study.NOT_INTERPRETABLE}
        # the ex-gap-power answer key ran on this build's own cross-domain test set
        import nbformat

        cell = next(c for c in nbformat.read(scratch_book / "notebooks" / "gap.ipynb", as_version=4).cells
                    if "required_groups(" in c.source)
        printed = "".join(o.get("text", "") for o in cell.outputs if o.output_type == "stream")
        manifest = pd.read_csv(prepared[0])
        target = manifest[manifest["domain"] == "target"]
        assert f"{(target['label'] == 0).sum()} real and {(target['label'] == 1).sum()} fake videos" in printed
        plain, clustered = map(int, re.search(r"(\d+) without clustering \(icc 0\), (\d+) with icc 0.1", printed).groups())
        assert 2 <= plain <= clustered  # clustering within groups costs groups, never saves them


def test_kernels_side_by_side_get_sockets_of_their_own():
    """Chapters execute in parallel: each kernel's Unix sockets live in a folder of its own."""
    first, second = build.IpcKernelManager(), build.IpcKernelManager()
    assert first.transport == second.transport == "ipc"
    assert first.ip != second.ip and Path(first.ip).parent.is_dir()
    for manager in (first, second):  # shut down, a kernel leaves no folder behind
        asyncio.run(manager._async_cleanup_resources())
        assert not Path(manager.ip).parent.exists()


def test_every_cell_folds_its_code_away_unless_it_has_display_tags_of_its_own(tmp_path):
    """Set-up, glue and table cells fold their code on the page (their outputs stay); a
    cell's own display tags win; stderr never reaches the page."""
    import nbformat
    from nbformat.v4 import new_code_cell, new_notebook, new_output

    glued = new_output("display_data", data={"application/papermill.record/text/plain": "'0.85'"},
                       metadata={"scrapbook": {"name": "auc"}})
    cells = [new_code_cell("profile = 'cpu'", metadata={"tags": ["parameters"]}),
             new_code_cell("# Parameters\nprofile = 'tiny'", metadata={"tags": ["injected-parameters"]}),
             new_code_cell("import pandas as pd"),
             new_code_cell("glue('auc', '0.85', display=False)", outputs=[glued]),
             new_code_cell("show(table)", outputs=[new_output("display_data", data={"text/html": "<table/>"})]),
             new_code_cell("x = 1", metadata={"tags": ["remove-cell"]}),
             new_code_cell("print('log')", outputs=[new_output("stream", name="stderr", text="warn")])]
    path = tmp_path / "page.ipynb"
    nbformat.write(new_notebook(cells=cells), path)
    assert build.prepare_for_page(path) == 1
    tags = [c.metadata.get("tags", []) for c in nbformat.read(path, as_version=4).cells]
    assert tags == [["parameters", "remove-cell"], ["injected-parameters", "remove-cell"], ["hide-input"],
                    ["hide-input"], ["hide-input"], ["remove-cell"], ["hide-input"]]
    # a chapter that shows or hides its parameters its own way: the injected cell follows it
    cells[0].metadata["tags"] = ["parameters", "remove-input"]
    nbformat.write(new_notebook(cells=cells), path)
    build.prepare_for_page(path)
    injected = nbformat.read(path, as_version=4).cells[1].metadata["tags"]
    assert injected == ["injected-parameters", "remove-input"]


def test_a_book_without_mathjax_fails_first_with_how_to_fetch_it(tmp_path, monkeypatch):
    """`python -m analysis book` (the conda route) before MathJax is vendored: one clear
    error before any chapter runs, not Sphinx's warning lost among the chapters' output."""
    monkeypatch.setattr(build, "MATHJAX", tmp_path / "missing" / "tex-chtml.js")
    monkeypatch.setattr(build, "_execute_or_fail", lambda *args: pytest.fail("a chapter ran"))
    with pytest.raises(build.BookError, match="npm"):
        build.run_book("cpu")


def test_a_chapter_parameter_its_parameters_cell_does_not_set_is_refused_with_the_ones_it_does():
    build.check_parameters("datasets", {"profile": "cpu", "seed": 7})  # both are the chapter's
    with pytest.raises(UserInputError, match=r"no parameter seeds; its parameters: profile, seed"):
        build.check_parameters("datasets", {"profile": "cpu", "seeds": 7})
    with pytest.raises(UserInputError, match="No chapter 'gapp'"):
        build.check_parameters("gapp", {})


def test_a_chapter_parameter_of_another_kind_than_the_cells_own_is_refused():
    with pytest.raises(UserInputError, match=r"-p seed 'seven' is str, but the chapter expects int, such as 0"):
        build.check_parameters("datasets", {"seed": "seven"})
    with pytest.raises(UserInputError, match="expects str"):
        build.check_parameters("datasets", {"profile": 3})
