"""Time parsing and formatting shared by every stage: UTC inside, RFC 3339 at the edges.
The one RFC 3339 parser of the project is `parse_rfc3339`."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo


def parse_rfc3339(v: Any) -> datetime:
    """RFC 3339 with an offset; naive times are ambiguous across sites, so they are refused."""
    if isinstance(v, datetime):
        dt = v
    elif isinstance(v, str):
        try:
            dt = datetime.fromisoformat(v.replace("Z", "+00:00").replace("z", "+00:00"))
        except ValueError as exc:
            raise ValueError(f"not an RFC 3339 timestamp: {v[:64]!r}") from exc
    else:
        raise ValueError("must be an RFC 3339 timestamp string")
    if dt.tzinfo is None:
        raise ValueError("RFC 3339 timestamp needs a UTC offset or Z")
    try:
        return dt.astimezone(UTC)
    except OverflowError:
        # An offset can carry 0001-01-01 or 9999-12-31 beyond what a datetime holds in UTC.
        raise ValueError("RFC 3339 timestamp out of range") from None


def utcnow() -> datetime:
    return datetime.now(UTC)


def as_utc(dt: datetime) -> datetime:
    """ClickHouse hands back naive datetimes for zone-less columns; they are UTC here."""
    return dt.replace(tzinfo=UTC) if dt.tzinfo is None else dt.astimezone(UTC)


def rfc3339(dt: datetime | None) -> str | None:
    if dt is None:
        return None
    return as_utc(dt).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def parse_instant(value: str | None) -> datetime:
    """`as_of` style parameters: RFC 3339, or None for now."""
    return utcnow() if not value else parse_rfc3339(value)


# Relative ranges a person picks ("last 24 h"), as offered by the console's time control.
RANGES = {
    "1h": timedelta(hours=1),
    "4h": timedelta(hours=4),
    "24h": timedelta(days=1),
    "72h": timedelta(days=3),
    "7d": timedelta(days=7),
    "30d": timedelta(days=30),
}
_TYPED = re.compile(r"^(\d{4}-\d{2}-\d{2})(?:[ T](\d{1,2}):(\d{2})(?::(\d{2}))?)?$")
_RELATIVE = re.compile(r"^now\s*-\s*(\d+)\s*([mhd])$")


def parse_typed_instant(text: str, zone: ZoneInfo, now: datetime | None = None) -> datetime:
    """What a person types for an instant: RFC 3339 (with its offset), a wall-clock time
    in `zone` ("2026-12-05 01:30", "2026-12-05T01:30:15", "2026-12-05" for midnight), or
    "now" / "now-6h" / "now-2d" / "now-30m". ValueError says which forms work."""
    value = text.strip()
    now = now or utcnow()
    if value.lower() == "now":
        return now
    rel = _RELATIVE.match(value.lower())
    if rel:
        n, unit = int(rel.group(1)), rel.group(2)
        return (
            now - {"m": timedelta(minutes=n), "h": timedelta(hours=n), "d": timedelta(days=n)}[unit]
        )
    typed = _TYPED.match(value)
    if typed:
        day, hour, minute, second = typed.groups()
        try:
            local = datetime.fromisoformat(day).replace(
                hour=int(hour or 0), minute=int(minute or 0), second=int(second or 0)
            )
        except ValueError as exc:
            raise ValueError(f"{value!r} is not a calendar time: {exc}") from None
        # A wall-clock time that happens twice (DST ends) is taken the first time.
        return local.replace(tzinfo=zone, fold=0).astimezone(UTC)
    try:
        return parse_rfc3339(value)
    except ValueError:
        raise ValueError(
            f"{value!r} is not a time: use 2026-12-05 01:30 ({zone.key}), "
            "RFC 3339 like 2026-12-05T07:30:00Z, or now-24h"
        ) from None


def summary_time(value: Any) -> str:
    """A store time in a sentence: to the second, zone named (never raw nanoseconds)."""
    text = str(value or "").replace("T", " ").removesuffix("Z")
    return f"{text[:19]} UTC" if len(text) >= 19 else text


def jsonable(value: Any) -> Any:
    """Store values for JSON: decimals as strings (money stays exact), times as RFC 3339."""
    if isinstance(value, datetime):
        return rfc3339(value)
    if isinstance(value, Decimal):
        return format(value.normalize(), "f")
    if isinstance(value, dict):
        return {k: jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [jsonable(v) for v in value]
    return value
