"""Canonical business events (DESIGN section 4): the vocabulary, the value types and the
pydantic edge model, the one home of the field rules (rxsight.event_rows takes ingest's fast
path through them)."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import Annotated, Any, Literal

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
CURRENCY_PATTERN = "^[A-Z]{3}$"

Id = Annotated[str, StringConstraints(min_length=1, max_length=MAX_ID)]
OptId = Annotated[str, StringConstraints(max_length=MAX_ID)] | None
Domain = Literal["pharmacy", "supply", "finance"]
Priority = Literal["routine", "urgent", "stat"]


_MONEY_LIMIT = 10**14  # Decimal(18, 4) in the store: 14 integer digits
_is_plain_decimal = re.compile(r"-?[0-9]{1,14}(?:\.[0-9]{1,4})?").fullmatch


def parse_decimal(v: Any) -> Decimal:
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


# What parse_decimal accepts, for the OpenAPI document (the validator itself is the rule).
_MONEY_SCHEMA = {
    "anyOf": [
        {"type": "number"},
        {"type": "string", "pattern": r"^\s*-?[0-9]{1,14}(\.[0-9]{1,4})?\s*$"},
    ],
    "description": "a decimal: a JSON number or a decimal string, at most 14 digits "
    "before the point and 4 after",
}
Money = Annotated[Decimal, PlainValidator(parse_decimal), WithJsonSchema(_MONEY_SCHEMA)]
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
Quantity = Annotated[Decimal, PlainValidator(parse_decimal), WithJsonSchema(_QUANTITY_SCHEMA)]


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
    currency: Annotated[str, StringConstraints(pattern=CURRENCY_PATTERN)] = "USD"
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
