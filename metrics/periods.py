"""Calendar periods (day, ISO week, month) in a time zone, and the period before each."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

KINDS = ("day", "week", "month")
_AT = {
    "day": re.compile(r"^(\d{4})-(\d{2})-(\d{2})$"),
    "week": re.compile(r"^(\d{4})-W(\d{2})$"),
    "month": re.compile(r"^(\d{4})-(\d{2})$"),
}
AT_FORMS = {"day": "2026-11-20", "week": "2026-W47", "month": "2026-11"}


@dataclass(frozen=True)
class Period:
    """One calendar period: kind and its first day (a Monday for weeks, the 1st for months)."""

    kind: str
    first_day: date

    @property
    def label(self) -> str:
        if self.kind == "day":
            return self.first_day.isoformat()
        if self.kind == "week":
            year, week, _ = self.first_day.isocalendar()
            return f"{year}-W{week:02d}"
        return self.first_day.strftime("%Y-%m")

    def next_first_day(self) -> date:
        if self.kind == "day":
            return self.first_day + timedelta(days=1)
        if self.kind == "week":
            return self.first_day + timedelta(days=7)
        y, m = self.first_day.year, self.first_day.month
        return date(y + (m == 12), m % 12 + 1, 1)

    def previous(self) -> Period:
        if self.kind == "day":
            return Period("day", self.first_day - timedelta(days=1))
        if self.kind == "week":
            return Period("week", self.first_day - timedelta(days=7))
        last = self.first_day - timedelta(days=1)
        return Period("month", last.replace(day=1))

    def following(self) -> Period:
        return Period(self.kind, self.next_first_day())

    def bounds(self, zone: str = "UTC") -> tuple[datetime, datetime]:
        """[start, end) as UTC instants: local midnights of the zone (DST-aware)."""
        tz = ZoneInfo(zone)
        start = datetime.combine(self.first_day, datetime.min.time(), tz)
        end = datetime.combine(self.next_first_day(), datetime.min.time(), tz)
        return start.astimezone(UTC), end.astimezone(UTC)


def containing(kind: str, instant: datetime, zone: str = "UTC") -> Period:
    """The period of `kind` that holds `instant` in the zone's calendar."""
    if kind not in KINDS:
        raise ValueError(f"period must be one of {', '.join(KINDS)}, not {kind!r}")
    local = instant.astimezone(ZoneInfo(zone)).date()
    if kind == "day":
        return Period("day", local)
    if kind == "week":
        return Period("week", local - timedelta(days=local.weekday()))
    return Period("month", local.replace(day=1))


def parse_at(kind: str, text: str) -> Period:
    """`--at`: 2026-11-20 (day), 2026-W47 (ISO week), 2026-11 (month)."""
    if kind not in KINDS:
        raise ValueError(f"period must be one of {', '.join(KINDS)}, not {kind!r}")
    m = _AT[kind].match(text.strip())
    if not m:
        raise ValueError(f"at: {text!r} is not a {kind}; write it as {AT_FORMS[kind]}")
    try:
        if kind == "day":
            return Period("day", date(int(m[1]), int(m[2]), int(m[3])))
        if kind == "week":
            return Period("week", date.fromisocalendar(int(m[1]), int(m[2]), 1))
        return Period("month", date(int(m[1]), int(m[2]), 1))
    except ValueError as exc:
        raise ValueError(f"at: {text!r} is not a {kind} ({exc})") from None


def last_completed(kind: str, instant: datetime, zone: str = "UTC") -> Period:
    """The latest period of `kind` that has ended by `instant`."""
    return containing(kind, instant, zone).previous()


def series(period: Period, count: int) -> list[Period]:
    """`count` periods ending with `period`, oldest first."""
    out = [period]
    while len(out) < count:
        out.append(out[-1].previous())
    return out[::-1]
