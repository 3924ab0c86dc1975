"""The real-browser check of the built book, on a small hand-made site."""

from __future__ import annotations

import shutil

import pytest

from analysis.book import browser_check

GOOD = """<html><head><title>ok</title></head><body id="top">
<h1 id="intro">Intro</h1><a href="other.html#part">other</a> <a href="https://example.org">out</a>
<a href="#intro">self</a><img src="dot.png"></body></html>"""
BAD = """<html><head><script>console.error("boom")</script></head><body>
<img src="missing.png"><img src="https://example.org/remote.png">
<a href="nowhere.html">gone</a><a href="index.html#no-such-anchor">bad anchor</a>
<main style="width: 600px"><div style="overflow-x: auto"><table><tr><th>wide head</th>
<td style="min-width: 900px">a column a reader would miss</td></tr></table></div></main></body></html>"""
PNG = bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
    "1f15c4890000000d4944415478da63f8cfc0f01f0005000201a1d3c2a80000000049454e44ae426082")


@pytest.fixture
def site(tmp_path):
    html = tmp_path / "html"
    html.mkdir()
    (html / "index.html").write_text(GOOD)
    (html / "other.html").write_text('<html><body><p id="part">part</p></body></html>')
    (html / "dot.png").write_bytes(PNG)
    return html


def test_internal_links_and_anchors_are_checked(site):
    assert browser_check.broken_links(site) == []
    (site / "bad.html").write_text(BAD)
    problems = browser_check.broken_links(site)
    assert any("missing nowhere.html" in p for p in problems)
    assert any("missing anchor index.html#no-such-anchor" in p for p in problems)
    assert not any("example.org" in p for p in problems)


@pytest.mark.skipif(shutil.which("chromium") is None, reason="Debian's chromium is not installed")
def test_browser_reports_console_errors_broken_images_and_external_requests(site, tmp_path):
    (site / "bad.html").write_text(BAD)
    reports = {r.page: r.problems for r in browser_check.check_pages(site, tmp_path / "shots")}
    assert reports["index.html"] == [] and reports["other.html"] == []
    bad = " | ".join(reports["bad.html"])
    assert "console error: boom" in bad
    assert "request leaving the machine: https://example.org/remote.png" in bad
    assert "broken image" in bad and "missing.png" in bad
    assert "table wider than the page" in bad and "in a 600 px column ('wide head')" in bad
    assert sorted(p.name for p in (tmp_path / "shots").iterdir()) == ["bad.png", "index.png", "other.png"]


def test_theme_templates_under_static_are_not_pages(site):
    (site / "_static").mkdir()
    (site / "_static" / "macros.html").write_text("{{ pathto('x.js', 1) }}")
    assert [p.name for p in browser_check.book_pages(site)] == ["index.html", "other.html"]


def _cell(source: str, *outputs: str) -> str:
    """A code cell as myst-nb renders it: highlighted input, then its outputs."""
    body = "".join(outputs)
    return (f'<div class="cell docutils container"><div class="cell_input docutils container">'
            f'<div class="highlight-ipython3 notranslate"><div class="highlight"><pre>{source}</pre></div></div></div>'
            f'<div class="cell_output docutils container">{body}</div></div>')


def _stream(text: str, name: str = "stream") -> str:
    return f'<div class="output {name} highlight-myst-ansi notranslate"><div class="highlight"><pre>{text}</pre></div></div>'


def _table(*cells: str) -> str:
    return ('<div class="output text_html"><table><thead><tr><th>reduction (%)</th></tr></thead><tbody>'
            + "".join(f"<tr><td>{c}</td></tr>" for c in cells) + "</tbody></table></div>")


CLEAN = ("<html><body><p>Trained like nanoGPT; <code>np.nan</code> marks a missing score.</p>"
         + _cell('x <span class="o">=</span> np<span class="o">.</span>nan; df.dropna()',
                 _stream("hello\n"), _table("12.5", "–<sup>a</sup>"))
         + "<p><sup>a</sup> undefined: the in-domain AUC is at chance.</p></body></html>")


def test_clean_page_has_no_text_problems():
    assert browser_check.page_text_problems(CLEAN) == []


@pytest.mark.parametrize("output, kind", [
    (_stream(" 45%|████▌     | 9/20 [00:03&lt;00:04,  2.5video/s]\n"), "progress-bar lines"),
    (_stream("epoch 1: 100%|##########| 3/3 [00:01&lt;00:00]\n"), "progress-bar lines"),
    (_stream("careful\n", name="stderr"), "stderr blocks"),
    (_stream("/x/train.py:12: UserWarning: lr too high\n  warnings.warn(msg)\n"), "Python warnings"),
    (_stream("WARNING:root:no face found\n"), "Python warnings"),
    (_table("12.5", "nan"), "raw nan in cell outputs"),
    (_table("NaN"), "raw nan in cell outputs"),
    (_table("&lt;NA&gt;"), "raw nan in cell outputs"),
])
def test_logs_and_raw_nan_in_outputs_are_problems(output, kind):
    problems = browser_check.page_text_problems(f"<html><body>{_cell('run()', output)}</body></html>")
    assert len(problems) == 1 and problems[0].startswith(kind), problems


def test_raw_nan_in_prose_is_a_problem_and_counts_lines():
    page = "<html><body><p>The reduction is nan %.</p><p>Its interval is [NaN, 0.3].</p></body></html>"
    (problem,) = browser_check.page_text_problems(page)
    assert problem == "raw nan in the text (show a dash and say why): 2, first 'The reduction is nan %.'"


def test_content_problems_name_the_page(site):
    assert browser_check.content_problems(site) == []
    (site / "training.html").write_text(_cell("train()", _stream("100%|█| 3/3 [00:01&lt;00:00, 2it/s]\n", "stderr")))
    problems = browser_check.content_problems(site)
    assert [p.split(":")[0] for p in problems] == ["training.html", "training.html"]


@pytest.mark.skipif(shutil.which("chromium") is None, reason="Debian's chromium is not installed")
def test_readme_screenshot_is_taken_from_the_built_results_page(site, tmp_path):
    with pytest.raises(FileNotFoundError, match="make book"):
        browser_check.readme_screenshot(site, tmp_path / "shot.png")
    (site / "notebooks").mkdir()
    (site / "notebooks" / "results.html").write_text(GOOD.replace('src="dot.png"', 'src="../dot.png"'))
    shot = browser_check.readme_screenshot(site, tmp_path / "shot.png")
    assert shot.read_bytes()[:8] == PNG[:8] and shot.stat().st_size > 1000
