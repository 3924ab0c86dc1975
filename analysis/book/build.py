"""The book driver: execute every chapter with papermill, then build the static HTML book.

Chapter sources are jupytext MyST notebooks in ``book/chapters/``; executed notebooks go
to ``book/notebooks/`` (generated, gitignored), which is what ``_toc.yml`` lists, so a
source ``.md`` never shadows its executed ``.ipynb``. A failing cell stops the build and
names the chapter and the cell.

What a chapter writes to stderr (progress bars, Python warnings, library logs) goes to
the terminal as it runs and to ``runs/<profile>/book.log`` (beside the run stage's
``run.log``), and is taken out of the executed notebook, so no page shows logs.
"""

from __future__ import annotations

import ast
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from html.parser import HTMLParser
from multiprocessing import get_context
from pathlib import Path

import jupytext
import nbformat
import papermill
import yaml
from jupyter_client.manager import AsyncKernelManager
from traitlets import default

from analysis.errors import UserInputError
from analysis.paths import BOOK_DIR, EXECUTED_DIR, PROJECT_ROOT, book_log, book_status_file, run_dir
from analysis.profiles import DEFAULT_PROFILE, get_profile
from analysis.run import Tee, record_stage_time

SOURCE_DIR = BOOK_DIR / "chapters"
HTML_DIR = BOOK_DIR / "_build" / "html"
MATHJAX = BOOK_DIR / "_vendor" / "mathjax" / "tex-chtml.js"  # the Makefile vendors it (book/_config.yml)
CELL_TIMEOUT_SECONDS = 1800
DISPLAY_TAGS = ("remove-input", "remove-cell", "hide-input", "hide-cell", "remove-output", "hide-output")
EXECUTE_LAST = ("provenance",)  # lists the figures every other executed chapter glued


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

    @default("ip")
    def _default_ip(self) -> str:
        """Socket files in a folder of this kernel's own: chapters run side by side, and
        jupyter_client's default (``kernel-ipc-N`` in the working directory) would hand two
        kernels the same sockets."""
        return str(Path(tempfile.mkdtemp(prefix="analysis-kernel-")) / "kernel")

    async def _async_cleanup_resources(self, restart: bool = False) -> None:
        """Remove the sockets' folder too once the kernel is gone for good (a restart
        reuses it)."""
        await super()._async_cleanup_resources(restart=restart)
        if not restart:
            shutil.rmtree(Path(self.ip).parent, ignore_errors=True)


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
    """Reading order, except that the provenance page runs last."""
    return [n for n in names if n not in EXECUTE_LAST] + [n for n in EXECUTE_LAST if n in names]


def prepare_for_page(path: Path) -> int:
    """Drop every stderr stream output from an executed notebook (return how many); give
    papermill's injected-parameters cell the display tags of the chapter's own parameters
    cell, so a page that hides one hides both, and remove both from the page where the
    chapter sets none (a reader needs neither: the page says which profile it shows); and
    fold away (``hide-input``) the code of every other cell, so the page reads as prose,
    tables and figures while the code behind each stays one click away (and whole in the
    chapter source a student re-runs). A cell with display tags of its own keeps them."""
    notebook = nbformat.read(path, as_version=4)
    removed = 0
    display_tags = [t for c in notebook.cells if "parameters" in c.metadata.get("tags", [])
                    for t in c.metadata["tags"] if t in DISPLAY_TAGS]
    for cell in notebook.cells:
        outputs = cell.get("outputs", [])
        kept = [o for o in outputs if not (o.output_type == "stream" and o.get("name") == "stderr")]
        removed += len(outputs) - len(kept)
        if "outputs" in cell:
            cell.outputs = kept
        tags = cell.metadata.get("tags", [])
        if "injected-parameters" in tags:
            tags = tags + [t for t in display_tags if t not in tags]
        if cell.cell_type == "code" and not any(t in DISPLAY_TAGS for t in tags):
            parameters = {"parameters", "injected-parameters"} & set(tags)
            tags = tags + ["remove-cell" if parameters else "hide-input"]
        if tags:
            cell.metadata["tags"] = tags
    nbformat.write(notebook, path)
    return removed


def chapter_source(name: str) -> Path:
    """The source of chapter ``name``; an error naming the chapters when there is none."""
    source = SOURCE_DIR / f"{name}.md"
    if not source.is_file():
        raise UserInputError(f"No chapter {name!r}: {source} does not exist. Chapters: {', '.join(chapters())}.")
    return source


def check_parameters(name: str, parameters: dict) -> None:
    """Refuse a parameter the chapter's ``parameters`` cell does not set (papermill only
    warns and runs on, so a misspelt name would leave the chapter's own value in force),
    and a value of another kind than the cell's own (text for a number), which would
    otherwise fail deep inside the chapter."""
    cells = jupytext.read(chapter_source(name)).cells
    cell = next((c for c in cells if "parameters" in c.metadata.get("tags", [])), None)
    defaults = {target.id: node.value for node in ast.parse(cell.source if cell else "").body
                if isinstance(node, ast.Assign) for target in node.targets if isinstance(target, ast.Name)}
    unknown = sorted(set(parameters) - set(defaults))
    if unknown:
        raise UserInputError(f"Chapter {name!r} has no parameter {', '.join(unknown)}; its parameters: "
                             f"{', '.join(defaults) or 'none'}.")
    for key, value in parameters.items():
        default = ast.literal_eval(defaults[key]) if isinstance(defaults[key], ast.Constant) else None
        if default is None or type(value) is type(default) or (type(default) is float and type(value) is int):
            continue
        raise UserInputError(f"Chapter {name!r}: -p {key} {value!r} is {type(value).__name__}, but the chapter "
                             f"expects {type(default).__name__}, such as {default!r}.")


def execute_chapter(name: str, parameters: dict, log: Path | None = None, executed: Path | None = None) -> float:
    """Execute one chapter source into ``executed`` (default ``book/notebooks/<name>.ipynb``,
    the book's page); return seconds.

    The chapter's stderr goes to the terminal and is appended to ``log`` (default: the
    profile's book log), not into the notebook."""
    source = chapter_source(name)
    executed = Path(executed) if executed else EXECUTED_DIR / f"{name}.ipynb"
    executed.parent.mkdir(parents=True, exist_ok=True)
    log = log or book_log(parameters.get("profile", DEFAULT_PROFILE))
    log.parent.mkdir(parents=True, exist_ok=True)
    notebook = jupytext.read(source)
    notebook.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    started = time.perf_counter()
    try:
        with log.open("a") as log_file:
            log_file.write(f"\n== chapter {name}, {time.strftime('%Y-%m-%d %H:%M:%S')} ==\n")
            papermill.execute_notebook(
                notebook,
                str(executed),
                parameters=parameters,
                kernel_name="python3",
                cwd=str(PROJECT_ROOT),
                log_output=False,
                stderr_file=Tee(sys.stderr, log_file),
                progress_bar=False,
                execution_timeout=CELL_TIMEOUT_SECONDS,
                kernel_manager_class=IpcKernelManager,
            )
    except papermill.PapermillExecutionError as err:
        first_line = err.source.strip().splitlines()[0] if err.source.strip() else ""
        raise BookError(
            f"Chapter {name!r} ({source}) failed: cell {err.cell_index} of the executed "
            f"notebook {executed} (starting {first_line!r}) raised "
            f"{err.ename}: {err.evalue}. Its stderr is in {log}."
        ) from None
    if removed := prepare_for_page(executed):
        print(f"  {removed} stderr output(s) kept off the page, in {log}", flush=True)
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


class PageRefs(HTMLParser):
    """What a built page refers to: the URLs it loads (scripts, styles, images), the links
    a reader may follow, and the ids that links can point at."""

    def __init__(self) -> None:
        super().__init__()
        self.urls: list[str] = []
        self.links: list[str] = []
        self.ids: set[str] = set()

    def handle_starttag(self, tag, attrs):
        attributes = dict(attrs)
        if attributes.get("id"):
            self.ids.add(attributes["id"])
        if tag in ("script", "img", "iframe", "source", "video", "audio", "embed") and attributes.get("src"):
            self.urls.append(attributes["src"])
        if tag == "link" and attributes.get("href"):
            self.urls.append(attributes["href"])
        if tag == "a" and attributes.get("href"):
            self.links.append(attributes["href"])


def external_assets(html_dir: Path = HTML_DIR) -> list[tuple[str, str]]:
    """Every ``(page, url)`` where a built page would load a script, style, font or image
    from the network."""
    found = []
    for page in sorted(html_dir.rglob("*.html")):
        collector = PageRefs()
        collector.feed(page.read_text(encoding="utf-8", errors="replace"))
        for url in collector.urls:
            if url.startswith(("http://", "https://", "//")):
                found.append((str(page.relative_to(html_dir)), url))
    return found


def _execute_or_fail(name: str, parameters: dict) -> tuple[float, str]:
    """Execute one chapter; (seconds, "") or, when it fails, (seconds, the error)."""
    started = time.perf_counter()
    try:
        return execute_chapter(name, parameters), ""
    except BookError as err:
        return time.perf_counter() - started, str(err)


def _status(seconds: float, error: str) -> dict:
    return {"seconds": round(seconds, 2), "status": "fail" if error else "pass",
            "finished": time.strftime("%Y-%m-%d %H:%M")}


def run_book(profile: str, chapter: str | None = None, overrides: dict | None = None) -> Path:
    """Execute the chapters (all, or one), record their timings and build the HTML book."""
    get_profile(profile)
    if not MATHJAX.is_file():  # checked first: the HTML build would fail on it after every chapter ran
        raise BookError(f"MathJax is missing ({MATHJAX}): the pages serve it themselves "
                        "so that math renders offline. Fetch it once with `make book/_vendor/mathjax/tex-chtml.js` "
                        "(it needs npm; `make setup` and `make book` do it too), then run this again.")
    names = execution_order(chapters())
    if chapter:  # the others are executed only if they never were, so the book links up
        names = [chapter] + [n for n in names if n != chapter and not (EXECUTED_DIR / f"{n}.ipynb").is_file()]
    parameters = {"profile": profile, **(overrides or {})}
    timings_path = book_status_file(profile)
    timings = json.loads(timings_path.read_text()) if timings_path.is_file() else {}
    timings_path.parent.mkdir(parents=True, exist_ok=True)
    first = [n for n in names if n not in EXECUTE_LAST]
    started = time.perf_counter()
    workers = max(1, min(len(first), os.cpu_count() or 1))
    if workers > 1:
        print(f"executing {len(first)} chapters, {workers} at a time, with {parameters}", flush=True)
    failures = []
    with ProcessPoolExecutor(workers, mp_context=get_context("spawn")) as pool:
        # the chapters only read artefacts and each writes its own tables, so they run side by side
        for name, (seconds, error) in zip(first, pool.map(_execute_or_fail, first, [parameters] * len(first))):
            timings[name] = _status(seconds, error)
            failures += [error] if error else []
            print(f"  chapter {name} {'FAILED' if error else 'done'} in {seconds:.1f} s", flush=True)
    timings_path.write_text(json.dumps(timings, indent=2))  # the provenance page, executed last, reads it
    for name in [n for n in names if n in EXECUTE_LAST]:
        if len(names) == len(chapters()):  # a whole build: the provenance page shows the chapters' wall time
            wall = time.perf_counter() - started + timings.get(name, {}).get("seconds", 0.0)
            record_stage_time(run_dir(profile), "chapters", wall)
        print(f"executing chapter {name} with {parameters}", flush=True)
        seconds, error = _execute_or_fail(name, parameters)
        timings[name] = _status(seconds, error)
        failures += [error] if error else []
        print(f"  {'FAILED' if error else 'done'} in {seconds:.1f} s", flush=True)
    timings_path.write_text(json.dumps(timings, indent=2))  # the provenance page reads it
    failed = BookError(f"{len(failures)} chapter(s) failed: " + " ".join(failures))
    try:  # the book is built even when a chapter failed (its page shows the error), then the build fails
        index = build_html()
    except BookError:
        if failures:
            raise failed from None
        raise
    if failures:
        raise failed
    leaks = external_assets()
    if leaks:
        listing = "; ".join(f"{page} loads {url}" for page, url in leaks[:5])
        raise BookError(f"The built book loads {len(leaks)} external asset(s): {listing}.")
    return index
