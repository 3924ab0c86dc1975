"""``make check-book``: open every page of the built book in a real headless browser.

Debian's Chromium, driven by Playwright, loads each page from disk and the check fails on
any console error or uncaught exception, any image that does not load, any request that
would leave the machine (they are blocked and reported), any local file that fails to
load, and any internal link to a page or anchor that does not exist. A full-page
screenshot of every page goes to ``book/_build/screenshots/``.

Each page's text is also read for what a reader should never see: logs in a cell's
output (progress-bar lines, stderr blocks, Python warnings) and a raw ``nan`` anywhere
outside code (tables show an undefined value as a dash with a note, see
:mod:`analysis.book.tables`).
"""

from __future__ import annotations

import argparse
import re
import shutil
import sys
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote, urlsplit

from analysis.book.build import HTML_DIR, PageRefs
from analysis.book.jupyter_markdown import BookIndex
from analysis.logs import PROGRESS_BAR
from analysis.paths import BOOK_DIR

SCREENSHOT_DIR = HTML_DIR.parent / "screenshots"
LOCAL_SCHEMES = ("file", "data", "blob", "about")
PYTHON_WARNING = re.compile(r"\b[A-Z]\w*Warning: |^WARNING\b|warnings\.warn\(", re.M)
RAW_UNDEFINED = re.compile(r"\b(?:nan|NaN|NAN)\b|<NA>")
_VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track", "wbr"}
_INLINE = {"a", "abbr", "b", "code", "em", "i", "mark", "small", "span", "strong", "sub", "sup"}
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-dev-shm-usage"]


class _PageText(HTMLParser):
    """A page's visible text in three parts: cell outputs, code (cell inputs and literal
    blocks), and prose; and the first line of every stderr output block."""

    def __init__(self) -> None:
        super().__init__()
        self.stack: list[tuple[str, set[str]]] = []
        self.parts = {"output": [], "code": [], "prose": []}
        self.stderr: list[str] = []

    def _region(self) -> str | None:
        classes = set().union(*(c for _, c in self.stack)) if self.stack else set()
        tags = {t for t, _ in self.stack}
        if tags & {"script", "style", "head"}:
            return None
        if "cell_output" in classes:
            return "output"
        if "cell_input" in classes or tags & {"pre", "code"}:
            return "code"
        return "prose"

    def handle_starttag(self, tag, attrs):
        classes = set((dict(attrs).get("class") or "").split())
        if "stderr" in classes:
            self.stderr.append("")
        if tag not in _VOID:
            self.stack.append((tag, classes))
        if tag not in _INLINE and (region := self._region()):
            self.parts[region].append("\n")

    def handle_endtag(self, tag):
        for depth in range(len(self.stack) - 1, -1, -1):
            if self.stack[depth][0] == tag:
                del self.stack[depth:]
                break
        if tag not in _INLINE and (region := self._region()):
            self.parts[region].append("\n")

    def handle_data(self, data):
        region = self._region()
        if region:
            self.parts[region].append(data)
        if self.stderr and any("stderr" in c for _, c in self.stack) and not self.stderr[-1].strip():
            self.stderr[-1] = data.strip().splitlines()[0] if data.strip() else ""

    def text(self, region: str) -> str:
        return "".join(self.parts[region])


def _excerpt(text: str, match: re.Match) -> str:
    line_start = text.rfind("\n", 0, match.start()) + 1
    line_end = text.find("\n", match.end())
    return " ".join(text[line_start:line_end if line_end >= 0 else None].split())[:100]


def _lines(pattern: re.Pattern, text: str) -> list[str]:
    """The distinct lines of ``text`` where ``pattern`` matches."""
    return list(dict.fromkeys(_excerpt(text, m) for m in pattern.finditer(text)))


def page_text_problems(html: str) -> list[str]:
    """What a reader should not see on one page: logs in cell outputs (progress bars,
    stderr blocks, Python warnings) and raw ``nan`` outside code. One problem per kind,
    with the number of lines and the first of them."""
    parser = _PageText()
    parser.feed(html)
    output, prose = parser.text("output"), parser.text("prose")
    found = {
        "stderr blocks in cell outputs": parser.stderr,
        "progress-bar lines in cell outputs": _lines(PROGRESS_BAR, output),
        "Python warnings in cell outputs": _lines(PYTHON_WARNING, output),
        "raw nan in cell outputs (show a dash and say why)": _lines(RAW_UNDEFINED, output),
        "raw nan in the text (show a dash and say why)": _lines(RAW_UNDEFINED, prose),
    }
    return [f"{kind}: {len(lines)}, first {lines[0]!r}" for kind, lines in found.items() if lines]


def content_problems(html_dir: Path = HTML_DIR) -> list[str]:
    """:func:`page_text_problems` of every page of the book, prefixed with the page."""
    return [f"{page.relative_to(html_dir)}: {problem}" for page in book_pages(html_dir)
            for problem in page_text_problems(page.read_text(encoding="utf-8", errors="replace"))]


_NUMBERED = re.compile(r'id="(?P<id>[^"]+)"[^>]*>(?:(?!id=").){0,800}?'
                       r'<span class="caption-number">(?P<kind>Fig\.|Exercise) (?P<number>\d+)', re.S)


def numbering_problems(html_dir: Path = HTML_DIR, index: BookIndex | None = None) -> list[str]:
    """Figures and exercises that a student notebook would number other than the page
    does (:class:`~analysis.book.jupyter_markdown.BookIndex` counts them in the sources)."""
    index = index or BookIndex.of_book()
    problems = []
    for page in book_pages(html_dir):
        for found in _NUMBERED.finditer(page.read_text(encoding="utf-8", errors="replace")):
            expected = (index.figures if found["kind"] == "Fig." else index.exercises).get(found["id"])
            if expected != int(found["number"]):
                problems.append(f"{page.relative_to(html_dir)}: {found['kind']} {found['number']} ({found['id']}) "
                                f"is {expected} in the student notebooks")
    return problems


def book_pages(html_dir: Path) -> list[Path]:
    """The book's HTML pages (not the theme's template files copied under ``_static``)."""
    return [p for p in sorted(html_dir.rglob("*.html")) if not p.relative_to(html_dir).parts[0].startswith("_")]


def _parse(page: Path) -> PageRefs:
    parser = PageRefs()
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


# Tables whose full width does not fit the text column they sit in (a scrolled or cut
# table hides the columns a reader compares): [width, column width, first header].
WIDE_TABLES = """Array.from(document.querySelectorAll('table')).map(t => {
  const column = t.closest('article, main, .bd-article') || document.body;
  const head = (t.querySelector('th, td') || {innerText: ''}).innerText.trim().slice(0, 40);
  return [Math.round(t.scrollWidth), Math.round(column.clientWidth), head];
}).filter(([width, room]) => width > room + 1)"""


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
            report.problems += [f"table wider than the page: {width} px in a {room} px column ({head!r})"
                                for width, room, head in page.evaluate(WIDE_TABLES)]
            page.screenshot(path=str(screenshot_dir / (name.replace("/", "__").removesuffix(".html") + ".png")),
                            full_page=True)
            page.close()
            reports.append(report)
        browser.close()
    return reports


README_SCREENSHOT = BOOK_DIR / "screenshots" / "results.png"  # the README shows it; `make screenshot` renews it


def readme_screenshot(html_dir: Path = HTML_DIR, out: Path = README_SCREENSHOT, chromium: str | None = None) -> Path:
    """The top of the built results page as a reader first sees it (1280 x 1180 px), for
    the README: taken from the current build, so the README never shows an old one."""
    from playwright.sync_api import sync_playwright

    executable = chromium or shutil.which("chromium") or shutil.which("chromium-browser")
    if executable is None:
        raise FileNotFoundError("Chromium is not installed: `apt-get install chromium` (Debian) and re-run.")
    page_path = html_dir / "notebooks" / "results.html"
    if not page_path.is_file():
        raise FileNotFoundError(f"No built results page at {page_path}: run `make book` first.")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
        page = browser.new_context(viewport={"width": 1280, "height": 1180}).new_page()
        page.goto(page_path.resolve().as_uri(), wait_until="load")
        page.wait_for_timeout(300)
        out.parent.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(out))
        browser.close()
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--html", type=Path, default=HTML_DIR, help="built book (default: book/_build/html)")
    parser.add_argument("--chromium", help="path of the Chromium executable (default: found on PATH)")
    parser.add_argument("--screenshots", type=Path, help="folder for the screenshots (default: beside --html)")
    parser.add_argument("--readme-screenshot", action="store_true",
                        help=f"only renew the README's screenshot of the results page ({README_SCREENSHOT})")
    args = parser.parse_args(argv)
    if args.readme_screenshot:
        try:
            print(f"wrote {readme_screenshot(args.html, chromium=args.chromium)}")
        except FileNotFoundError as err:
            print(f"error: {err}", file=sys.stderr)
            return 2
        return 0
    screenshots = args.screenshots or args.html.parent / "screenshots"
    if not (args.html / "index.html").is_file():
        print(f"error: no built book at {args.html}; run `make book` first", file=sys.stderr)
        return 2
    try:
        reports = check_pages(args.html, screenshots, args.chromium)
    except FileNotFoundError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    link_problems = broken_links(args.html)
    text_problems = content_problems(args.html) + numbering_problems(args.html)
    failed = [r for r in reports if r.problems]
    for report in failed:
        for problem in report.problems:
            print(f"{report.page}: {problem}")
    for problem in link_problems + text_problems:
        print(problem)
    print(f"checked {len(reports)} pages in Chromium: {len(failed)} with problems, "
          f"{len(link_problems)} broken internal links, {len(text_problems)} logs, raw nan or numbers unlike the notebooks' in page text; "
          f"screenshots in {screenshots}")
    return 1 if failed or link_problems or text_problems else 0


if __name__ == "__main__":
    sys.exit(main())
