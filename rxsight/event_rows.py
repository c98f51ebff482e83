"""Accepted business events as the store takes them: msgspec rows decoded straight from
request bodies, checked by rxsight.model's own rules (the model stays the one judge)."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Annotated, Any, NamedTuple

import msgspec

from rxsight.model import (
    CURRENCY_PATTERN,
    EVENT_TYPES,
    MAX_ID,
    MAX_LINE_NO,
    MAX_UOM,
    Domain,
    Priority,
    parse_decimal,
    validate_event,
)
from rxsight.timeutil import parse_rfc3339

# The rows below restate the model's field rules for the shapes integrations send:
# validating through pydantic costs several times more, per event, than the rest of ingest.
# msgspec checks each field's JSON type and length in C, straight from the request bytes;
# finish_row() then checks what msgspec cannot say (the vocabulary, the limits, RFC 3339, exact
# decimals) with the model's own functions. A row is only ever a shortcut to acceptance:
# anything it is not sure of goes to the model, which then accepts or words the rejection,
# so outcomes, values and messages are the model's by construction.
_IdText = Annotated[str, msgspec.Meta(min_length=1, max_length=MAX_ID)]
_OptIdText = Annotated[str, msgspec.Meta(max_length=MAX_ID)] | None


class EventLineRow(msgspec.Struct, forbid_unknown_fields=True, gc=False):
    """An accepted event line: EventLine's fields; once finished, line_no is set (by position
    when the line had none) and quantities are Decimal."""

    line_no: Annotated[int, msgspec.Meta(ge=0, le=MAX_LINE_NO)] | None = None
    item_id: _OptIdText = None
    quantity: Any = None  # the JSON value until finished
    unit_price: Any = None
    uom: Annotated[str, msgspec.Meta(max_length=MAX_UOM)] | None = None


class EventRow(msgspec.Struct, forbid_unknown_fields=True, gc=False):
    """An accepted business event as the store takes it: BusinessEvent's fields and values.
    Decoded rows hold the JSON values of times and money until finish_row() converts them
    (datetime in UTC, Decimal) in place. Rows hold no reference cycles, so the garbage
    collector does not track them (gc=False): a request makes thousands."""

    event_id: _IdText
    event_type: _IdText
    occurred_at: Any
    correlation_id: _IdText
    source_system: _IdText
    site: _OptIdText = None
    domain: Domain | None = None
    item_id: _OptIdText = None
    supplier_id: _OptIdText = None
    po_number: _OptIdText = None
    invoice_number: _OptIdText = None
    receipt_id: _OptIdText = None
    quantity: Any = None
    unit_price: Any = None
    amount: Any = None
    currency: str = "USD"
    cost_center: _OptIdText = None
    priority: Priority | None = None
    status: _OptIdText = None
    expected_at: Any = None
    promised_at: Any = None
    due_at: Any = None
    trace_id: _OptIdText = None
    lines: list[EventLineRow] = msgspec.field(default_factory=list)
    attributes: dict[Annotated[str, msgspec.Meta(max_length=MAX_ID)], str] = msgspec.field(
        default_factory=dict
    )


_is_currency = re.compile(CURRENCY_PATTERN).fullmatch


class EventLimits(NamedTuple):
    """What the configuration adds to the model's rules (ingest: custom_event_types,
    max_lines, max_attributes)."""

    custom_event_types: frozenset[str] = frozenset()
    max_lines: int = 1000
    max_attributes: int = 128


def finish_row(row: EventRow, limits: EventLimits) -> None:
    """What msgspec cannot check, checked and converted in place. ValueError means the model
    must decide, and it may still accept (a line number sent as 2.0, bytes for a string), so
    these errors are never shown: the model words the rejection."""
    if row.event_type not in EVENT_TYPES and row.event_type not in limits.custom_event_types:
        raise ValueError("event_type")
    if len(row.lines) > limits.max_lines or len(row.attributes) > limits.max_attributes:
        raise ValueError("limits")
    currency = row.currency
    if currency != "USD" and not _is_currency(currency):
        raise ValueError("currency")
    row.occurred_at = parse_rfc3339(row.occurred_at)
    if row.expected_at is not None:
        row.expected_at = parse_rfc3339(row.expected_at)
    if row.promised_at is not None:
        row.promised_at = parse_rfc3339(row.promised_at)
    if row.due_at is not None:
        row.due_at = parse_rfc3339(row.due_at)
    if row.quantity is not None:
        row.quantity = parse_decimal(row.quantity)
    if row.unit_price is not None:
        row.unit_price = parse_decimal(row.unit_price)
    if row.amount is not None:
        row.amount = parse_decimal(row.amount)
    for position, line in enumerate(row.lines, start=1):
        if line.line_no is None:
            line.line_no = position
        if line.quantity is not None:
            line.quantity = parse_decimal(line.quantity)
        if line.unit_price is not None:
            line.unit_price = parse_decimal(line.unit_price)


_SCALAR_FIELDS = tuple(
    name for name in EventRow.__struct_fields__ if name not in ("lines", "attributes")
)


def event_row(obj: Any, limits: EventLimits = EventLimits()) -> EventRow:
    """validate_event() as a row, at a fraction of its cost for the usual well-formed event;
    the same acceptance, values and error messages."""
    if type(obj) is dict:
        try:
            row = msgspec.convert(obj, EventRow)
            finish_row(row, limits)
            return row
        except (msgspec.ValidationError, ValueError):
            pass
    event = validate_event(
        obj,
        custom_event_types=tuple(limits.custom_event_types),
        max_lines=limits.max_lines,
        max_attributes=limits.max_attributes,
    )
    return EventRow(
        **{name: getattr(event, name) for name in _SCALAR_FIELDS},
        lines=[EventLineRow(**line.model_dump()) for line in event.lines],
        attributes=dict(event.attributes),
    )


class EventRowDecoder:
    """JSON request bodies straight to finished rows, all or nothing: None as soon as one
    event is not certainly valid, so the caller takes the body item by item (event_row) and
    names each rejection."""

    def __init__(self, limits: EventLimits = EventLimits()) -> None:
        self.limits = limits
        self._array = msgspec.json.Decoder(list[EventRow])
        self._object = msgspec.json.Decoder(EventRow)

    def array(self, body: bytes) -> list[EventRow] | None:
        return self._finished(self._array.decode, body)

    def one(self, body: bytes) -> list[EventRow] | None:
        return self._finished(lambda b: [self._object.decode(b)], body)

    def lines(self, lines: list[bytes]) -> list[EventRow] | None:
        """NDJSON, split into lines by the caller: each line must hold one event."""
        return self._finished(lambda ls: list(map(self._object.decode, ls)), lines)

    def _finished(
        self, decode: Callable[[Any], list[EventRow]], body: Any
    ) -> list[EventRow] | None:
        try:
            rows = decode(body)
            for row in rows:
                finish_row(row, self.limits)
        except (msgspec.DecodeError, ValueError):
            return None
        return rows
