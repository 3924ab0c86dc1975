"""Tables as a reader sees them on a page of the book.

A chapter passes a table of numbers to :func:`show` and gets back what the page shows:
numbers rounded, an undefined value as a dash with a lettered note that says why (a table
with an undefined value and no reason is an error, so no ``nan`` reaches a page), headers
that never wrap, and a table too wide for the page's content column split into parts that
repeat the label columns, or, when it has only a few rows, transposed. The numbers
themselves stay in the CSV files the chapters write.
"""

from __future__ import annotations

import html
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from numbers import Integral, Real

import pandas as pd

from analysis.evaluation.study.text import DASH, is_undefined

PAGE_CHARACTERS = 90  # characters of table text that fit the book's content column
CELL_PADDING = 3  # characters of padding and border per column
CELL_WRAP_CHARACTERS = 30  # a longer cell text wraps inside its cell; only headers must not
TRANSPOSE_MAX_ROWS = 4  # a wide table with at most this many rows reads better transposed
NOTE_MARKERS = "abcdefghijklmnopqrstuvwxyz"

Formatter = str | Callable[[object], str]


def number_text(value: object, digits: int = 3) -> str:
    """A number as a table shows it (integers whole, reals to ``digits`` decimals); a dash
    if undefined."""
    if is_undefined(value):
        return DASH
    if isinstance(value, bool) or not isinstance(value, Real):
        return str(value)
    if isinstance(value, Integral) or (float(value).is_integer() and abs(value) >= 10 ** digits):
        return f"{int(value)}"
    return f"{float(value):.{digits}f}"


@dataclass
class Table:
    """One table as it is shown: one or more parts (strings only) and the notes that
    explain their dashes. Jupyter and the book render it through ``_repr_html_``."""

    parts: list[pd.DataFrame]
    notes: dict[str, str] = field(default_factory=dict)  # marker -> why
    caption: str | None = None

    def _repr_html_(self) -> str:
        blocks = []
        if self.caption:
            blocks.append(f"<p><strong>{html.escape(self.caption, quote=False)}</strong></p>")
        for part in self.parts:
            header = "".join(f'<th style="white-space: nowrap">{html.escape(str(c), quote=False)}</th>' for c in part.columns)
            rows = "".join("<tr>" + "".join(f"<td{_NOWRAP if _NUMBER.fullmatch(v) else ''}>{_cell_html(v)}</td>"
                                            for v in row) + "</tr>"
                           for row in part.itertuples(index=False))
            blocks.append(f'<table class="table"><thead><tr>{header}</tr></thead><tbody>{rows}</tbody></table>')
        for marker, why in self.notes.items():
            blocks.append(f"<p><small>{DASH}<sup>{marker}</sup> {html.escape(why, quote=False)}</small></p>")
        return "\n".join(blocks)

    def __repr__(self) -> str:
        text = [self.caption] if self.caption else []
        text += [part.to_string(index=False) for part in self.parts]
        text += [f"{DASH}{marker}: {why}" for marker, why in self.notes.items()]
        return "\n\n".join(text)


# a cell that holds one number stays on one line: a narrow column would otherwise break
# "-0.010" after its sign
_NUMBER = re.compile(r"[+\-\u2212]?\d[\d,]*(\.\d+)?( ?%)?")
_NOWRAP = ' style="white-space: nowrap"'


def _cell_html(value: str) -> str:
    """A cell's text; a dash keeps its note marker as a superscript."""
    if value.startswith(DASH) and value[len(DASH):] in NOTE_MARKERS:
        return f"{DASH}<sup>{value[len(DASH):]}</sup>" if len(value) > len(DASH) else DASH
    return html.escape(value, quote=False)


def _reasons(table: pd.DataFrame, why: str | Mapping[str, str] | None) -> dict[str, str]:
    """The reason for each column's undefined values; raises if one has none."""
    undefined = {c: int(table[c].map(is_undefined).sum()) for c in table.columns}
    undefined = {c: n for c, n in undefined.items() if n}
    if isinstance(why, str):
        return {c: why for c in undefined}
    why = dict(why or {})
    unknown = set(why) - set(table.columns)
    if unknown:
        raise ValueError(f"why= names columns the table does not have: {sorted(unknown)}; "
                         f"columns are {list(table.columns)}.")
    missing = {c: n for c, n in undefined.items() if c not in why}
    if missing:
        listing = ", ".join(f"{c!r} ({n})" for c, n in missing.items())
        raise ValueError(f"Undefined values in column(s) {listing} and no reason given: pass "
                         "why={column: 'why it is undefined'} (or one string for all) so the page "
                         "says why instead of showing nan.")
    return {c: why[c] for c in undefined}


def _cell_width(text: str) -> int:
    """Characters a cell needs: a long text wraps between words, never inside one."""
    return max(min(len(text), CELL_WRAP_CHARACTERS), *(len(word) for word in text.split()), 0)


def _width(table: pd.DataFrame) -> int:
    """Characters a table needs when no header wraps (long cell texts may wrap)."""
    return sum(max([len(str(c)), *(_cell_width(v) for v in table[c])]) + CELL_PADDING for c in table.columns)


def _split(table: pd.DataFrame, keys: list[str], width: int) -> list[pd.DataFrame]:
    """Column groups that each fit ``width`` next to the ``keys`` columns."""
    key_width = _width(table[keys]) if keys else 0
    parts: list[list[str]] = [[]]
    used = key_width
    for column in (c for c in table.columns if c not in keys):
        need = _width(table[[column]])
        if parts[-1] and used + need > width:
            parts.append([])
            used = key_width
        parts[-1].append(column)
        used += need
    return [table[keys + part] for part in parts]


def show(table: pd.DataFrame, *, why: str | Mapping[str, str] | None = None, digits: int = 3,
         formats: Mapping[str, Formatter] | None = None, keys: Sequence[str] | None = None,
         width: int = PAGE_CHARACTERS, caption: str | None = None) -> Table:
    """The table as the page shows it.

    Parameters
    ----------
    table : DataFrame
        The numbers (its index is dropped: put labels in columns).
    why : str or mapping of column -> str, optional
        Why values are undefined, per column or one reason for all. Required for every
        column that has an undefined value (NaN, None, ``pd.NA`` or a dash).
    digits : int, default=3
        Decimals of real numbers, unless ``formats`` says otherwise.
    formats : mapping of column -> format string or callable, optional
        For example ``{"face rate": "{:.1%}"}``.
    keys : sequence of str, optional
        Label columns repeated in every part of a split table (default: the first column).
    width : int, default=PAGE_CHARACTERS
        Characters of table text that fit the page.
    caption : str, optional
        A bold line above the table.
    """
    if not isinstance(table, pd.DataFrame):
        raise TypeError(f"show() takes a DataFrame, got {type(table).__name__}.")
    if table.empty:
        raise ValueError("show() got an empty table: say in the text why there is nothing to show.")
    table = table.reset_index(drop=True)
    table.columns = [str(c) for c in table.columns]
    keys = list(keys) if keys is not None else [table.columns[0]]
    if set(keys) - set(table.columns):
        raise ValueError(f"keys {sorted(set(keys) - set(table.columns))} are not columns of the table.")
    reasons = _reasons(table, why)
    markers = {reason: NOTE_MARKERS[i] for i, reason in enumerate(dict.fromkeys(reasons.values()))}
    formats = dict(formats or {})
    shown = pd.DataFrame(index=table.index)
    for column in table.columns:
        formatter = formats.get(column)
        texts = []
        for value in table[column]:
            if is_undefined(value):
                texts.append(DASH + markers[reasons[column]])
            elif callable(formatter):
                texts.append(formatter(value))
            elif formatter is not None:
                texts.append(formatter.format(value))
            else:
                texts.append(number_text(value, digits))
        shown[column] = texts
    notes = {marker: reason for reason, marker in markers.items()}
    if _width(shown) <= width:
        return Table([shown], notes, caption)
    if len(shown) <= TRANSPOSE_MAX_ROWS and len(keys) == 1 and shown[keys[0]].is_unique:
        transposed = shown.set_index(keys[0]).T.reset_index(names=keys[0])
        if _width(transposed) <= width:
            return Table([transposed], notes, caption)
    return Table(_split(shown, keys, width), notes, caption)

