"""Time parsing and formatting shared by every stage: UTC inside, RFC 3339 at the edges.
The one RFC 3339 parser of the project is `parse_rfc3339`."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any


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
