"""Notebooks read outside the book show what its pages show: numbers, titles and
citations as the book gives them, and no MyST that Jupyter would print raw."""

from __future__ import annotations

import re

import jupytext
import nbformat
import pytest

from analysis.book import exercises
from analysis.book.browser_check import numbering_problems
from analysis.book.jupyter_markdown import BIBLIOGRAPHY, SOURCE_DIR, BookIndex, JupyterMarkdown, render_notebook

FRONT = "---\njupytext:\n  text_representation:\n    extension: .md\n    format_name: myst\n---\n"
FIRST = FRONT + """
(first)=
# The first chapter

```{glue:figure} fig_a
:name: fig-a

A caption.
```

```{code-cell} ipython3
text = "```{glue:figure} not_a_figure_it_is_code"
```

```{exercise}
:label: ex-one

Count.
```

```{exercise}
:label: ex-unnumbered
:nonumber:

Not counted.
```

(first-section)=
## A section with a {term}`role <Role>`
"""
SECOND = FRONT + """
(second)=
# The second chapter

```{glue:figure} fig_unnamed

Numbered all the same.
```

```{glue:figure} fig_b
:name: fig-b

Another caption.
```

```{exercise}
:label: ex-two

Compare.
```
"""
PNG = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg=="


@pytest.fixture
def index(tmp_path) -> BookIndex:
    (tmp_path / "first.md").write_text(FIRST)
    (tmp_path / "second.md").write_text(SECOND)
    return BookIndex.of_book(tmp_path, order=["first", "second"])


def test_figures_and_exercises_are_numbered_across_chapters_in_reading_order(index, tmp_path):
    assert index.figures == {"fig-a": 1, "second-figure-2": 2, "fig-b": 3}
    assert index.exercises == {"ex-one": 1, "ex-two": 2}
    assert index.titles == {"first": "The first chapter", "first-section": "A section with a role",
                            "second": "The second chapter"}
    assert BookIndex.of_book(tmp_path, order=["second", "first"]).figures["fig-a"] == 3


def test_roles_read_as_the_page_shows_them(index):
    writer = JupyterMarkdown(index)
    text = writer("See {numref}`fig-b`, {ref}`second`, {ref}`the section <first-section>`, "
                  "the {term}`gap <Generalization gap>`, {term}`AUC`, {math}`x^2` and "
                  "{cite}`efron1993bootstrap,efron1987better` then {cite}`efron1993bootstrap`.")
    assert text == ("See Fig. 3, *The second chapter*, the section, the gap, AUC, $x^2$ and "
                    "[ET93, Efr87] then [ET93].")
    references = writer.references().source
    assert references.startswith("**References**")
    assert references.count("[ET93] Bradley Efron and Robert J\\. Tibshirani") == 1 and "[Efr87]" in references


def test_directives_become_markdown_jupyter_renders(index):
    glued = {"fig_b": {"image/png": PNG}, "verdict": {"text/markdown": "The {ref}`second` says no."}}
    writer = JupyterMarkdown(index, glued)
    text = writer("(first)=\n\n# Title\n\n````{admonition} Fig. 3 in short\n:class: dropdown\n\n"
                  "```{glue:figure} fig_b\n:name: fig-b\n\nThe caption.\n```\n\n```{glue:md} verdict\n"
                  ":format: myst\n```\n````\n\n```{math}\n:label: eq-one\n\na = b\n```\n\n"
                  "```{glossary}\nAUC\n  The chance that a fake\n  scores above a real video.\n\nGap\n  A loss.\n```")
    assert text.startswith("# Title\n\n<details>\n<summary><b>Fig. 3 in short</b></summary>\n\n"
                           "![fig_b](attachment:fig_b.png)")  # a dropdown folds as on the page
    assert writer.attachments == {"fig_b.png": {"image/png": PNG}}
    assert "\n*Fig. 3: The caption.*" in text and "\nThe *The second chapter* says no.\n\n</details>" in text
    assert writer("```{note} Mind\n:class: tip\n\nThis.\n```") == "> **Mind**\n>\n> This."
    assert "$$\na = b\n$$" in text
    assert text.endswith("**AUC**: The chance that a fake scores above a real video.\n\n**Gap**: A loss.")
    assert "{" not in text.replace("{glue", "")  # nothing of MyST left


def _leftover_myst(markdown: str) -> list[str]:
    """MyST that Jupyter prints as typed: roles, targets and directives other than those
    the bundle itself turns into cells (exercises, solutions) and the glue that needs an
    executed chapter."""
    roles = re.findall(r"\{(?!glue)[\w:-]+\}`[^`]*`", markdown)
    targets = re.findall(r"^\([\w-]+\)=\s*$", markdown, re.M)
    directives = re.findall(r"^(?:`{3,}|:{3,})\{(?!glue|exercise|solution)[\w:-]+\}.*$", markdown, re.M)
    return roles + targets + directives


def test_every_chapter_of_the_book_reads_without_raw_myst():
    index = BookIndex.of_book()
    assert index.figures and index.exercises and index.titles and index.citations
    checked = 0
    for source in sorted(SOURCE_DIR.glob("*.md")):
        writer = JupyterMarkdown(index)
        markdown = "\n\n".join(writer(c.source) for c in jupytext.read(source).cells if c.cell_type == "markdown")
        assert not _leftover_myst(markdown), f"{source.name}: {_leftover_myst(markdown)[:5]}"
        assert not [k for k in writer.cited if k not in index.citations], f"{source.name} cites a missing key"
        checked += 1
    text = "\n".join(p.read_text() for p in SOURCE_DIR.glob("*.md"))
    assert set(re.findall(r"\{numref\}`([^`]+)`", text)) <= set(index.figures)  # every figure reference numbered
    assert {t for t in re.findall(r"\{ref\}`([^`<]+)`", text)} <= set(index.titles)
    assert BIBLIOGRAPHY.is_file() and checked >= 9


def test_a_glued_figure_is_its_cells_attachment_and_the_notebook_stays_valid(index):
    notebook = jupytext.reads(FRONT + "# T\n\n```{glue:figure} fig_b\n:name: fig-b\n\nThe caption.\n```\n\n"
                              "+++\n\nNo figure here.\n\n```{code-cell} ipython3\nx = 1\n```\n", fmt="md:myst")
    render_notebook(notebook, JupyterMarkdown(index, {"fig_b": {"image/png": PNG}}))
    figure, plain = [c for c in notebook.cells if c.cell_type == "markdown"]
    assert figure.attachments == {"fig_b.png": {"image/png": PNG}} and "attachments" not in plain
    assert "(attachment:fig_b.png)" in figure.source and "base64" not in figure.source
    nbformat.validate(notebook)


def test_student_notebooks_number_exercises_as_the_book_does(index):
    chapter = jupytext.reads(SECOND, fmt="md:myst")
    bundle = exercises.split_chapter(render_notebook(chapter, JupyterMarkdown(index)), "second", index.exercises)
    assert "**Exercise 2** (`ex-two`)" in "\n".join(c.source for c in bundle.student.cells)


def test_a_chapter_executed_for_an_exercise_is_rewritten_to_read_in_jupyter(tmp_path):
    source = jupytext.reads(FRONT + "# Results\n\nAUC {glue:text}`auc`, see {ref}`gap`.\n\n"
                            "```{exercise}\n:label: ex-results-seed\n\nRetrain.\n```\n\n"
                            "```{solution} ex-results-seed\n\nIt moves.\n```\n\n"
                            "```{code-cell} ipython3\nx = 1\n```\n", fmt="md:myst")
    code = next(c for c in source.cells if c.cell_type == "code")
    code.outputs = [nbformat.v4.new_output("display_data", data={"application/papermill.record/text/plain": "'0.8'"},
                                           metadata={"scrapbook": {"name": "auc"}})]
    path = tmp_path / "results.ipynb"
    nbformat.write(source, path)
    exercises.write_executed_chapter("results", path, {"profile": "cpu", "seed": 7})
    text = "\n".join(c.source for c in nbformat.read(path, as_version=4).cells)
    assert "re-executed with profile='cpu', seed=7" in text
    assert "AUC 0.8, see *The generalization gap*." in text
    assert "**Exercise 2** (`ex-results-seed`)" in text and "{" not in text
    assert "It moves." not in text  # no solution under the exercise being worked on


def test_the_book_check_finds_a_number_unlike_the_notebooks(tmp_path, index):
    page = ('<figure id="fig-b"><img src="a.png"/><figcaption><p><span class="caption-number">Fig. {n} </span>'
            '</p></figcaption></figure><div class="exercise admonition" id="ex-two"><p class="admonition-title">'
            '<span class="caption-number">Exercise 2 </span></p></div>')
    (tmp_path / "page.html").write_text(page.format(n=3))
    assert numbering_problems(tmp_path, index) == []
    (tmp_path / "page.html").write_text(page.format(n=4))
    assert numbering_problems(tmp_path, index) == ["page.html: Fig. 4 (fig-b) is 3 in the student notebooks"]
