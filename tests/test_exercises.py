"""The instructor bundle: student notebooks carry prompts and answer cells, never solutions."""

from __future__ import annotations

import re

import jupytext
import nbformat
import pytest

from analysis.book import exercises
from analysis.book.jupyter_markdown import BookIndex, JupyterMarkdown
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
    assert [c.source for c in answers] == [exercises.CODE_PROMPT, exercises.ANSWER_PROMPT] * len(bundle.exercises)
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
    exercises.write_bundle(out=tmp_path, executed_dir=None)  # the sources: the same cells as executed
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


PNG = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg=="


def _glued(name: str, data: dict) -> dict:
    """An output as myst-nb's ``glue(..., display=False)`` leaves it in an executed notebook."""
    return nbformat.v4.new_output("display_data", data={f"{RECORD}{k}": v for k, v in data.items()},
                                  metadata={"scrapbook": {"name": name}})


RECORD = "application/papermill.record/"


def test_glued_values_and_figures_are_written_into_the_markdown():
    glued = {"auc": {"text/plain": "'0.85 [0.80, 0.90]'"}, "fig_gap": {"image/png": PNG, "text/plain": "<Figure>"}}
    writer = JupyterMarkdown(BookIndex(), glued)
    fill_glue = writer.fill_glue
    text = fill_glue("AUC {glue:text}`auc`, again {glue:text}`auc:.2f`.\n\n"
                     "```{glue:figure} fig_gap\n:name: fig-gap\n\nThe gap, {glue:text}`auc`.\n```\n\n## Next\n")
    assert "{glue" not in text and text.startswith("AUC 0.85 [0.80, 0.90], again 0.85 [0.80, 0.90].")
    assert "![fig_gap](attachment:fig_gap.png)\n\n*The gap, 0.85 [0.80, 0.90].*\n\n## Next" in text  # not run together
    assert writer.attachments == {"fig_gap.png": {"image/png": PNG}} and "base64" not in text
    with pytest.raises(UserInputError, match="no value 'missing'"):
        fill_glue("{glue:text}`missing`")
    caveats = {"caveats": {"text/markdown": "- one\n- two", "text/plain": "<IPython.core.display.Markdown object>"}}
    block = JupyterMarkdown(BookIndex(), caveats).fill_glue("Caveats:\n\n```{glue:md} caveats\n:format: myst\n```\n\nAfter.")
    assert block == "Caveats:\n\n- one\n- two\n\nAfter."


def test_figures_stay_attached_to_the_cells_that_show_them():
    notebook = jupytext.reads(CHAPTER, fmt="md:myst")
    prose = next(c for c in notebook.cells if c.cell_type == "markdown")
    prose.source += "\n\n![fig_a](attachment:fig_a.png)"
    solved = next(c for c in notebook.cells if "The secret answer is forty-two." in c.source)
    solved.source = solved.source.replace("The secret answer is forty-two.", "![fig_key](attachment:fig_key.png)")
    prose.attachments, solved.attachments = {"fig_a.png": {"image/png": PNG}}, {"fig_key.png": {"image/png": PNG}}
    bundle = exercises.split_chapter(notebook, "demo")
    for version, names in ((bundle.student, {"fig_a.png"}), (bundle.key, {"fig_a.png", "fig_key.png"})):
        held = [c for c in version.cells if c.get("attachments")]
        assert set().union(*(c.attachments for c in held)) == names
        assert all(f"(attachment:{n})" in c.source for c in held for n in c.attachments)
        nbformat.validate(version)


def test_bundle_of_an_executed_chapter_shows_its_numbers_and_outputs(tmp_path):
    chapters, executed = tmp_path / "chapters", tmp_path / "notebooks"
    chapters.mkdir()
    executed.mkdir()
    (chapters / "demo.md").write_text(CHAPTER)
    notebook = jupytext.reads(CHAPTER.replace("Add one to `x`.", "Add one to {glue:text}`x`."), fmt="md:myst")
    for cell in notebook.cells:
        if cell.cell_type == "code":
            cell.execution_count = 1
            cell.outputs = [nbformat.v4.new_output("execute_result", data={"text/plain": "41"}, execution_count=1),
                            _glued("x", {"text/plain": "41"})]
    nbformat.write(notebook, executed / "demo.ipynb")
    with pytest.raises(UserInputError, match="make book"):
        exercises.write_bundle(chapters, tmp_path / "none", tmp_path / "nowhere")
    [bundle] = exercises.write_bundle(chapters, tmp_path / "out", executed)
    assert "Add one to 41." in _text(bundle.student) and "{glue" not in _text(bundle.student)
    key = nbformat.read(tmp_path / "out" / exercises.KEY_DIR / "demo.ipynb", as_version=4)
    solution = next(c for c in key.cells if c.cell_type == "code" and "hidden_solution_code" in c.source)
    assert solution.outputs and solution.outputs[0]["data"]["text/plain"] == "41"
    for version in (bundle.student, key):  # the glue records are written into the text, not kept twice
        outputs = [o for c in version.cells if c.cell_type == "code" for o in c.outputs]
        assert outputs and not [o for o in outputs if "scrapbook" in o.get("metadata", {})]


def test_every_book_exercise_states_its_cost_and_keeps_rebuilds_off_the_built_book():
    """An instructor hands them out: each says what it costs, and whatever trains,
    regenerates or re-executes writes under runs/exercises/ (or a notebook of its own)."""
    checked = 0
    for source in sorted((BOOK_DIR / "chapters").glob("*.md")):
        for body in re.findall(r"^```\{exercise\}\n(.*?)^```$", source.read_text(), re.S | re.M):
            label = re.search(r":label:\s*(\S+)", body)[1]
            assert re.search(r"second|minute|hour|no computation|costs nothing", body, re.I), label
            for command in re.findall(r"analysis (?:run|train|book|synth)\b[^`\n]*", body):
                assert "runs/exercises" in body, f"{label}: {command!r} writes where the built book lives"
            checked += 1
    assert checked >= 20


def test_exercise_runs_are_copies_of_what_the_results_stage_reads_never_links_to_the_book(tmp_path):
    built, target = tmp_path / "runs", tmp_path / "exercises"
    with pytest.raises(UserInputError, match="make book"):
        exercises.copy_built_runs("cpu", built, target)
    run = built / "cpu" / "models" / "resnet18" / "seed0"
    run.mkdir(parents=True)
    (run / "record.json").write_text("{}")
    (run / "best.pt").write_bytes(b"weights")
    (built / "cpu" / "benchmark").mkdir()
    (built / "cpu" / "benchmark" / "manifest.csv").write_text("video_id\n")
    (built / "cpu" / "scores.csv").write_text("model\n")
    (target / "cpu").mkdir(parents=True)  # the links an earlier version of exercise-runs made
    (target / "cpu" / "models").symlink_to(built / "cpu" / "models")
    (target / "cpu" / "scores.csv").symlink_to(built / "cpu" / "scores.csv")
    into = exercises.copy_built_runs("cpu", built, target)
    copied = sorted(str(p.relative_to(into)) for p in into.rglob("*") if p.is_file())
    assert copied == ["benchmark/manifest.csv", "models/resnet18/seed0/record.json", "scores.csv"]
    assert not any(p.is_symlink() for p in into.rglob("*"))
    (into / "scores.csv").write_text("rewritten by an exercise\n")  # a stage writing there ...
    (into / "models" / "resnet18" / "seed1").mkdir()  # ... or training another seed
    assert (built / "cpu" / "scores.csv").read_text() == "model\n"  # leaves the built book alone
    assert not (built / "cpu" / "models" / "resnet18" / "seed1").exists()


def test_a_code_cell_that_computes_a_solutions_numbers_is_in_the_key_only():
    chapter = CHAPTER.replace("## Exercises", "```{code-cell} ipython3\n:tags: [remove-cell, solution]\n\n"
                              "secret = x + 1  # the exercise's answer\n```\n\n## Exercises")
    bundle = exercises.split_chapter(jupytext.reads(chapter, fmt="md:myst"), "demo")
    assert "secret = x + 1" not in _text(bundle.student) and "secret = x + 1" in _text(bundle.key)
    assert "x = 41" in _text(bundle.student)


def test_writing_the_bundle_again_sets_a_students_answers_aside_instead_of_deleting_them(tmp_path):
    exercises.write_bundle(out=tmp_path, executed_dir=None)
    students = tmp_path / exercises.STUDENT_DIR
    path = sorted(students.glob("*.ipynb"))[0]
    notebook = nbformat.read(path, as_version=4)
    answer = next(c for c in notebook.cells if exercises.ANSWER_TAG in c.metadata.get("tags", []))
    answer.source = "my_answer = 0.42"
    nbformat.write(notebook, path)
    exercises.write_bundle(out=tmp_path, executed_dir=None)
    kept = students / f"{path.stem}{exercises.ANSWERED}.ipynb"
    assert "my_answer = 0.42" in kept.read_text() and "my_answer" not in path.read_text()
    exercises.write_bundle(out=tmp_path, executed_dir=None)  # nothing new answered: nothing more set aside
    assert sorted(p.name for p in students.glob(f"*{exercises.ANSWERED}*")) == [kept.name]
