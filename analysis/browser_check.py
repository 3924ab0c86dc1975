"""``make check-book``: open every page of the built book in a real headless browser.

Debian's Chromium, driven by Playwright, loads each page from disk and the check fails on
any console error or uncaught exception, any image that does not load, any request that
would leave the machine (they are blocked and reported), any local file that fails to
load, and any internal link to a page or anchor that does not exist. A full-page
screenshot of every page goes to ``book/_build/screenshots/``.
"""

from __future__ import annotations

import argparse
import shutil
import sys
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote, urlsplit

from analysis.book import HTML_DIR

SCREENSHOT_DIR = HTML_DIR.parent / "screenshots"
LOCAL_SCHEMES = ("file", "data", "blob", "about")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-dev-shm-usage"]


class _LinksAndIds(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.links: list[str] = []
        self.ids: set[str] = set()

    def handle_starttag(self, tag, attrs):
        attributes = dict(attrs)
        if attributes.get("id"):
            self.ids.add(attributes["id"])
        if tag == "a" and attributes.get("href"):
            self.links.append(attributes["href"])


def book_pages(html_dir: Path) -> list[Path]:
    """The book's HTML pages (not the theme's template files copied under ``_static``)."""
    return [p for p in sorted(html_dir.rglob("*.html")) if not p.relative_to(html_dir).parts[0].startswith("_")]


def _parse(page: Path) -> _LinksAndIds:
    parser = _LinksAndIds()
    parser.feed(page.read_text(encoding="utf-8", errors="replace"))
    return parser


def broken_links(html_dir: Path = HTML_DIR) -> list[str]:
    """Internal links whose target file, or anchor in it, does not exist."""
    parsed = {page.resolve(): _parse(page) for page in book_pages(html_dir)}
    problems = []
    for page, content in parsed.items():
        for href in content.links:
            parts = urlsplit(href)
            if parts.scheme or href.startswith("//") or href.startswith("mailto:"):
                continue  # external links are for the reader to follow, not loaded
            target = (page.parent / unquote(parts.path)).resolve() if parts.path else page
            if target.is_dir():
                target = target / "index.html"
            if not target.exists():
                problems.append(f"{page.relative_to(html_dir.resolve())}: link to missing {href}")
                continue
            if parts.fragment and target.suffix == ".html":
                ids = parsed[target].ids if target in parsed else _parse(target).ids
                if unquote(parts.fragment) not in ids:
                    problems.append(f"{page.relative_to(html_dir.resolve())}: link to missing anchor {href}")
    return problems


def _watch(page, problems: list[str]) -> None:
    """Record console errors, exceptions and failed local loads; block and record every
    request that is not for a local file."""

    def route(route, request):
        if urlsplit(request.url).scheme in LOCAL_SCHEMES:
            route.continue_()
        else:
            problems.append(f"request leaving the machine: {request.url}")
            route.abort()

    def console(message):
        if message.type == "error":
            problems.append(f"console error: {message.text}")

    def failed(request):
        if urlsplit(request.url).scheme == "file":
            problems.append(f"local file failed to load: {request.url}")

    page.route("**/*", route)
    page.on("console", console)
    page.on("pageerror", lambda error: problems.append(f"uncaught exception: {error}"))
    page.on("requestfailed", failed)


@dataclass
class PageReport:
    page: str
    problems: list[str] = field(default_factory=list)


def check_pages(html_dir: Path = HTML_DIR, screenshot_dir: Path = SCREENSHOT_DIR,
                chromium: str | None = None) -> list[PageReport]:
    """Load every page in Chromium; return what went wrong on each."""
    from playwright.sync_api import sync_playwright

    executable = chromium or shutil.which("chromium") or shutil.which("chromium-browser")
    if executable is None:
        raise FileNotFoundError("Chromium is not installed: `apt-get install chromium` (Debian) and re-run.")
    shutil.rmtree(screenshot_dir, ignore_errors=True)  # only this run's pages
    screenshot_dir.mkdir(parents=True)
    reports = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
        context = browser.new_context(viewport={"width": 1280, "height": 900})
        for page_path in book_pages(html_dir):
            name = str(page_path.relative_to(html_dir))
            report = PageReport(name)
            page = context.new_page()

            _watch(page, report.problems)
            page.goto(page_path.resolve().as_uri(), wait_until="load")
            page.wait_for_timeout(300)  # let MathJax and the theme's scripts settle
            broken = page.evaluate(
                "Array.from(document.images).filter(i => !i.complete || i.naturalWidth === 0).map(i => i.src)")
            report.problems += [f"broken image: {src}" for src in broken]
            page.screenshot(path=str(screenshot_dir / (name.replace("/", "__").removesuffix(".html") + ".png")),
                            full_page=True)
            page.close()
            reports.append(report)
        browser.close()
    return reports


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--html", type=Path, default=HTML_DIR, help="built book (default: book/_build/html)")
    parser.add_argument("--chromium", help="path of the Chromium executable (default: found on PATH)")
    args = parser.parse_args(argv)
    if not (args.html / "index.html").is_file():
        print(f"error: no built book at {args.html}; run `make book` first", file=sys.stderr)
        return 2
    try:
        reports = check_pages(args.html, args.html.parent / "screenshots", args.chromium)
    except FileNotFoundError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    link_problems = broken_links(args.html)
    failed = [r for r in reports if r.problems]
    for report in failed:
        for problem in report.problems:
            print(f"{report.page}: {problem}")
    for problem in link_problems:
        print(problem)
    print(f"checked {len(reports)} pages in Chromium: {len(failed)} with problems, "
          f"{len(link_problems)} broken internal links; screenshots in {args.html.parent / 'screenshots'}")
    return 1 if failed or link_problems else 0


if __name__ == "__main__":
    sys.exit(main())
