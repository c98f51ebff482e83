"""A list as a workbook (metrics.exports.table_xlsx): numbers stay numbers, and text that
looks like a formula stays text."""

from __future__ import annotations

import io

import openpyxl

from metrics.exports import table_xlsx


def test_text_is_never_a_formula_and_numbers_stay_numbers() -> None:
    rows = [
        {"name": '=HYPERLINK("http://evil.example","x")', "volume": 3, "rate": 0.25, "ok": True},
        {"name": "+1-555", "volume": None, "rate": None, "ok": False},
    ]
    data = table_xlsx("portfolio", ("name", "volume", "rate", "ok"), rows, [("as of", "now")])
    book = openpyxl.load_workbook(io.BytesIO(data))
    sheet = book["portfolio"]
    assert [c.value for c in sheet[1]] == ["name", "volume", "rate", "ok"]
    formula = sheet["A2"]
    assert formula.data_type == "s" and formula.value == rows[0]["name"]
    assert sheet["A3"].data_type == "s" and sheet["A3"].value == "+1-555"
    assert (sheet["B2"].value, sheet["C2"].value, sheet["D2"].value) == (3, 0.25, True)
    assert sheet["B3"].value is None and sheet["D3"].value is False
    assert [[c.value for c in r] for r in book["About"].iter_rows()] == [["as of", "now"]]
