"""Events as integrations send them and the model's verdict on them: what the tests of the
event rows (rxsight.event_rows) and of the collector's body decoding compare with."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import msgspec
from hypothesis import strategies as st

from rxsight.event_rows import EventLimits, EventRow, event_row
from rxsight.model import validate_event

LIMITS = {"custom_event_types": ("custom.audit",), "max_lines": 3, "max_attributes": 2}


def row_limits(limits: dict[str, Any]) -> EventLimits:
    return EventLimits(
        frozenset(limits.get("custom_event_types", ())),
        limits.get("max_lines", 1000),
        limits.get("max_attributes", 128),
    )


def event_fields(obj: Any, **limits: Any) -> dict[str, Any]:
    """A row as the model dumps an event: its fields, lines as dicts."""
    return row_fields(event_row(obj, row_limits(limits)))


def canonical(value: Any) -> Any:
    # Sorted, and leaves as repr, so that Decimal("1.50") and Decimal("1.5"), or two time
    # zones, tell apart; the order of keys means nothing.
    if isinstance(value, dict):
        return sorted((key, canonical(v)) for key, v in value.items())
    if isinstance(value, list):
        return [canonical(v) for v in value]
    return repr(value)


def outcome(validate: Any, obj: Any, limits: dict[str, Any]) -> tuple[str, Any]:
    try:
        return "accepted", canonical(validate(obj, **limits))
    except ValueError as exc:
        return "rejected", str(exc)


def model_outcome(obj: Any, limits: dict[str, Any]) -> tuple[str, Any]:
    """What the pydantic model makes of an event: accepted (its fields) or the rejection."""
    return outcome(lambda o, **kw: validate_event(o, **kw).model_dump(), obj, limits)


def assert_alike(obj: Any, limits: dict[str, Any] | None = None) -> None:
    limits = limits or {}
    want = model_outcome(obj, limits)
    assert outcome(event_fields, obj, limits) == want


def minimal_event(**fields: Any) -> dict[str, Any]:
    event = {
        "event_id": "ev-1",
        "event_type": "po.created",
        "occurred_at": "2026-11-20T10:00:00Z",
        "correlation_id": "corr-1",
        "source_system": "erp",
    }
    event.update(fields)
    return event


def _timestamps() -> st.SearchStrategy[str]:
    return st.builds(
        lambda d, spec, z: d.isoformat(timespec=spec).replace("+00:00", z),
        st.datetimes(
            datetime(1900, 1, 1),
            datetime(2100, 1, 1),
            timezones=st.sampled_from([UTC, timezone(timedelta(hours=-5, minutes=-30))]),
        ),
        st.sampled_from(["seconds", "milliseconds", "microseconds"]),
        st.sampled_from(["Z", "z", "+00:00"]),
    )


_money = st.one_of(
    st.integers(-(10**14) + 1, 10**14 - 1),
    st.decimals(-(10**9), 10**9, places=2).map(float),
    st.decimals(-(10**14) + 1, 10**14 - 1, places=4).map(str),
)


_ids = st.text(min_size=1, max_size=8)


# Events the model accepts, in the shapes integrations send: their body is decoded whole.
valid_events = st.fixed_dictionaries(
    {
        "event_id": _ids,
        "event_type": st.sampled_from(["po.created", "invoice.received", "custom.audit"]),
        "occurred_at": _timestamps(),
        "correlation_id": _ids,
        "source_system": st.sampled_from(["erp", "x" * 256]),
    },
    optional={
        "site": st.one_of(st.none(), st.text(max_size=6)),
        "domain": st.sampled_from(["pharmacy", "supply", "finance", None]),
        "amount": st.one_of(st.none(), _money),
        "currency": st.sampled_from(["EUR", "USD"]),
        "priority": st.sampled_from(["urgent", "stat", None]),
        "promised_at": st.one_of(st.none(), _timestamps()),
        "lines": st.lists(
            st.fixed_dictionaries(
                {},
                optional={
                    "line_no": st.one_of(st.none(), st.integers(0, 1_000_000)),
                    "item_id": st.text(max_size=8),
                    "quantity": _money,
                    "unit_price": st.one_of(st.none(), _money),
                    "uom": st.sampled_from(["EA", "x" * 32]),
                },
            ),
            max_size=3,
        ),
        "attributes": st.dictionaries(st.text(max_size=4), st.text(max_size=4), max_size=2),
    },
)


def row_fields(row: EventRow) -> dict[str, Any]:
    fields = msgspec.structs.asdict(row)
    fields["lines"] = [msgspec.structs.asdict(line) for line in row.lines]
    return fields
