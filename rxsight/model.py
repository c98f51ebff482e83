"""Canonical business events (DESIGN section 4): the vocabulary, the pydantic edge model."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import Annotated, Any, Literal

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

Id = Annotated[str, StringConstraints(min_length=1, max_length=256)]
OptId = Annotated[str, StringConstraints(max_length=256)] | None


_MONEY_LIMIT = Decimal(10) ** 14  # Decimal(18, 4) in the store: 14 integer digits


def _decimal(v: Any) -> Decimal:
    """Quantities and money: JSON numbers or decimal strings, at most 4 decimal places and
    14 integer digits (the store's Decimal(18, 4)); beyond that rejected, never rounded."""
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
    return dt.astimezone(UTC)


Timestamp = Annotated[datetime, BeforeValidator(parse_rfc3339)]


class EventLine(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    line_no: int | None = Field(default=None, ge=0, le=1_000_000)
    item_id: OptId = None
    quantity: Money | None = None
    unit_price: Money | None = None
    uom: Annotated[str, StringConstraints(max_length=32)] | None = None


class BusinessEvent(BaseModel):
    """One business event as sent by an integration; `context` carries the configured limits."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    event_id: Id
    event_type: Id
    occurred_at: Timestamp
    correlation_id: Id
    source_system: Id
    site: OptId = None
    domain: Literal["pharmacy", "supply", "finance"] | None = None
    item_id: OptId = None
    supplier_id: OptId = None
    po_number: OptId = None
    invoice_number: OptId = None
    receipt_id: OptId = None
    quantity: Money | None = None
    unit_price: Money | None = None
    amount: Money | None = None
    currency: Annotated[str, StringConstraints(pattern="^[A-Z]{3}$")] = "USD"
    cost_center: OptId = None
    priority: Literal["routine", "urgent", "stat"] | None = None
    status: OptId = None
    expected_at: Timestamp | None = None
    promised_at: Timestamp | None = None
    due_at: Timestamp | None = None
    trace_id: OptId = None
    lines: list[EventLine] = Field(default_factory=list)
    attributes: dict[Annotated[str, StringConstraints(max_length=256)], str] = Field(
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
