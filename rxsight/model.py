"""Canonical business events (DESIGN section 4): the vocabulary, the pydantic edge model, rows."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import Annotated, Any, Literal, NamedTuple

import msgspec
from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PlainValidator,
    StringConstraints,
    ValidationError,
    WithJsonSchema,
    field_validator,
    model_validator,
)

from rxsight.timeutil import parse_rfc3339

EVENT_TYPES: frozenset[str] = frozenset(
    {
        "replenishment.requested",
        "replenishment.cancelled",
        "requisition.approved",
        "requisition.rejected",
        "po.created",
        "po.transmitted",
        "po.acknowledged",
        "shipment.notified",
        "goods.received",
        "receipt.posted",
        "inventory.updated",
        "invoice.received",
        "invoice.matched",
        "invoice.disputed",
        "payment.scheduled",
        "payment.sent",
        "journal.posted",
    }
)

MAX_ID = 256
MAX_UOM = 32
MAX_LINE_NO = 1_000_000
_CURRENCY = "^[A-Z]{3}$"

Id = Annotated[str, StringConstraints(min_length=1, max_length=MAX_ID)]
OptId = Annotated[str, StringConstraints(max_length=MAX_ID)] | None
Domain = Literal["pharmacy", "supply", "finance"]
Priority = Literal["routine", "urgent", "stat"]


_MONEY_LIMIT = 10**14  # Decimal(18, 4) in the store: 14 integer digits
_is_plain_decimal = re.compile(r"-?[0-9]{1,14}(?:\.[0-9]{1,4})?").fullmatch


def _decimal(v: Any) -> Decimal:
    """Quantities and money: JSON numbers or decimal strings, at most 4 decimal places and
    14 integer digits (the store's Decimal(18, 4)); beyond that rejected, never rounded."""
    # The usual shapes, a whole number or a plain decimal string within the limits, need none
    # of the checks below.
    if type(v) is int and -_MONEY_LIMIT < v < _MONEY_LIMIT:
        return Decimal(v)
    if type(v) is str and _is_plain_decimal(v):
        return Decimal(v)
    if isinstance(v, bool):
        raise ValueError("must be a decimal number, not a boolean")
    if isinstance(v, float):
        # repr() so 17.5 becomes Decimal("17.5"), not its binary expansion.
        d = Decimal(repr(v))
    elif isinstance(v, int | Decimal):
        d = Decimal(v)
    elif isinstance(v, str):
        try:
            d = Decimal(v.strip())
        except InvalidOperation:
            raise ValueError(f"not a decimal number: {v[:32]!r}") from None
    else:
        raise ValueError("must be a decimal number (a JSON number or a decimal string)")
    if not d.is_finite():
        raise ValueError("must be a finite decimal number")
    exponent = d.as_tuple().exponent
    if isinstance(exponent, int) and exponent < -4:
        raise ValueError("more than 4 decimal places")
    if abs(d) >= _MONEY_LIMIT:
        raise ValueError("too large (at most 14 digits before the decimal point)")
    return d


# What _decimal accepts, for the OpenAPI document (the validator itself is the rule).
_MONEY_SCHEMA = {
    "anyOf": [
        {"type": "number"},
        {"type": "string", "pattern": r"^\s*-?[0-9]{1,14}(\.[0-9]{1,4})?\s*$"},
    ],
    "description": "a decimal: a JSON number or a decimal string, at most 14 digits "
    "before the point and 4 after",
}
Money = Annotated[Decimal, PlainValidator(_decimal), WithJsonSchema(_MONEY_SCHEMA)]
# A quantity is never negative (rxsight.event_checks: a return is its own event type); the
# same decimal otherwise.
_QUANTITY_SCHEMA = {
    "anyOf": [
        {"type": "number", "minimum": 0},
        {"type": "string", "pattern": r"^\s*[0-9]{1,14}(\.[0-9]{1,4})?\s*$"},
    ],
    "description": "a decimal ≥ 0: a JSON number or a decimal string, at most 14 digits "
    "before the point and 4 after",
}
Quantity = Annotated[Decimal, PlainValidator(_decimal), WithJsonSchema(_QUANTITY_SCHEMA)]


Timestamp = Annotated[datetime, BeforeValidator(parse_rfc3339)]

# ClickHouse's DateTime64 holds these; an instant outside cannot be asked about.
FIRST_INSTANT = datetime(1900, 1, 1, tzinfo=UTC)
LAST_INSTANT = datetime(2299, 12, 31, 23, 59, 59, 999000, tzinfo=UTC)


def _storable(v: datetime) -> datetime:
    if not FIRST_INSTANT <= v <= LAST_INSTANT:
        raise ValueError("must be between 1900-01-01 and 2299-12-31 (UTC)")
    return v


# An instant in a request's parameters (as_of, since): RFC 3339 within the store's range.
QueryInstant = Annotated[datetime, BeforeValidator(parse_rfc3339), AfterValidator(_storable)]


class EventLine(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    line_no: int | None = Field(default=None, ge=0, le=MAX_LINE_NO)
    item_id: OptId = None
    quantity: Quantity | None = None
    unit_price: Money | None = None
    uom: Annotated[str, StringConstraints(max_length=MAX_UOM)] | None = None


class BusinessEvent(BaseModel):
    """One business event as sent by an integration; `context` carries the configured limits."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    event_id: Id
    event_type: Id
    occurred_at: Timestamp
    correlation_id: Id
    source_system: Id
    site: OptId = None
    domain: Domain | None = None
    item_id: OptId = None
    supplier_id: OptId = None
    po_number: OptId = None
    invoice_number: OptId = None
    receipt_id: OptId = None
    quantity: Quantity | None = None
    unit_price: Money | None = None
    amount: Money | None = None
    currency: Annotated[str, StringConstraints(pattern=_CURRENCY)] = "USD"
    cost_center: OptId = None
    priority: Priority | None = None
    status: OptId = None
    expected_at: Timestamp | None = None
    promised_at: Timestamp | None = None
    due_at: Timestamp | None = None
    trace_id: OptId = None
    lines: list[EventLine] = Field(default_factory=list)
    attributes: dict[Annotated[str, StringConstraints(max_length=MAX_ID)], str] = Field(
        default_factory=dict
    )

    @field_validator("lines")
    @classmethod
    def _number_lines(cls, lines: list[EventLine]) -> list[EventLine]:
        # Lines without a line_no are numbered by position so PO/invoice lines can meet.
        return [
            ln if ln.line_no is not None else ln.model_copy(update={"line_no": i + 1})
            for i, ln in enumerate(lines)
        ]

    @model_validator(mode="after")
    def _known_type(self, info: Any) -> BusinessEvent:
        ctx = info.context or {}
        custom = ctx.get("custom_event_types", ())
        if self.event_type not in EVENT_TYPES and self.event_type not in custom:
            raise ValueError(
                f"event_type: unknown event type {self.event_type!r} "
                "(not in the vocabulary and not configured as a custom type)"
            )
        if len(self.lines) > ctx.get("max_lines", 1000):
            raise ValueError(f"lines: {len(self.lines)} lines, limit {ctx.get('max_lines', 1000)}")
        if len(self.attributes) > ctx.get("max_attributes", 128):
            raise ValueError(
                f"attributes: {len(self.attributes)} attributes, "
                f"limit {ctx.get('max_attributes', 128)}"
            )
        return self


def describe_error(exc: ValidationError) -> str:
    """One line naming each field and reason, e.g. `occurred_at: not an RFC 3339 timestamp`."""
    parts = []
    for err in exc.errors(include_url=False):
        loc = ".".join(str(p) for p in err["loc"])
        msg = err["msg"].removeprefix("Value error, ")
        if err["type"] == "missing":
            msg = "required field is missing"
        elif err["type"] == "extra_forbidden":
            msg = "unknown field"
        parts.append(f"{loc}: {msg}" if loc and not msg.startswith(f"{loc}:") else msg)
    return "; ".join(parts)


def validate_event(
    obj: Any,
    *,
    custom_event_types: tuple[str, ...] = (),
    max_lines: int = 1000,
    max_attributes: int = 128,
) -> BusinessEvent:
    """Raise ValueError with a field-naming message, or return the validated event."""
    if not isinstance(obj, dict):
        raise ValueError(f"an event must be a JSON object, got {type(obj).__name__}")
    try:
        return BusinessEvent.model_validate(
            obj,
            context={
                "custom_event_types": custom_event_types,
                "max_lines": max_lines,
                "max_attributes": max_attributes,
            },
        )
    except ValidationError as exc:
        raise ValueError(describe_error(exc)) from None


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


_is_currency = re.compile(_CURRENCY).fullmatch


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
        row.quantity = _decimal(row.quantity)
    if row.unit_price is not None:
        row.unit_price = _decimal(row.unit_price)
    if row.amount is not None:
        row.amount = _decimal(row.amount)
    for position, line in enumerate(row.lines, start=1):
        if line.line_no is None:
            line.line_no = position
        if line.quantity is not None:
            line.quantity = _decimal(line.quantity)
        if line.unit_price is not None:
            line.unit_price = _decimal(line.unit_price)


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
