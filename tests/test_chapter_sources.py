"""Chapter sources read well in the book: code lines fit the rendered code cell, and every
table a cell makes reaches the page."""

from __future__ import annotations

import ast

import jupytext
import pytest

from analysis.book.build import SOURCE_DIR

CODE_LINE_CHARACTERS = 88  # what a code cell of the book shows without cutting the line


@pytest.mark.parametrize("source", sorted(SOURCE_DIR.glob("*.md")), ids=lambda path: path.stem)
def test_chapter_code_lines_fit_the_code_cell(source):
    notebook = jupytext.read(source)
    long = [f"cell {index}: {line.strip()[:60]}... ({len(line)} characters)"
            for index, cell in enumerate(notebook.cells) if cell.cell_type == "code"
            for line in cell.source.splitlines() if len(line) > CODE_LINE_CHARACTERS]
    assert not long, f"{source.name}: code lines longer than {CODE_LINE_CHARACTERS}:\n" + "\n".join(long)


READER_PAGES = ("results",)  # read first, by reviewers: answers and figures, no code
HIDDEN_INPUT = {"remove-input", "remove-cell"}


@pytest.mark.parametrize("name", READER_PAGES)
def test_reader_facing_pages_show_no_code(name):
    notebook = jupytext.read(SOURCE_DIR / f"{name}.md")
    shown = [index for index, cell in enumerate(notebook.cells)
             if cell.cell_type == "code" and not HIDDEN_INPUT & set(cell.metadata.get("tags", []))]
    assert not shown, f"{name}.md: code cells {shown} show their input; tag them remove-input"
    assert any("parameters" in c.metadata.get("tags", []) for c in notebook.cells), "papermill needs the tag"


def _discarded_tables(code: str) -> list[int]:
    """Lines of ``show(...)`` calls whose table never reaches the page: a notebook displays
    only the value of a cell's last top-level statement, so a ``show`` before it, or inside
    an ``if`` or a loop, needs ``display(...)`` around it."""
    body = ast.parse(code).body
    last = body[-1] if body else None
    return [node.lineno for node in ast.walk(ast.Module(body=body, type_ignores=[]))
            if isinstance(node, ast.Expr) and isinstance(node.value, ast.Call) and node is not last
            and (getattr(node.value.func, "id", None) or getattr(node.value.func, "attr", None)) == "show"]


def test_a_table_shown_before_a_cells_end_or_inside_a_block_is_caught():
    assert _discarded_tables("show(a)\nx = 1") == [1]
    assert _discarded_tables("if x:\n    tables.show(a)") == [2]
    assert _discarded_tables("x = 1\nshow(a)") == [] == _discarded_tables("display(show(a))\nx = 1")


@pytest.mark.parametrize("source", sorted(SOURCE_DIR.glob("*.md")), ids=lambda path: path.stem)
def test_every_table_a_cell_shows_reaches_the_page(source):
    notebook = jupytext.read(source)
    lost = [f"cell {index}, line {line}" for index, cell in enumerate(notebook.cells) if cell.cell_type == "code"
            for line in _discarded_tables(cell.source)]
    assert not lost, f"{source.name}: show(...) whose table is never displayed (wrap it in display()): {lost}"
