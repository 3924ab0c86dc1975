"""The real-browser check of the built book, on a small hand-made site."""

from __future__ import annotations

import shutil

import pytest

from analysis import browser_check

GOOD = """<html><head><title>ok</title></head><body id="top">
<h1 id="intro">Intro</h1><a href="other.html#part">other</a> <a href="https://example.org">out</a>
<a href="#intro">self</a><img src="dot.png"></body></html>"""
BAD = """<html><head><script>console.error("boom")</script></head><body>
<img src="missing.png"><img src="https://example.org/remote.png">
<a href="nowhere.html">gone</a><a href="index.html#no-such-anchor">bad anchor</a></body></html>"""
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
    assert sorted(p.name for p in (tmp_path / "shots").iterdir()) == ["bad.png", "index.png", "other.png"]


def test_theme_templates_under_static_are_not_pages(site):
    (site / "_static").mkdir()
    (site / "_static" / "macros.html").write_text("{{ pathto('x.js', 1) }}")
    assert [p.name for p in browser_check.book_pages(site)] == ["index.html", "other.html"]
