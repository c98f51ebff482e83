"""event_row and whole-body rows: exactly validate_event's outcome (the pydantic model's),
accepted values and rejection messages alike; events_table reads rows as it reads models."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

import msgspec
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from collector.events import decode_rows, events_table, split_body
from rxsight.event_rows import EventLimits, EventLineRow, EventRow, EventRowDecoder, event_row
from rxsight.model import BusinessEvent, EventLine, validate_event

LIMITS = {"custom_event_types": ("custom.audit",), "max_lines": 3, "max_attributes": 2}


def _row_limits(limits: dict[str, Any]) -> EventLimits:
    return EventLimits(
        frozenset(limits.get("custom_event_types", ())),
        limits.get("max_lines", 1000),
        limits.get("max_attributes", 128),
    )


def event_fields(obj: Any, **limits: Any) -> dict[str, Any]:
    """A row as the model dumps an event: its fields, lines as dicts."""
    return row_fields(event_row(obj, _row_limits(limits)))


def _canonical(value: Any) -> Any:
    # Sorted, and leaves as repr, so that Decimal("1.50") and Decimal("1.5"), or two time
    # zones, tell apart; the order of keys means nothing.
    if isinstance(value, dict):
        return sorted((key, _canonical(v)) for key, v in value.items())
    if isinstance(value, list):
        return [_canonical(v) for v in value]
    return repr(value)


def _outcome(validate: Any, obj: Any, limits: dict[str, Any]) -> tuple[str, Any]:
    try:
        return "accepted", _canonical(validate(obj, **limits))
    except ValueError as exc:
        return "rejected", str(exc)


def _assert_alike(obj: Any, limits: dict[str, Any] | None = None) -> None:
    limits = limits or {}
    want = _outcome(lambda o, **kw: validate_event(o, **kw).model_dump(), obj, limits)
    assert _outcome(event_fields, obj, limits) == want


def _event(**fields: Any) -> dict[str, Any]:
    event = {
        "event_id": "ev-1",
        "event_type": "po.created",
        "occurred_at": "2026-11-20T10:00:00Z",
        "correlation_id": "corr-1",
        "source_system": "erp",
    }
    event.update(fields)
    return event


ODD_VALUES: list[Any] = [
    None,
    "",
    " ",
    "x" * 256,
    "x" * 257,
    0,
    -3,
    1.5,
    17.5,
    1e-5,
    1e20,
    True,
    [],
    {},
    ["a"],
    {"a": 1},
    "2026-11-20T10:00:00",  # naive
    "2026-11-20T10:00:00+02:00",
    "2026-11-20t10:00:00z",
    "2026-11-20",
    "0002-01-01T00:00:00+01:00",
    "1.2345",
    "1.23456",
    "1.50000",
    "12345678901234.9999",
    "123456789012345",
    "00000000000000001",
    "1e3",
    " 12.5 ",
    "NaN",
    "-Infinity",
    "-0",
    "+5",
    "1_000",
    "٣",
    10**14,
    10**14 - 1,
    -(10**14) + 1,
    "USD",
    "usd",
    "USD\n",
    "EURO",
    "pharmacy",
    "stat",
    "Stat",
    "po.teleported",
    "custom.audit",
]
FIELDS = [*BusinessEvent.model_fields, "no_such_field"]


@pytest.mark.parametrize("field", FIELDS)
def test_every_field_with_odd_values_or_missing(field):
    for value in ODD_VALUES:
        _assert_alike(_event(**{field: value}))
        _assert_alike(_event(**{field: value}), LIMITS)
    missing = _event()
    missing.pop(field, None)
    _assert_alike(missing)


LINE_FIELDS = ["line_no", "item_id", "quantity", "unit_price", "uom", "no_such_field"]
ODD_LINE_VALUES: list[Any] = [
    None,
    0,
    1,
    1_000_000,
    1_000_001,
    -1,
    "3",
    2.0,
    True,
    "",
    "x" * 32,
    "x" * 33,
    "x" * 257,
    "4.5",
    "1.23456",
    [],
]


@pytest.mark.parametrize("field", LINE_FIELDS)
def test_every_line_field_with_odd_values(field):
    for value in ODD_LINE_VALUES:
        line = {"item_id": "NDC-1", "quantity": 2, field: value}
        _assert_alike(_event(lines=[line, {"quantity": "1.5"}, {}]))


@pytest.mark.parametrize(
    "obj",
    [
        _event(lines=[{}] * 1000),
        _event(lines=[{}] * 1001),
        _event(lines=[{"line_no": 5}, {}, {"line_no": None}]),
        _event(lines="x"),
        _event(lines=[1]),
        _event(attributes={f"k{i}": "v" for i in range(128)}),
        _event(attributes={f"k{i}": "v" for i in range(129)}),
        _event(attributes={"k" * 257: "v"}),
        _event(attributes={"k": 1}),
        _event(attributes={"patient.name": "Jane", "note": "SSN 123-45-6789"}),
        _event(quantity="1.5", unit_price=2, amount="-0.0001", currency="EUR"),
        _event(expected_at="2026-11-20T10:00:00.123456+05:30", due_at=None),
        [_event()],
        "an event",
        None,
    ],
)
def test_shapes_and_limits(obj):
    _assert_alike(obj)
    _assert_alike(obj, LIMITS)


json_scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(10**16), max_value=10**16),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=12),
    st.sampled_from(ODD_VALUES[:30]),
)
valid_line = st.fixed_dictionaries(
    {},
    optional={
        "line_no": st.one_of(st.integers(0, 5), json_scalars),
        "item_id": st.one_of(st.text(max_size=8), json_scalars),
        "quantity": st.one_of(st.integers(0, 50), st.sampled_from(["1.5", "2"]), json_scalars),
        "unit_price": st.one_of(st.sampled_from(["48.08", "0.0001"]), json_scalars),
        "uom": st.one_of(st.sampled_from(["EA", "BX"]), json_scalars),
    },
)
events = st.fixed_dictionaries(
    {
        "event_id": st.one_of(st.just("ev-1"), st.just("ev-2"), json_scalars),
        "event_type": st.one_of(st.sampled_from(["po.created", "goods.received"]), json_scalars),
        "occurred_at": st.one_of(st.just("2026-11-20T10:00:00Z"), json_scalars),
        "correlation_id": st.one_of(st.just("c-1"), st.just("c-2"), json_scalars),
        "source_system": st.one_of(st.just("erp"), st.just("dock"), json_scalars),
    },
    optional={
        "site": st.one_of(st.just("mercy-main"), json_scalars),
        "domain": st.one_of(st.sampled_from(["pharmacy", "finance"]), json_scalars),
        "quantity": st.one_of(st.integers(0, 99), json_scalars),
        "amount": st.one_of(st.sampled_from(["12.50", "-3"]), json_scalars),
        "currency": st.one_of(st.just("EUR"), json_scalars),
        "priority": st.one_of(st.just("urgent"), json_scalars),
        "due_at": st.one_of(st.just("2026-12-01T00:00:00-05:00"), json_scalars),
        "lines": st.one_of(st.lists(valid_line, max_size=4), json_scalars),
        "attributes": st.one_of(
            st.dictionaries(st.text(max_size=4), st.text(max_size=4), max_size=3), json_scalars
        ),
        "extra": json_scalars,
    },
)


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


@settings(max_examples=400, deadline=None, suppress_health_check=list(HealthCheck))
@given(obj=st.one_of(events, valid_events))
def test_any_event_gets_the_models_outcome(obj):
    _assert_alike(obj)
    _assert_alike(obj, LIMITS)


def test_events_table_holds_the_models_values():
    objs = [
        _event(),
        _event(
            event_id="ev-2",
            site="mercy-east",
            quantity=3,
            amount="10.25",
            due_at="2026-12-01T00:00:00-05:00",
            lines=[{"item_id": "NDC-1", "quantity": "2.5", "unit_price": 4}, {"uom": "EA"}],
            attributes={"note": "x"},
        ),
    ]
    table = events_table([event_row(obj) for obj in objs])
    for obj, stored in zip(objs, table.to_pylist(), strict=True):
        event = validate_event(obj)
        # Absent values are stored as null, or as '' in string columns.
        for name in BusinessEvent.model_fields.keys() - {"lines", "attributes"}:
            value, got = getattr(event, name), stored[name]
            assert got == ("" if value is None and isinstance(got, str) else value), name
        for name in EventLine.model_fields:
            values, got = [getattr(line, name) for line in event.lines], stored[f"lines.{name}"]
            assert got == [
                "" if v is None and isinstance(g, str) else v
                for v, g in zip(values, got, strict=True)
            ], name
        assert dict(stored["attributes"]) == event.attributes
    assert table.column("lines.quantity").to_pylist() == [[], [Decimal("2.5"), None]]
    assert table.column("lines.line_no").to_pylist() == [[], [1, 2]]


@pytest.mark.parametrize(
    ("value", "error"),
    [
        ("1.23456", "amount: more than 4 decimal places"),
        ("1.50000", "amount: more than 4 decimal places"),
        (1e-5, "amount: more than 4 decimal places"),
        ("123456789012345", "amount: too large (at most 14 digits before the decimal point)"),
        (10**14, "amount: too large (at most 14 digits before the decimal point)"),
        ("-100000000000000.5", "amount: too large (at most 14 digits before the decimal point)"),
        (True, "amount: must be a decimal number, not a boolean"),
        ("NaN", "amount: must be a finite decimal number"),
        ("12,5", "amount: not a decimal number: '12,5'"),
    ],
)
def test_decimals_beyond_the_store_are_rejected_never_rounded(value, error):
    with pytest.raises(ValueError, match=f"^{re.escape(error)}$"):
        event_fields(_event(amount=value))


@pytest.mark.parametrize(
    ("value", "stored"),
    [
        ("99999999999999.9999", Decimal("99999999999999.9999")),
        ("-0.0001", Decimal("-0.0001")),
        (" 12.5 ", Decimal("12.5")),
        (17.5, Decimal("17.5")),
        (-(10**14) + 1, Decimal(-(10**14) + 1)),
    ],
)
def test_decimals_within_the_store_are_kept_exactly(value, stored):
    assert repr(event_fields(_event(amount=value))["amount"]) == repr(stored)


def test_rows_have_every_field_of_the_model():
    # A field added to BusinessEvent or EventLine but not to the rows would be refused by the
    # rows' decoder and then dropped when the model's event becomes a row.
    assert set(EventRow.__struct_fields__) == set(BusinessEvent.model_fields)
    assert set(EventLineRow.__struct_fields__) == set(EventLine.model_fields)


@settings(max_examples=300, deadline=None, suppress_health_check=list(HealthCheck))
@given(objs=st.lists(valid_events, min_size=1, max_size=3))
def test_a_valid_body_is_decoded_whole_to_what_the_model_makes_of_each_event(objs):
    body = json.dumps(objs).encode()
    rows = decode_rows(body, "application/json", EventRowDecoder(_row_limits(LIMITS)))
    assert rows is not None
    assert len(rows) == len(objs)
    for obj, row in zip(objs, rows, strict=True):
        want = _outcome(lambda o, **kw: validate_event(o, **kw).model_dump(), obj, LIMITS)
        assert want == ("accepted", _canonical(row_fields(row)))


def row_fields(row: EventRow) -> dict[str, Any]:
    fields = msgspec.structs.asdict(row)
    fields["lines"] = [msgspec.structs.asdict(line) for line in row.lines]
    return fields


USUAL = [
    _event(
        event_id=f"ev-{i}",
        site="mercy-main",
        supplier_id="SUP-1",
        po_number="PO-1",
        lines=[{"line_no": 1, "item_id": "NDC-1", "quantity": 12, "unit_price": "49.25"}],
    )
    for i in range(3)
]


@pytest.mark.parametrize(
    ("body", "content_type"),
    [
        (json.dumps(USUAL), "application/json"),
        (json.dumps(USUAL), "application/x-ndjson"),
        (json.dumps(USUAL[0]), "application/json"),
        (json.dumps(USUAL[0]), ""),
        ("\n".join(json.dumps(e) for e in USUAL), "application/x-ndjson"),
        ("\n\n".join(json.dumps(e) for e in USUAL) + "\n", "application/jsonl; charset=utf-8"),
    ],
)
def test_the_usual_bodies_are_decoded_whole_as_split_body_reads_them(body, content_type):
    rows = decode_rows(body.encode(), content_type, EventRowDecoder())
    assert rows is not None, "the usual request should not go item by item"
    items = split_body(body.encode(), content_type)
    assert [row_fields(r) for r in rows] == [event_fields(item) for item in items]


@pytest.mark.parametrize(
    ("body", "content_type"),
    [
        (json.dumps([*USUAL, {**USUAL[0], "event_type": "po.teleported"}]), "application/json"),
        (json.dumps([*USUAL, "an event"]), "application/json"),
        (json.dumps(USUAL[0]) + "\n" + json.dumps(USUAL[1]), "application/json"),
        (json.dumps(USUAL[0]) + "\nnot json", "application/x-ndjson"),
        (json.dumps(USUAL), "text/plain"),
        ("", "application/json"),
        # NDJSON is one event per line: split_body names the line that holds two, or a part.
        (json.dumps(USUAL[0]) + " " + json.dumps(USUAL[1]), "application/x-ndjson"),
        (json.dumps(USUAL[0], indent=2), "application/x-ndjson"),
        (json.dumps(USUAL[0], indent=2), ""),
        ("  \n ", "application/x-ndjson"),
    ],
)
def test_a_body_with_anything_doubtful_goes_item_by_item(body, content_type):
    assert decode_rows(body.encode(), content_type, EventRowDecoder()) is None


@pytest.mark.parametrize("value", ["0001-01-01T00:00:00+01:00", "9999-12-31T23:59:59-01:00"])
def test_a_timestamp_beyond_utc_is_rejected_by_name(value):
    # It used to raise OverflowError, which failed the whole request with a 500.
    with pytest.raises(ValueError, match="^occurred_at: RFC 3339 timestamp out of range$"):
        event_fields(_event(occurred_at=value))
    _assert_alike(_event(due_at=value))
