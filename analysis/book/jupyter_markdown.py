"""The book's MyST Markdown as Markdown that Jupyter renders, for notebooks read outside the book.

Student notebooks, answer keys and chapters re-executed for an exercise open in Jupyter,
which knows neither glue nor Sphinx roles and directives: a student would read
``{numref}`fig-gap``` where the page says "Fig. 25". :class:`BookIndex` reads, from the
chapter sources in reading order, what Sphinx numbers and titles (figures and exercises
are numbered across the book, as the pages number them); :class:`JupyterMarkdown` writes
each Markdown cell as the page shows it: glued values and figures in place,
cross-references as their titles and numbers, citations with the book's labels (and a
reference list at the end of the notebook), and admonitions, display math and the
glossary in plain Markdown.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

import jupytext
from nbformat import NotebookNode
from nbformat.v4 import new_markdown_cell

from analysis.book.notebook_outputs import as_text
from analysis.errors import UserInputError
from analysis.paths import BOOK_DIR

SOURCE_DIR = BOOK_DIR / "chapters"
BIBLIOGRAPHY = BOOK_DIR / "references.bib"

OPTION_LINE = re.compile(r"^\s*:[\w-]+:.*$")  # a directive's option
ATTACHMENT_LINK = re.compile(r"\]\(attachment:(?P<name>[^)\s]+)\)")  # an image a Markdown cell holds
_GLUE_ROLE = re.compile(r"\{glue(?::text|:)?\}`(?P<name>[^`:]+)(?::[^`]*)?`")
_GLUE_FIGURE = re.compile(r"^(?P<fence>`{3,}|:{3,})\{glue:figure\}\s*(?P<name>\S+)\s*\n(?P<body>.*?)^(?P=fence)[ \t]*$",
                          re.M | re.S)
_GLUE_MD = re.compile(r"^(?P<fence>`{3,}|:{3,})\{glue:md\}\s*(?P<name>\S+)\s*\n(?:\s*:[\w-]+:.*\n)*(?P=fence)[ \t]*$", re.M)
_FIGURE = re.compile(r"^(`{3,}|:{3,})\{(?:glue:)?figure\}.*\n(?P<options>(?:\s*:[\w-]+:.*\n)*)", re.M)
_EXERCISE = re.compile(r"^(`{3,}|:{3,})\{exercise(?:-start)?\}.*\n(?P<options>(?:\s*:[\w-]+:.*\n)*)", re.M)
_TARGET = re.compile(r"^\((?P<label>[\w-]+)\)=[ \t]*(?:\n+(?P<heading>#+[ \t].*)?|$)", re.M)
_ROLE = re.compile(r"\{(?P<role>term|ref|numref|cite|doc|math)\}`(?P<content>[^`]*)`")
_EXPLICIT = re.compile(r"^(?P<text>.*?)\s*<(?P<target>[^<>]+)>$", re.S)
_ADMONITIONS = "admonition|note|important|tip|warning|caution|attention|seealso|dropdown"
_ADMONITION = re.compile(rf"^(?P<fence>`{{3,}}|:{{3,}})\{{(?P<kind>{_ADMONITIONS})\}}[ \t]*(?P<title>[^\n]*)\n"
                         r"(?P<body>.*?)^(?P=fence)[ \t]*$", re.M | re.S)
_MATH = re.compile(r"^(?P<fence>`{3,}|:{3,})\{math\}[^\n]*\n(?P<body>.*?)^(?P=fence)[ \t]*$", re.M | re.S)
_GLOSSARY = re.compile(r"^(?P<fence>`{3,}|:{3,})\{glossary\}[^\n]*\n(?P<body>.*?)^(?P=fence)[ \t]*$", re.M | re.S)


def _option(options: str, name: str) -> str | None:
    match = re.search(rf"^\s*:{name}:\s*(\S.*?)\s*$", options, re.M)
    return match[1] if match else None


def _markdown_of(source: Path) -> str:
    """A chapter source's Markdown cells (its code cannot open a directive)."""
    return "\n\n".join(c.source for c in jupytext.read(source).cells if c.cell_type == "markdown")


@dataclass(frozen=True)
class BookIndex:
    """What the book numbers and titles, read from the chapter sources in reading order."""

    titles: dict[str, str] = field(default_factory=dict)  # a section or chapter label -> its heading
    figures: dict[str, int] = field(default_factory=dict)  # a figure's name -> its number across the book
    exercises: dict[str, int] = field(default_factory=dict)  # an exercise's label -> its number
    citations: dict[str, tuple[str, str]] = field(default_factory=dict)  # key -> (label, reference as Markdown)

    @classmethod
    def of_book(cls, chapters_dir: Path = SOURCE_DIR, order: list[str] | None = None,
                bibliography: Path | None = BIBLIOGRAPHY) -> BookIndex:
        """The index of the chapters in ``chapters_dir``, in ``order`` (default: the book's
        reading order; chapters it does not list follow by name)."""
        if order is None:
            from analysis.book.build import chapters

            order = chapters()
        sources = {p.stem: p for p in Path(chapters_dir).glob("*.md")}
        names = [n for n in order if n in sources] + sorted(set(sources) - set(order))
        titles, figures, exercises = {}, {}, {}
        for name in names:
            text = _markdown_of(sources[name])
            for target in _TARGET.finditer(text):
                if target["heading"]:
                    titles[target["label"]] = _ROLE.sub(_plain_role, target["heading"].lstrip("#").strip())
            for figure in _FIGURE.finditer(text):  # Sphinx numbers every figure, named or not
                figures[_option(figure["options"], "name") or f"{name}-figure-{len(figures) + 1}"] = len(figures) + 1
            for exercise in _EXERCISE.finditer(text):
                if ":nonumber:" not in exercise["options"]:
                    label = _option(exercise["options"], "label") or f"{name}-exercise-{len(exercises) + 1}"
                    exercises[label] = len(exercises) + 1
        return cls(titles, figures, exercises, _citations(bibliography) if bibliography else {})


def _citations(bibliography: Path) -> dict[str, tuple[str, str]]:
    """Key -> (the label the book prints, e.g. ``ET93``, and the reference in Markdown)."""
    from pybtex.database import parse_file
    from pybtex.plugin import find_plugin

    entries = parse_file(str(bibliography)).entries
    style = find_plugin("pybtex.style.formatting", "alpha")()  # sphinxcontrib-bibtex's default labels
    return {e.key: (e.label, " ".join(e.text.render_as("markdown").split()))
            for e in style.format_entries(entries.values())}


def _plain_role(match: re.Match) -> str:
    """A role in a heading, where only its text matters."""
    explicit = _EXPLICIT.match(match["content"])
    return explicit["text"] if explicit else match["content"]


@dataclass
class JupyterMarkdown:
    """Writes one notebook's Markdown cells as the page shows them; remembers what they cite.

    ``glued``: the executed notebook's glued outputs; ``None`` leaves glue placeholders as
    they are (a chapter source that was never executed)."""

    index: BookIndex
    glued: dict[str, dict] | None = None
    cited: list[str] = field(default_factory=list)
    attachments: dict[str, dict] = field(default_factory=dict)  # the last cell's figures, by file name

    def __call__(self, markdown: str) -> str:
        self.attachments = {}
        if self.glued is not None:
            markdown = self.fill_glue(markdown)
        markdown = _TARGET.sub(lambda m: m["heading"] or "", markdown)
        markdown = _MATH.sub(lambda m: "$$\n" + "\n".join(
            line for line in m["body"].splitlines() if not OPTION_LINE.match(line)).strip("\n") + "\n$$", markdown)
        markdown = _GLOSSARY.sub(lambda m: _glossary(m["body"]), markdown)
        while (converted := _ADMONITION.sub(_admonition, markdown)) != markdown:  # nested ones, outside in
            markdown = converted
        return _ROLE.sub(self._role, markdown)

    def fill_glue(self, markdown: str) -> str:
        """``markdown`` with every glued value written in (a ``{glue:md}`` block as the
        Markdown it holds) and every glued figure shown as an image, numbered and
        captioned as on the page. A figure is the cell's attachment (:attr:`attachments`),
        so editing the cell shows one short line where an embedded image would show a wall
        of base64. A name the notebook did not glue is an error: the reader would see the
        placeholder."""
        glued = self.glued or {}

        def value(match: re.Match) -> str:
            if match["name"] not in glued:
                raise UserInputError(f"The executed chapter glued no value {match['name']!r}.")
            return as_text(glued[match["name"]])

        def figure(match: re.Match) -> str:
            bundle = glued.get(match["name"])
            if not bundle or "image/png" not in bundle:
                raise UserInputError(f"The executed chapter glued no figure {match['name']!r}.")
            options = "\n".join(line for line in match["body"].splitlines() if OPTION_LINE.match(line))
            number = self.index.figures.get(_option(options, "name") or "")
            caption = "\n".join(line for line in match["body"].splitlines() if not OPTION_LINE.match(line)).strip()
            caption = f"Fig. {number}: {caption}" if number else caption
            self.attachments[f"{match['name']}.png"] = {"image/png": "".join(bundle["image/png"]).replace("\n", "")}
            return f"![{match['name']}](attachment:{match['name']}.png)\n\n*{_GLUE_ROLE.sub(value, caption)}*"

        def block(match: re.Match) -> str:
            bundle = glued.get(match["name"])
            if not bundle:
                raise UserInputError(f"The executed chapter glued no value {match['name']!r}.")
            return "".join(bundle["text/markdown"]) if "text/markdown" in bundle else as_text(bundle)

        return _GLUE_ROLE.sub(value, _GLUE_MD.sub(block, _GLUE_FIGURE.sub(figure, markdown)))

    def _role(self, match: re.Match) -> str:
        role, content = match["role"], match["content"]
        explicit = _EXPLICIT.match(content)
        if role == "math":
            return f"${content}$"
        if role == "cite":
            keys = [k.strip() for k in content.split(",")]
            self.cited += [k for k in keys if k not in self.cited]
            return "[" + ", ".join(self.index.citations.get(k, (k, ""))[0] for k in keys) + "]"
        if explicit:  # {ref}`text <label>`, {term}`text <Term>`: the page shows the text
            return explicit["text"]
        if role == "numref":
            number = self.index.figures.get(content)
            return f"Fig. {number}" if number else content
        if role in ("ref", "doc") and content in self.index.titles:
            return f"*{self.index.titles[content]}*"  # the page links the title
        return content

    def references(self) -> NotebookNode | None:
        """A closing Markdown cell listing the works the cells cited, as the book's
        references page gives them."""
        if not self.cited:
            return None
        lines = [f"- [{label}] {reference}" for label, reference in
                 (self.index.citations.get(key, (key, "(not in the book's bibliography)")) for key in self.cited)]
        return new_markdown_cell("**References**\n\n" + "\n".join(lines))


def _admonition(match: re.Match) -> str:
    """An admonition as a block quote under its title in bold; a dropdown as a closed
    ``<details>`` under its title, as the page folds it (the prose may say to open it)."""
    lines = match["body"].strip("\n").splitlines()
    options = []
    while lines and OPTION_LINE.match(lines[0]):
        options.append(lines.pop(0))
    title = match["title"].strip() or match["kind"].capitalize()
    body = "\n".join(lines).strip("\n")
    if match["kind"] == "dropdown" or "dropdown" in (_option("\n".join(options), "class") or "").split():
        return f"<details>\n<summary><b>{title}</b></summary>\n\n{body}\n\n</details>"
    return "\n".join([f"> **{title}**", ">"] + [f"> {line}".rstrip() for line in body.splitlines()])


def _glossary(body: str) -> str:
    """A glossary (a term, then its indented definition) as one paragraph per term."""
    entries: list[tuple[str, list[str]]] = []
    for line in body.splitlines():
        if OPTION_LINE.match(line) and not entries:
            continue
        if line.strip() and not line[0].isspace():
            entries.append((line.strip(), []))
        elif line.strip() and entries:
            entries[-1][1].append(line.strip())
    return "\n\n".join(f"**{term}**: {' '.join(definition)}" for term, definition in entries)


def render_notebook(notebook: NotebookNode, writer: JupyterMarkdown) -> NotebookNode:
    """``notebook`` with every Markdown cell written by ``writer`` (in place), its figures
    as the cell's attachments."""
    for cell in notebook.cells:
        if cell.cell_type == "markdown":
            cell.source = writer(cell.source)
            if writer.attachments:
                cell.attachments = dict(writer.attachments)
    return notebook
