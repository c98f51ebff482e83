"""Canonical business events (DESIGN section 4): the vocabulary, the pydantic edge model."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import Annotated, Any, Literal, get_args

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PlainValidator,
    StringConstraints,
    ValidationError,
    field_validator,
    model_validator,
)

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

FAMILIES = ("open_replenishment", "unmatched_invoice", "delayed_receipt", "sla_breach")

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


Money = Annotated[Decimal, PlainValidator(_decimal)]


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


Timestamp = Annotated[datetime, BeforeValidator(parse_rfc3339)]


class EventLine(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    line_no: int | None = Field(default=None, ge=0, le=MAX_LINE_NO)
    item_id: OptId = None
    quantity: Money | None = None
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
    quantity: Money | None = None
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


# The fast path below restates the model's field rules for the shapes integrations send
# (validating through pydantic costs several times more, per event, than the rest of
# ingest). It only ever accepts: anything it is not sure of goes to the model, which then
# accepts or words the rejection, so outcomes and messages are the model's by construction.
_FIELD_NAMES = frozenset(BusinessEvent.model_fields)
_LINE_FIELD_NAMES = frozenset(EventLine.model_fields)
_REQUIRED_IDS = ("event_id", "event_type", "correlation_id", "source_system")
_OPTIONAL_IDS = (
    "site",
    "item_id",
    "supplier_id",
    "po_number",
    "invoice_number",
    "receipt_id",
    "cost_center",
    "status",
    "trace_id",
)
_CHOICES = (("domain", frozenset(get_args(Domain))), ("priority", frozenset(get_args(Priority))))
_OPTIONAL_TIMES = ("expected_at", "promised_at", "due_at")
_MONEY_FIELDS = ("quantity", "unit_price", "amount")
_SCALAR_DEFAULTS: dict[str, Any] = {
    name: None if info.is_required() else info.default
    for name, info in BusinessEvent.model_fields.items()
    if name not in ("lines", "attributes")
}
_is_currency = re.compile(_CURRENCY).fullmatch


def event_fields(
    obj: Any,
    *,
    custom_event_types: tuple[str, ...] = (),
    max_lines: int = 1000,
    max_attributes: int = 128,
) -> dict[str, Any]:
    """validate_event() as a plain dict of the event's fields (lines as dicts, numbered), at
    a fraction of its cost for the usual well-formed event; the same acceptance, values and
    error messages."""
    if type(obj) is dict:
        try:
            fields = _checked_fields(obj, custom_event_types, max_lines, max_attributes)
        except ValueError:
            fields = None
        if fields is not None:
            return fields
    event = validate_event(
        obj,
        custom_event_types=custom_event_types,
        max_lines=max_lines,
        max_attributes=max_attributes,
    )
    return event.model_dump()


def _checked_fields(
    obj: dict[str, Any], custom_event_types: tuple[str, ...], max_lines: int, max_attributes: int
) -> dict[str, Any] | None:
    """The event's fields, or None (or ValueError) when the model must decide."""
    if not _FIELD_NAMES.issuperset(obj):
        return None
    fields = {**_SCALAR_DEFAULTS, **obj}
    for name in _REQUIRED_IDS:
        value = fields[name]
        if type(value) is not str or not 0 < len(value) <= MAX_ID:
            return None
    for name in _OPTIONAL_IDS:
        value = fields[name]
        if value is not None and (type(value) is not str or len(value) > MAX_ID):
            return None
    event_type = fields["event_type"]
    if event_type not in EVENT_TYPES and event_type not in custom_event_types:
        return None
    for name, allowed in _CHOICES:
        value = fields[name]
        if value is not None and (type(value) is not str or value not in allowed):
            return None
    currency = fields["currency"]
    if type(currency) is not str or not _is_currency(currency):
        return None
    fields["occurred_at"] = parse_rfc3339(fields["occurred_at"])
    for name in _OPTIONAL_TIMES:
        if fields[name] is not None:
            fields[name] = parse_rfc3339(fields[name])
    for name in _MONEY_FIELDS:
        if fields[name] is not None:
            fields[name] = _decimal(fields[name])
    lines = _checked_lines(obj.get("lines", []), max_lines)
    attributes = obj.get("attributes", {})
    if lines is None or not _plain_attributes(attributes, max_attributes):
        return None
    fields["lines"] = lines
    fields["attributes"] = attributes
    return fields


def _checked_lines(lines: Any, max_lines: int) -> list[dict[str, Any]] | None:
    if type(lines) is not list or len(lines) > max_lines:
        return None
    out = []
    for position, line in enumerate(lines, start=1):
        if type(line) is not dict or not _LINE_FIELD_NAMES.issuperset(line):
            return None
        line_no = line.get("line_no")
        if line_no is None:
            line_no = position
        elif type(line_no) is not int or not 0 <= line_no <= MAX_LINE_NO:
            return None
        item_id = line.get("item_id")
        if item_id is not None and (type(item_id) is not str or len(item_id) > MAX_ID):
            return None
        uom = line.get("uom")
        if uom is not None and (type(uom) is not str or len(uom) > MAX_UOM):
            return None
        quantity = line.get("quantity")
        unit_price = line.get("unit_price")
        out.append(
            {
                "line_no": line_no,
                "item_id": item_id,
                "quantity": None if quantity is None else _decimal(quantity),
                "unit_price": None if unit_price is None else _decimal(unit_price),
                "uom": uom,
            }
        )
    return out


def _plain_attributes(attributes: Any, max_attributes: int) -> bool:
    return type(attributes) is dict and (
        not attributes
        or len(attributes) <= max_attributes
        and all(
            type(key) is str and len(key) <= MAX_ID and type(value) is str
            for key, value in attributes.items()
        )
    )
