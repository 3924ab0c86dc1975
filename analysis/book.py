"""The book driver: execute every chapter with papermill, then build the static HTML book.

Chapter sources are jupytext MyST notebooks in ``book/chapters/``; executed notebooks go
to ``book/notebooks/`` (generated, gitignored), which is what ``_toc.yml`` lists, so a
source ``.md`` never shadows its executed ``.ipynb``. A failing cell stops the build and
names the chapter and the cell.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from html.parser import HTMLParser
from pathlib import Path

import jupytext
import papermill
import yaml
from jupyter_client.manager import AsyncKernelManager
from traitlets import default

from analysis.errors import UserInputError
from analysis.paths import BOOK_DIR, PROJECT_ROOT, run_dir
from analysis.profiles import get_profile

SOURCE_DIR = BOOK_DIR / "chapters"
EXECUTED_DIR = BOOK_DIR / "notebooks"
HTML_DIR = BOOK_DIR / "_build" / "html"
CELL_TIMEOUT_SECONDS = 1800
EXECUTE_LAST = ("results", "provenance")  # pages that read what the other chapters wrote


class BookError(Exception):
    """A chapter failed to execute or the book failed to build."""


class IpcKernelManager(AsyncKernelManager):
    """Talk to the chapter's kernel over Unix sockets instead of TCP on localhost.

    With the network cut (``unshare -n``) not even the loopback interface is up, and a
    TCP kernel never answers; Unix sockets need no network at all.
    """

    @default("transport")
    def _default_transport(self) -> str:
        return "ipc"


def chapters() -> list[str]:
    """Executed chapters in reading order, as ``_toc.yml`` lists them."""
    toc = yaml.safe_load((BOOK_DIR / "_toc.yml").read_text())
    entries = []

    def walk(node):
        if isinstance(node, dict):
            if "file" in node:
                entries.append(node["file"])
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(toc)
    prefix = EXECUTED_DIR.name + "/"
    return [e[len(prefix):] for e in entries if e.startswith(prefix)]


def execution_order(names: list[str]) -> list[str]:
    """Reading order, except that the summary and provenance pages run last."""
    return [n for n in names if n not in EXECUTE_LAST] + [n for n in EXECUTE_LAST if n in names]


def execute_chapter(name: str, parameters: dict) -> float:
    """Execute one chapter source into ``book/notebooks/<name>.ipynb``; return seconds."""
    source = SOURCE_DIR / f"{name}.md"
    if not source.is_file():
        raise UserInputError(
            f"No chapter {name!r}: {source} does not exist. Chapters: {', '.join(chapters())}."
        )
    EXECUTED_DIR.mkdir(parents=True, exist_ok=True)
    os.environ["TQDM_DISABLE"] = "1"  # progress bars help at a terminal, not in a book page
    notebook = jupytext.read(source)
    notebook.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    started = time.perf_counter()
    try:
        papermill.execute_notebook(
            notebook,
            str(EXECUTED_DIR / f"{name}.ipynb"),
            parameters=parameters,
            kernel_name="python3",
            cwd=str(PROJECT_ROOT),
            log_output=False,
            progress_bar=False,
            execution_timeout=CELL_TIMEOUT_SECONDS,
            kernel_manager_class=IpcKernelManager,
        )
    except papermill.PapermillExecutionError as err:
        first_line = err.source.strip().splitlines()[0] if err.source.strip() else ""
        raise BookError(
            f"Chapter {name!r} ({source}) failed: cell {err.cell_index} of the executed "
            f"notebook {EXECUTED_DIR / (name + '.ipynb')} (starting {first_line!r}) raised "
            f"{err.ename}: {err.evalue}."
        ) from None
    return time.perf_counter() - started


def build_html() -> Path:
    """Run Jupyter Book 1 in strict mode; raise if Sphinx reports any warning."""
    command = [
        str(Path(sys.executable).with_name("jupyter-book")), "build", str(BOOK_DIR),
        "--warningiserror", "--nitpick", "--keep-going",
    ]
    if subprocess.run(command, cwd=PROJECT_ROOT).returncode != 0:
        raise BookError("jupyter-book build failed; its warnings are printed above.")
    return HTML_DIR / "index.html"


class _AssetCollector(HTMLParser):
    """Collect the URLs a page loads (not the links a reader may follow)."""

    def __init__(self) -> None:
        super().__init__()
        self.urls: list[str] = []

    def handle_starttag(self, tag, attrs):
        attributes = dict(attrs)
        if tag in ("script", "img", "iframe", "source", "video", "audio", "embed") and attributes.get("src"):
            self.urls.append(attributes["src"])
        if tag == "link" and attributes.get("href"):
            self.urls.append(attributes["href"])


def external_assets(html_dir: Path = HTML_DIR) -> list[tuple[str, str]]:
    """Every ``(page, url)`` where a built page would load a script, style, font or image
    from the network."""
    found = []
    for page in sorted(html_dir.rglob("*.html")):
        collector = _AssetCollector()
        collector.feed(page.read_text(encoding="utf-8", errors="replace"))
        for url in collector.urls:
            if url.startswith(("http://", "https://", "//")):
                found.append((str(page.relative_to(html_dir)), url))
    return found


def run_book(profile: str, chapter: str | None = None, overrides: dict | None = None) -> Path:
    """Execute the chapters (all, or one), record their timings and build the HTML book."""
    get_profile(profile)
    names = execution_order(chapters())
    if chapter:  # the others are executed only if they never were, so the book links up
        names = [chapter] + [n for n in names if n != chapter and not (EXECUTED_DIR / f"{n}.ipynb").is_file()]
    parameters = {"profile": profile, **(overrides or {})}
    timings_path = run_dir(profile) / "book_timings.json"
    timings = json.loads(timings_path.read_text()) if timings_path.is_file() else {}
    timings_path.parent.mkdir(parents=True, exist_ok=True)
    for name in names:
        print(f"executing chapter {name} with {parameters}", flush=True)
        timings[name] = round(execute_chapter(name, parameters), 2)
        print(f"  done in {timings[name]:.1f} s", flush=True)
        timings_path.write_text(json.dumps(timings, indent=2))  # the provenance page reads it
    index = build_html()
    leaks = external_assets()
    if leaks:
        listing = "; ".join(f"{page} loads {url}" for page, url in leaks[:5])
        raise BookError(f"The built book loads {len(leaks)} external asset(s): {listing}.")
    return index
