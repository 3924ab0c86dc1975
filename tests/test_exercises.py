"""The instructor bundle: student notebooks carry prompts and answer cells, never solutions."""

from __future__ import annotations

import re

import jupytext
import nbformat
import pytest

from analysis import cli
from analysis.book import exercises
from analysis.errors import UserInputError
from analysis.paths import BOOK_DIR

FRONT = "---\njupytext:\n  text_representation:\n    extension: .md\n    format_name: myst\n---\n"
CHAPTER = FRONT + """
# A chapter

```{code-cell} ipython3
x = 41
```

## Exercises

```{exercise}
:label: ex-plain

Add one to `x`.
```

```{solution} ex-plain
:class: dropdown

The secret answer is forty-two.
```

:::{exercise} With a title
:label: ex-colon

Name a colour.
:::

::::{solution} ex-colon
:class: dropdown

Cobalt blue, said the key.

```python
print("nested fence inside the solution")
```
::::

```{exercise}
:label: ex-gated

Plot something.
```

```{solution-start} ex-gated
:class: dropdown
```

Start from the hidden recipe:

```{code-cell} ipython3
hidden_solution_code = x + 1
```

and finish with the hidden conclusion.

```{solution-end}
```

```{exercise-start}
:label: ex-gated-prompt
```

Run this cell before answering:

```{code-cell} ipython3
prompt_code = 1
```

```{exercise-end}
```

Text after the exercises stays.
"""
SOLUTION_TEXT = ["forty-two", "Cobalt blue", "nested fence inside", "hidden recipe", "hidden_solution_code",
                 "hidden conclusion"]
PROMPTS = ["Add one to `x`.", "Name a colour.", "Plot something.", "prompt_code = 1", "Text after the exercises stays."]


def _text(notebook) -> str:
    return "\n".join(cell.source for cell in notebook.cells)


@pytest.fixture
def bundle():
    return exercises.split_chapter(jupytext.reads(CHAPTER, fmt="md:myst"), "demo")


def test_student_notebook_has_prompts_and_answer_cells_but_no_solutions(bundle):
    student = _text(bundle.student)
    assert bundle.exercises == ["ex-plain", "ex-colon", "ex-gated", "ex-gated-prompt"]
    for secret in SOLUTION_TEXT:
        assert secret not in student
    for prompt in PROMPTS:
        assert prompt in student
    assert "{solution" not in student and "{exercise" not in student
    answers = [c for c in bundle.student.cells if exercises.ANSWER_TAG in c.metadata.get("tags", [])]
    assert [c.metadata["exercise"] for c in answers if c.cell_type == "code"] == bundle.exercises
    assert all(c.source == "" for c in answers)
    assert "x = 41" in student  # the chapter's own code stays runnable


def test_answer_cells_follow_their_exercise(bundle):
    cells = bundle.student.cells
    for label in bundle.exercises:
        first_answer = next(i for i, c in enumerate(cells) if c.metadata.get("exercise") == label)
        assert f"(`{label}`)" in cells[first_answer - 1].source or label == "ex-gated-prompt"
    gated = next(i for i, c in enumerate(cells) if c.metadata.get("exercise") == "ex-gated-prompt")
    assert cells[gated - 1].source == "prompt_code = 1"


def test_answer_key_keeps_every_solution_with_its_code_cell(bundle):
    key = _text(bundle.key)
    for secret in SOLUTION_TEXT:
        assert secret in key
    code = [c.source for c in bundle.key.cells if c.cell_type == "code"]
    assert "hidden_solution_code = x + 1" in code
    assert not any(c.metadata.get("tags") == [exercises.ANSWER_TAG] for c in bundle.key.cells)


def test_unclosed_gated_solution_is_an_error():
    broken = FRONT + "```{solution-start} ex\n```\n\nnever ends\n"
    with pytest.raises(UserInputError, match="solution-end"):
        exercises.split_chapter(jupytext.reads(broken, fmt="md:myst"), "broken")


def _solutions_in_source(text: str) -> list[str]:
    """Solution paragraphs, found independently of the module: fenced and gated forms."""
    found = re.findall(r"^(`{3,}|:{3,})\{solution\}[^\n]*\n(.*?)^\1\s*$", text, re.S | re.M)
    gated = re.findall(r"\{solution-start\}(.*?)\{solution-end\}", text, re.S)
    lines = [line for _, body in found for line in body.splitlines()] + [l for g in gated for l in g.splitlines()]
    return [line.strip() for line in lines if len(line.strip()) > 25 and not line.strip().startswith((":", "```"))]


def test_book_bundle_leaks_no_solution_text(tmp_path):
    assert cli.main(["exercises", "--out", str(tmp_path)]) == 0
    sources = sorted((BOOK_DIR / "chapters").glob("*.md"))
    written = sorted(p.stem for p in (tmp_path / exercises.STUDENT_DIR).glob("*.ipynb"))
    assert written and written == sorted(p.stem for p in (tmp_path / exercises.KEY_DIR).glob("*.ipynb"))
    checked = 0
    for source in sources:
        secrets = _solutions_in_source(source.read_text())
        if not secrets:
            continue
        student = _text(nbformat.read(tmp_path / exercises.STUDENT_DIR / f"{source.stem}.ipynb", as_version=4))
        key = _text(nbformat.read(tmp_path / exercises.KEY_DIR / f"{source.stem}.ipynb", as_version=4))
        for line in secrets:
            assert line not in student, f"{source.name}: solution text in the student notebook: {line!r}"
            assert line in key
            checked += 1
    assert checked > 0
    assert "students/" in (tmp_path / "README.md").read_text()
