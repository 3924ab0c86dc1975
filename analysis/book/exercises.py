"""The instructor's bundle: a student notebook per chapter and an answer key.

Chapters write exercises with sphinx-exercise: an ``{exercise}`` block (or the gated
``{exercise-start}`` ... ``{exercise-end}`` form), followed by a ``{solution}`` block or a
gated ``{solution-start}`` ... ``{solution-end}`` span whose code cells stay top-level.
A student notebook is the chapter with every solution removed, each exercise turned into
plain Markdown that Jupyter renders (numbered as the book numbers it), and an empty code
cell and an empty Markdown cell after it for the answer; a code cell tagged ``solution``
(one that computes a solution's numbers) is left out too. The answer key is the same
chapter with the solutions in place. Both are made from the chapters as ``make book``
executed them: the key keeps every output, and both read as the page does
(:mod:`analysis.book.jupyter_markdown`: glued values and figures, references, citations).
A chapter re-executed for an exercise (``analysis book --chapter X --notebook PATH``) is
written the same way, as a student notebook.
"""

from __future__ import annotations

import os
import re
import shutil
from dataclasses import dataclass, field
from pathlib import Path

import jupytext
import nbformat
from nbformat import NotebookNode
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

from analysis.book.jupyter_markdown import ATTACHMENT_LINK, OPTION_LINE, BookIndex, JupyterMarkdown, render_notebook
from analysis.book.notebook_outputs import glue_name, glued_outputs
from analysis.errors import UserInputError
from analysis.paths import (BENCHMARK, BOOK_DIR, EXECUTED_DIR, MANIFEST_FILE, MODELS, PROFILE_FILE, RECORD_FILE,
                            RUNS_DIR, SCORES_FILE, run_dir)
from analysis.profiles import DEFAULT_PROFILE

BUNDLE_DIR = RUNS_DIR / "exercises"
STUDENT_DIR = "students"
KEY_DIR = "answer_key"
ANSWER_TAG = "answer"
# what an answer cell holds until the student writes over it (an empty cell is easy to miss)
CODE_PROMPT = "# your code for the exercise above"
ANSWER_PROMPT = "**Your answer:** "
ANSWERED = ".answered"  # a student notebook with answers in it, set aside before the bundle is rewritten
SOLUTION_TAG = "solution"  # a chapter's code cell that computes a solution's numbers: in the key only
KERNELSPEC = {"name": "python3", "display_name": "Python 3", "language": "python"}

_OPEN = re.compile(r"^\s*(?P<fence>`{3,}|~{3,}|:{3,})\s*(?P<info>\S.*?)?\s*$")
_DIRECTIVE = re.compile(r"^\{(?P<name>[\w:-]+)\}\s*(?P<argument>.*)$")
_KINDS = ("exercise", "solution", "exercise-start", "exercise-end", "solution-start", "solution-end")


@dataclass
class _Block:
    """An exercise or solution directive (or a gated marker) while its lines are read."""

    kind: str
    argument: str
    lines: list[str] = field(default_factory=list)

    @property
    def label(self) -> str:
        for line in self.lines:
            match = re.match(r"^\s*:label:\s*(.*)$", line)
            if match:
                return match[1].strip()
        return self.argument

    @property
    def body(self) -> str:
        """The content without the ``:option:`` lines that open it."""
        body = list(self.lines)
        while body and OPTION_LINE.match(body[0]):
            body.pop(0)
        return "\n".join(body).strip("\n")


@dataclass
class Bundle:
    """The two versions of one chapter, and the labels of the exercises it holds."""

    chapter: str
    student: NotebookNode
    key: NotebookNode
    exercises: list[str]


class _Version:
    """The cells of one version of a chapter; Markdown lines gather into cells, and each
    Markdown cell carries the attachments (figures) its text shows."""

    def __init__(self, attachments: dict[str, dict]) -> None:
        self.cells: list[NotebookNode] = []
        self.lines: list[str] = []
        self.attachments = attachments

    def flush(self) -> None:
        text = "\n".join(self.lines).strip("\n")
        self.lines = []
        if text.strip():
            self.cells.append(self._as_handed_out(new_markdown_cell(text)))

    def add(self, cell: NotebookNode) -> None:
        self.flush()
        self.cells.append(self._as_handed_out(nbformat.from_dict(cell)))

    def _as_handed_out(self, cell: NotebookNode) -> NotebookNode:
        """A Markdown cell with the attachments it shows; a code cell without its glue
        records (unseen in Jupyter, and already written into the text: a figure's would
        double the notebook's size)."""
        if cell.cell_type == "code":
            cell.outputs = [output for output in cell.get("outputs", []) if not glue_name(output)]
        if cell.cell_type == "markdown":
            cell.pop("attachments", None)
            shown = {m["name"]: self.attachments[m["name"]] for m in ATTACHMENT_LINK.finditer(cell.source)
                     if m["name"] in self.attachments}
            if shown:
                cell.attachments = shown
        return cell


def _closes(line: str, fence: str) -> bool:
    match = _OPEN.match(line)
    return bool(match) and not match["info"] and match["fence"][0] == fence[0] and len(match["fence"]) >= len(fence)


def split_chapter(notebook: NotebookNode, chapter: str, numbers: dict[str, int] | None = None) -> Bundle:
    """The student's and the key's version of one chapter notebook; ``numbers`` gives each
    exercise label its number in the book (otherwise they count from 1).

    One pass over the cells: gated spans cross cell boundaries, and a fence that opens
    inside a directive must close before the directive does."""
    attachments = {name: data for cell in notebook.cells if cell.cell_type == "markdown"
                   for name, data in cell.get("attachments", {}).items()}
    student, key = _Version(attachments), _Version(attachments)
    exercises: list[str] = []
    gated, gated_label = None, ""  # "exercise" or "solution" inside a gated span
    block: _Block | None = None
    fences: list[str] = []

    def finish(block: _Block) -> None:
        nonlocal gated, gated_label
        if block.kind in ("exercise", "exercise-start"):
            exercises.append(block.label or f"exercise-{len(exercises) + 1}")
            number = (numbers or {}).get(exercises[-1], len(exercises))
            title = f" {block.argument}" if block.argument and block.argument != block.label else ""
            header = new_markdown_cell(f"**Exercise {number}**{title} (`{exercises[-1]}`)\n\n{block.body}".strip())
            student.add(header)
            key.add(header)
            if block.kind == "exercise":
                answer(exercises[-1])
            else:
                gated, gated_label = "exercise", exercises[-1]
        elif block.kind in ("solution", "solution-start"):
            number = (numbers or {}).get(block.argument)
            solves = f"Solution to Exercise {number}" if number else "Solution"
            key.add(new_markdown_cell(f"**{solves}** (`{block.argument}`)\n\n{block.body}".strip()))
            if block.kind == "solution-start":
                gated, gated_label = "solution", block.argument
        else:  # exercise-end, solution-end
            opened = block.kind.removesuffix("-end")
            if gated != opened:
                raise UserInputError(f"Chapter {chapter!r}: a {{{block.kind}}} has no {{{opened}-start}} before it.")
            if opened == "exercise":
                answer(gated_label)
            gated = None

    def answer(label: str) -> None:
        meta = {"tags": [ANSWER_TAG], "exercise": label}
        student.add(new_code_cell(CODE_PROMPT, metadata=dict(meta)))
        student.add(new_markdown_cell(ANSWER_PROMPT, metadata=dict(meta)))

    def text(line: str) -> None:
        if gated != "solution":
            student.lines.append(line)
        key.lines.append(line)

    for cell in notebook.cells:
        if cell.cell_type == "code":
            if gated != "solution" and SOLUTION_TAG not in cell.metadata.get("tags", []):
                student.add(cell)
            key.add(cell)
            continue
        if cell.cell_type != "markdown":
            continue
        for line in cell.source.splitlines():
            if fences:
                if _closes(line, fences[-1]):
                    fences.pop()
                    if block and not fences:
                        finish(block)
                        block = None
                        continue
                elif (opened := _OPEN.match(line)) and opened["info"]:
                    fences.append(opened["fence"])
                block.lines.append(line) if block else text(line)
                continue
            opened = _OPEN.match(line)
            directive = _DIRECTIVE.match(opened["info"] or "") if opened else None
            if opened:
                fences.append(opened["fence"])
            if directive and directive["name"] in _KINDS:
                block = _Block(directive["name"], directive["argument"].strip())
            else:
                text(line)
        if fences:
            raise UserInputError(f"Chapter {chapter!r}: a block opened with {fences[0]} is not closed "
                                 "in the same Markdown cell.")
        student.flush()
        key.flush()
    if gated:
        raise UserInputError(f"Chapter {chapter!r}: the gated {gated} {gated_label!r} has no {{{gated}-end}}.")
    intro = (f"Chapter `{chapter}` of the study as a notebook, with the numbers of the book it was made "
             "from. Run the cells from the top (the chapter reads what `make book` wrote under `runs/`), "
             "then answer each exercise in the answer cells below it. The numbers written into the text stay "
             "the book's: after you change a setting and run the cells again, the cells' outputs show what "
             "it gives.")
    return Bundle(chapter, _notebook([new_markdown_cell(intro), *student.cells]),
                  _notebook([new_markdown_cell(f"Answer key of chapter `{chapter}`."), *key.cells]), exercises)


def _notebook(cells: list[NotebookNode]) -> NotebookNode:
    notebook = new_notebook(cells=cells)
    notebook.metadata["kernelspec"] = dict(KERNELSPEC)
    notebook.metadata["language_info"] = {"name": "python"}
    return notebook


def set_aside_answered(folder: Path) -> list[Path]:
    """Rename the notebooks in ``folder`` that hold a student's work (an answer cell no longer
    its prompt) to ``<chapter>.answered[-N].ipynb``, which the bundle never overwrites, so
    writing the bundle again after a rebuild loses no one's answers; return the new paths."""
    kept = []
    for path in sorted(folder.glob("*.ipynb")):
        if ANSWERED in path.stem:
            continue
        cells = nbformat.read(path, as_version=4).cells
        if any(ANSWER_TAG in c.metadata.get("tags", []) and c.source not in (CODE_PROMPT, ANSWER_PROMPT)
               for c in cells):
            n = 0
            while (target := folder / f"{path.stem}{ANSWERED}{f'-{n}' if n else ''}.ipynb").exists():
                n += 1
            path.rename(target)
            kept.append(target)
    return kept


def write_bundle(chapters_dir: Path = BOOK_DIR / "chapters", out: Path = BUNDLE_DIR,
                 executed_dir: Path | None = EXECUTED_DIR) -> list[Bundle]:
    """Write ``students/<chapter>.ipynb`` and ``answer_key/<chapter>.ipynb`` for every chapter
    with exercises, and a README that lists them. From the executed chapters in
    ``executed_dir`` (the book's), with their outputs and glued values; ``None``: from the
    sources, unexecuted (the tests' small chapters)."""
    sources = sorted(Path(chapters_dir).glob("*.md"))
    if not sources:
        raise UserInputError(f"No chapter sources (*.md) in {chapters_dir}.")
    index = BookIndex.of_book(chapters_dir)
    bundles = [_bundle(source, executed_dir, index) for source in sources]
    bundles = [b for b in bundles if b.exercises]
    out = Path(out)
    for folder in (STUDENT_DIR, KEY_DIR):
        (out / folder).mkdir(parents=True, exist_ok=True)
        set_aside_answered(out / folder)
        for stale in (out / folder).glob("*.ipynb"):
            if ANSWERED not in stale.stem:
                stale.unlink()
    for bundle in bundles:
        nbformat.write(bundle.student, out / STUDENT_DIR / f"{bundle.chapter}.ipynb")
        nbformat.write(bundle.key, out / KEY_DIR / f"{bundle.chapter}.ipynb")
    numbered = sorted((index.exercises.get(label, 0), label, b.chapter) for b in bundles for label in b.exercises)
    listing = "\n".join(f"- Exercise {n} (`{label}`), in `{STUDENT_DIR}/{chapter}.ipynb`" for n, label, chapter in numbered)
    made_from = ""
    if executed_dir is not None:
        from analysis.training.run_record import git

        made_from = ("Made from the chapters as the last `make book` executed them (the provenance chapter names "
                     f"the commit they ran at); written at commit {git('rev-parse', '--short', 'HEAD') or 'unknown'}. "
                     "After the next `make book`, run `make exercises` again.\n\n")
    (out / "README.md").write_text(
        "# Exercises of the study\n\n"
        f"`{STUDENT_DIR}/` holds one notebook per chapter to hand out: the chapter with its solutions\n"
        f"removed and answer cells (tagged `{ANSWER_TAG}`) after each exercise. `{KEY_DIR}/` holds\n"
        "the same chapters with the solutions, executed. Both show the numbers of the book they were\n"
        "made from; students re-run the cells against the runs `make book` wrote. Each exercise says\n"
        "what it costs; those that train or regenerate data write under `runs/exercises/`, never over\n"
        "the built book. None needs a GPU.\n\n"
        "Before the first exercise, a student needs the project set up and the book built once\n"
        "(`make book`: the notebooks read the runs it writes under `runs/`; the README gives its\n"
        "time on 2 cores). `make lab` opens JupyterLab on the project's kernel; open the notebooks\n"
        f"from `runs/exercises/{STUDENT_DIR}/` there. Exercises that edit the code say so and ask\n"
        "for the edit to be undone afterwards (`git checkout -- FILE`): the next `make book` would\n"
        "otherwise rebuild what the edit touches. An exercise that exports `ANALYSIS_RUNS_DIR`\n"
        "leaves it set in that shell; start the next one in a new shell, or `unset ANALYSIS_RUNS_DIR`.\n\n"
        f"{made_from}Exercises as the book numbers them:\n\n{listing}\n"
    )
    return bundles


def _bundle(source: Path, executed_dir: Path | None, index: BookIndex) -> Bundle:
    """One chapter's two versions, from the chapter as ``make book`` executed it (or from
    its source)."""
    if executed_dir is None:
        return _as_read(jupytext.read(source), source.stem, index)
    executed = Path(executed_dir) / f"{source.stem}.ipynb"
    if not executed.is_file():
        raise UserInputError(f"No executed chapter {executed}: the bundle shows the built book's outputs, so "
                             "run `make book` first.")
    return _as_read(nbformat.read(executed, as_version=4), source.stem, index, glued_outputs(executed))


def _as_read(notebook: NotebookNode, chapter: str, index: BookIndex, glued: dict | None = None) -> Bundle:
    """Both versions, their Markdown written as the page reads, with the works cited."""
    writer = JupyterMarkdown(index, glued)
    bundle = split_chapter(render_notebook(notebook, writer), chapter, index.exercises)
    if references := writer.references():
        bundle.student.cells.append(references)
        bundle.key.cells.append(nbformat.from_dict(references))
    return bundle


def write_executed_chapter(name: str, executed: Path, parameters: dict) -> Path:
    """Rewrite a chapter that ``analysis book --chapter NAME --notebook PATH`` executed for
    an exercise as a student notebook: glued values, references and exercises as the page
    shows them (the notebook is read in Jupyter, not in the book), and no solution under
    the exercise the student is working on."""
    index = BookIndex.of_book()
    student = _as_read(nbformat.read(executed, as_version=4), name, index, glued_outputs(executed)).student
    settings = ", ".join(f"{k}={v!r}" for k, v in parameters.items())
    runs = os.path.relpath(run_dir(parameters.get("profile", DEFAULT_PROFILE)))  # ANALYSIS_RUNS_DIR's, if set
    student.cells[0] = new_markdown_cell(
        f"Chapter `{name}` re-executed with {settings}, reading the runs and results in `{runs}` (as the last "
        "`run` there left them). The built book and its tables are unchanged; the numbers below are the ones "
        "these settings and runs give. The solutions are in the book and in the answer key.")
    nbformat.write(student, executed)
    return executed


def copy_built_runs(profile: str, source: Path = RUNS_DIR, target: Path = BUNDLE_DIR) -> Path:
    """Copy what the results stage reads from the built runs of ``profile`` (``source``):
    the scores table, every training run's record, the benchmark's manifest and the
    resolved profile, into ``target``, where an exercise recomputes the results stage with
    other settings (``ANALYSIS_RUNS_DIR=runs/exercises``). Copies, never links, so nothing an
    exercise writes there reaches the built book; links an earlier version made are replaced."""
    built, into = Path(source) / profile, Path(target) / profile
    if not (built / SCORES_FILE).is_file():
        raise UserInputError(f"No built runs in {built} (no {SCORES_FILE}): build the book first with `make book`.")
    files = [Path(SCORES_FILE), Path(BENCHMARK) / MANIFEST_FILE, Path(PROFILE_FILE),
             *(record.relative_to(built) for record in sorted((built / MODELS).glob(f"*/*/{RECORD_FILE}")))]
    for linked in (into / MODELS, into / SCORES_FILE):
        if linked.is_symlink():
            linked.unlink()
    for file in files:
        if (built / file).is_file():
            (into / file).parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(built / file, into / file)
    return into
