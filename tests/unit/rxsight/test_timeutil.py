"""Times as people type them: the site's wall clock, RFC 3339, relative to now; errors that
say which forms work."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest

from rxsight.timeutil import parse_typed_instant

CHICAGO = ZoneInfo("America/Chicago")
NOW = datetime(2026, 12, 7, 12, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("typed", "utc"),
    [
        ("2026-12-05 01:30", datetime(2026, 12, 5, 7, 30, tzinfo=UTC)),  # CST, UTC-6
        ("2026-07-05T01:30:15", datetime(2026, 7, 5, 6, 30, 15, tzinfo=UTC)),  # CDT, UTC-5
        ("2026-12-05", datetime(2026, 12, 5, 6, 0, tzinfo=UTC)),
        ("2026-12-05T01:30:00Z", datetime(2026, 12, 5, 1, 30, tzinfo=UTC)),
        ("2026-12-05T01:30:00-05:00", datetime(2026, 12, 5, 6, 30, tzinfo=UTC)),
        ("now", NOW),
        ("now-24h", datetime(2026, 12, 6, 12, 0, tzinfo=UTC)),
        ("NOW - 30m", datetime(2026, 12, 7, 11, 30, tzinfo=UTC)),
        ("now-2d", datetime(2026, 12, 5, 12, 0, tzinfo=UTC)),
    ],
)
def test_typed_times(typed: str, utc: datetime) -> None:
    assert parse_typed_instant(typed, CHICAGO, NOW) == utc


def test_an_hour_that_happens_twice_is_taken_the_first_time() -> None:
    # 2026-11-01 01:30 happens in CDT and again in CST.
    assert parse_typed_instant("2026-11-01 01:30", CHICAGO, NOW) == datetime(
        2026, 11, 1, 6, 30, tzinfo=UTC
    )


@pytest.mark.parametrize("typed", ["2026-13-45 99:00", "yesterday", "2026-12-05 1:3", "now+1h"])
def test_nonsense_says_which_forms_work(typed: str) -> None:
    with pytest.raises(ValueError) as err:
        parse_typed_instant(typed, CHICAGO, NOW)
    assert repr(typed) in str(err.value)
    if "calendar" not in str(err.value):
        assert "America/Chicago" in str(err.value) and "now-24h" in str(err.value)
