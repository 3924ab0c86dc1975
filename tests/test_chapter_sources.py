"""Chapter sources read well in the book: code lines fit the rendered code cell."""

from __future__ import annotations

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
