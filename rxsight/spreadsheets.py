"""Text bound for someone's spreadsheet: a cell that a spreadsheet would run as a formula (=, +,
-, @, tab, CR) starts with a quote instead, so integration data never becomes a formula
(OWASP CSV injection). One rule for every download and export (console lists, month end)."""

from __future__ import annotations

_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def inert_text(value: str) -> str:
    """`value`, quoted when it would start a formula; numbers keep their sign."""
    if value.startswith(_FORMULA_START):
        try:
            float(value)
        except ValueError:
            return "'" + value
    return value
