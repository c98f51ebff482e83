"""Calendar periods: local midnights per zone (DST included), ISO weeks, previous periods."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from metrics.periods import Period, containing, parse_at, series


def test_month_in_a_zone_starts_at_local_midnight_across_dst() -> None:
    # November 2026 in New York: starts on EDT (UTC-4), ends on EST (UTC-5).
    start, end = parse_at("month", "2026-11").bounds("America/New_York")
    assert start == datetime(2026, 11, 1, 4, 0, tzinfo=UTC)
    assert end == datetime(2026, 12, 1, 5, 0, tzinfo=UTC)
    assert (end - start).total_seconds() == 30 * 86400 + 3600


def test_iso_week_runs_monday_to_monday_and_crosses_the_year() -> None:
    week = parse_at("week", "2026-W53")
    assert week.first_day == date(2026, 12, 28)
    assert week.following().label == "2027-W01"
    assert containing("week", datetime(2027, 1, 3, 23, 0, tzinfo=UTC)).label == "2026-W53"


def test_previous_periods() -> None:
    assert Period("month", date(2026, 1, 1)).previous().label == "2025-12"
    assert Period("day", date(2026, 3, 1)).previous().label == "2026-02-28"
    assert Period("week", date(2026, 11, 16)).previous().label == "2026-W46"
    assert [p.label for p in series(Period("month", date(2026, 2, 1)), 3)] == [
        "2025-12",
        "2026-01",
        "2026-02",
    ]


def test_the_containing_day_depends_on_the_zone() -> None:
    instant = datetime(2026, 11, 20, 3, 0, tzinfo=UTC)
    assert containing("day", instant).label == "2026-11-20"
    assert containing("day", instant, "America/Los_Angeles").label == "2026-11-19"


@pytest.mark.parametrize(
    ("kind", "text", "message"),
    [
        ("month", "2026-13", "is not a month"),
        ("month", "11/2026", "write it as 2026-11"),
        ("week", "2026-W54", "is not a week"),
        ("quarter", "2026-Q1", "period must be one of"),
    ],
)
def test_bad_at_is_refused_with_the_reason(kind: str, text: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        parse_at(kind, text)
