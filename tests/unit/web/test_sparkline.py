"""The server-drawn sparkline: a period without data is a gap in the line, not a zero."""

from __future__ import annotations

import xml.etree.ElementTree as ET

from web.sparkline import sparkline


def _shapes(markup: str) -> tuple[list[list[tuple[float, float]]], list[tuple[float, float]]]:
    root = ET.fromstring(str(markup))
    lines = [
        [tuple(map(float, p.split(","))) for p in line.get("points", "").split()]
        for line in root.iter("polyline")
    ]
    dots = [
        (float(c.get("cx", "")), float(c.get("cy", "")))
        for c in root.iter("circle")
        if c.get("class") == "spark-dot"
    ]
    return lines, dots  # type: ignore[return-value]


def test_values_with_no_gap_are_one_line_through_every_point() -> None:
    lines, dots = _shapes(sparkline([1.0, 2.0, 4.0], width=20, height=10))
    assert len(lines) == 1 and not dots
    assert [x for x, _ in lines[0]] == [0.0, 10.0, 20.0]
    # The highest value at the top, the others in proportion (2 px padding).
    assert [y for _, y in lines[0]] == [6.5, 5.0, 2.0]


def test_an_empty_period_breaks_the_line_instead_of_dropping_to_zero() -> None:
    values = [0.5, 0.75, None, 1.0, 0.5, None, None, 0.25]
    lines, dots = _shapes(sparkline(values, width=70, height=10))
    # Two stretches with data are lines; the value alone at the end is a dot.
    assert [[x for x, _ in line] for line in lines] == [[0.0, 10.0], [30.0, 40.0]]
    assert [x for x, _ in dots] == [70.0]
    drawn = {x for line in lines for x, _ in line} | {x for x, _ in dots}
    assert 20.0 not in drawn and 50.0 not in drawn and 60.0 not in drawn
    # A real zero is still drawn, at the bottom.
    lines, _ = _shapes(sparkline([0.0, 1.0], width=10, height=10))
    assert lines[0][0] == (0.0, 8.0)


def test_nothing_but_gaps_draws_no_line() -> None:
    lines, dots = _shapes(sparkline([None, None], width=10, height=10))
    assert lines == [] and dots == []
