"""The table helper: dashes with reasons instead of nan, tables that fit the page."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from analysis.book import tables
from analysis.evaluation.study import text
from analysis.book.browser_check import page_text_problems


def test_interval_text():
    assert text.interval_text(0.71234, 0.6, 0.8) == "0.712 [0.600, 0.800]"
    assert text.interval_text(0.7, 0.6, 0.8, digits=1) == "0.7 [0.6, 0.8]"
    assert text.interval_text(np.nan, 0.6, 0.8) == tables.DASH
    assert text.interval_text(0.7, np.nan, None) == f"0.700 [{tables.DASH}]"


def test_number_text():
    assert tables.number_text(3) == "3" and tables.number_text(np.int64(12)) == "12"
    assert tables.number_text(0.12345) == "0.123" and tables.number_text(2.0) == "2.000"
    assert tables.number_text(None) == tables.DASH and tables.number_text(pd.NA) == tables.DASH
    assert tables.number_text("resnet18") == "resnet18"


def _gap_change() -> pd.DataFrame:
    return pd.DataFrame({"ensemble": ["soft_vote", "max"], "gap change": [-0.02, 0.01],
                         "reduction (%)": [np.nan, 12.5]})


def test_undefined_values_need_a_reason():
    with pytest.raises(ValueError, match=r"'reduction \(%\)' \(1\).*why="):
        tables.show(_gap_change())
    with pytest.raises(ValueError, match="does not have"):
        tables.show(_gap_change(), why={"no such column": "x"})


def test_undefined_value_shows_a_dash_and_its_note():
    reason = "the best member's gap is not above zero, so there is nothing to reduce"
    shown = tables.show(_gap_change(), why={"reduction (%)": reason}, formats={"reduction (%)": "{:.1f}"})
    (part,) = shown.parts
    assert list(part["reduction (%)"]) == [tables.DASH + "a", "12.5"]
    assert list(part["gap change"]) == ["-0.020", "0.010"]
    page = f"<html><body><div class='cell_output'>{shown._repr_html_()}</div></body></html>"
    assert f"{tables.DASH}<sup>a</sup>" in page and reason in page
    assert page_text_problems(page) == []
    assert "nan" not in repr(shown).lower().replace("nanoGPT", "")


def test_a_cell_holding_one_number_stays_on_one_line_and_a_phrase_may_wrap():
    table = pd.DataFrame({"quantity": ["gap change: a long name"], "min": [-0.0101], "share": ["12.5 %"],
                          "range": ["0.035 to 0.069"]})
    page = tables.show(table)._repr_html_()
    nowrap = '<td style="white-space: nowrap">'
    assert f"{nowrap}-0.010</td>" in page and f"{nowrap}12.5 %</td>" in page
    assert "<td>gap change: a long name</td>" in page and "<td>0.035 to 0.069</td>" in page


def test_two_reasons_get_two_notes():
    table = pd.DataFrame({"model": ["a", "b"], "x": [np.nan, 1.0], "y": [None, np.nan]})
    shown = tables.show(table, why={"x": "no validation reals", "y": "image input only"})
    assert shown.notes == {"a": "no validation reals", "b": "image input only"}
    assert list(shown.parts[0]["y"]) == [tables.DASH + "b", tables.DASH + "b"]


def test_wide_table_with_many_rows_is_split_and_repeats_its_keys():
    columns = {f"cross-domain AUC of view {i}": np.linspace(0.5, 0.9, 6) for i in range(6)}
    table = pd.DataFrame({"model": [f"m{i}" for i in range(6)], **columns})
    shown = tables.show(table, width=90)
    assert len(shown.parts) > 1
    assert all(part.columns[0] == "model" for part in shown.parts)
    assert sum(len(part.columns) - 1 for part in shown.parts) == 6
    assert all(tables._width(part) <= 90 for part in shown.parts)
    assert shown._repr_html_().count("<table") == len(shown.parts)
    assert 'white-space: nowrap' in shown._repr_html_()


def test_wide_table_with_few_rows_is_transposed():
    table = pd.DataFrame({"set": ["in-domain", "cross-domain"],
                          **{f"a rather long metric name {i}": [0.5, 0.6] for i in range(5)}})
    (part,) = tables.show(table, width=60).parts
    assert list(part.columns) == ["set", "in-domain", "cross-domain"]
    assert part["set"].iloc[0] == "a rather long metric name 0"


def test_narrow_table_is_left_alone():
    table = pd.DataFrame({"model": ["a"], "auc": [0.5]})
    (part,) = tables.show(table).parts
    assert list(part.columns) == ["model", "auc"]


def test_bad_input_is_refused():
    with pytest.raises(TypeError, match="DataFrame"):
        tables.show([1, 2])
    with pytest.raises(ValueError, match="empty"):
        tables.show(pd.DataFrame())
    with pytest.raises(ValueError, match="keys"):
        tables.show(pd.DataFrame({"a": [1]}), keys=["b"])


def test_long_cell_text_wraps_in_its_cell_instead_of_splitting_the_table():
    table = pd.DataFrame({"model": ["a", "b"], "note": ["a long explanation " * 10, "short"], "auc": [0.5, 0.6]})
    (part,) = tables.show(table, width=60).parts
    assert list(part.columns) == ["model", "note", "auc"]
    unbreakable = table.assign(note=["vit_base_patch16_224.augreg2_in21k_ft_in1k", "x"])
    assert len(tables.show(unbreakable, width=50).parts) == 2  # a name cannot wrap
