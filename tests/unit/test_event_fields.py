"""event_row, one event at a time: exactly validate_event's outcome (the pydantic model's),
accepted values and rejection messages alike, field by field, shape by shape and for any
event hypothesis makes up."""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from rxsight.event_rows import EventLineRow, EventRow
from rxsight.model import BusinessEvent, EventLine
from tests.unit.event_kit import (
    LIMITS,
    assert_alike,
    event_fields,
    minimal_event,
    valid_events,
)

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
        assert_alike(minimal_event(**{field: value}))
        assert_alike(minimal_event(**{field: value}), LIMITS)
    missing = minimal_event()
    missing.pop(field, None)
    assert_alike(missing)


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
        assert_alike(minimal_event(lines=[line, {"quantity": "1.5"}, {}]))


@pytest.mark.parametrize(
    "obj",
    [
        minimal_event(lines=[{}] * 1000),
        minimal_event(lines=[{}] * 1001),
        minimal_event(lines=[{"line_no": 5}, {}, {"line_no": None}]),
        minimal_event(lines="x"),
        minimal_event(lines=[1]),
        minimal_event(attributes={f"k{i}": "v" for i in range(128)}),
        minimal_event(attributes={f"k{i}": "v" for i in range(129)}),
        minimal_event(attributes={"k" * 257: "v"}),
        minimal_event(attributes={"k": 1}),
        minimal_event(attributes={"patient.name": "Jane", "note": "SSN 123-45-6789"}),
        minimal_event(quantity="1.5", unit_price=2, amount="-0.0001", currency="EUR"),
        minimal_event(expected_at="2026-11-20T10:00:00.123456+05:30", due_at=None),
        [minimal_event()],
        "an event",
        None,
    ],
)
def test_shapes_and_limits(obj):
    assert_alike(obj)
    assert_alike(obj, LIMITS)


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


@settings(max_examples=400, deadline=None, suppress_health_check=list(HealthCheck))
@given(obj=st.one_of(events, valid_events))
def test_any_event_gets_the_models_outcome(obj):
    assert_alike(obj)
    assert_alike(obj, LIMITS)


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
        event_fields(minimal_event(amount=value))


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
    assert repr(event_fields(minimal_event(amount=value))["amount"]) == repr(stored)


def test_rows_have_every_field_of_the_model():
    # A field added to BusinessEvent or EventLine but not to the rows would be refused by the
    # rows' decoder and then dropped when the model's event becomes a row.
    assert set(EventRow.__struct_fields__) == set(BusinessEvent.model_fields)
    assert set(EventLineRow.__struct_fields__) == set(EventLine.model_fields)


@pytest.mark.parametrize("value", ["0001-01-01T00:00:00+01:00", "9999-12-31T23:59:59-01:00"])
def test_a_timestamp_beyond_utc_is_rejected_by_name(value):
    # It used to raise OverflowError, which failed the whole request with a 500.
    with pytest.raises(ValueError, match="^occurred_at: RFC 3339 timestamp out of range$"):
        event_fields(minimal_event(occurred_at=value))
    assert_alike(minimal_event(due_at=value))
