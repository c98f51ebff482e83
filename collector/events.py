"""Business events from /v1/events bodies (object, array or NDJSON) to store rows."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

import orjson
import pyarrow as pa

from rxsight.model import BusinessEvent

_DEC = pa.decimal128(18, 4)
_MS = pa.timestamp("ms", tz="UTC")

EVENT_SCHEMA = pa.schema(
    [
        ("event_id", pa.string()),
        ("event_type", pa.string()),
        ("occurred_at", _MS),
        ("received_at", _MS),
        ("correlation_id", pa.string()),
        ("source_system", pa.string()),
        ("site", pa.string()),
        ("domain", pa.string()),
        ("item_id", pa.string()),
        ("supplier_id", pa.string()),
        ("po_number", pa.string()),
        ("invoice_number", pa.string()),
        ("receipt_id", pa.string()),
        ("quantity", _DEC),
        ("unit_price", _DEC),
        ("amount", _DEC),
        ("currency", pa.string()),
        ("cost_center", pa.string()),
        ("priority", pa.string()),
        ("status", pa.string()),
        ("expected_at", _MS),
        ("promised_at", _MS),
        ("due_at", _MS),
        ("trace_id", pa.string()),
        ("lines.line_no", pa.list_(pa.uint32())),
        ("lines.item_id", pa.list_(pa.string())),
        ("lines.quantity", pa.list_(_DEC)),
        ("lines.unit_price", pa.list_(_DEC)),
        ("lines.uom", pa.list_(pa.string())),
        ("attributes", pa.map_(pa.string(), pa.string())),
    ]
)
_STRINGS = (
    "event_id",
    "event_type",
    "correlation_id",
    "source_system",
    "site",
    "domain",
    "item_id",
    "supplier_id",
    "po_number",
    "invoice_number",
    "receipt_id",
    "currency",
    "cost_center",
    "priority",
    "status",
    "trace_id",
)


class BodyError(ValueError):
    """The body as a whole cannot be read as events."""


class UnsupportedMediaType(ValueError):
    """The Content-Type is not one this endpoint reads: answer 415."""


def split_body(body: bytes, content_type: str) -> list[Any]:
    """One object, an array of objects, or NDJSON. An NDJSON line that is not JSON becomes
    a per-item error (a `_BadLine`), so its siblings still go in."""
    ctype = content_type.split(";")[0].strip().lower()
    if ctype not in ("application/json", "application/x-ndjson", "application/jsonl", ""):
        raise UnsupportedMediaType(
            f"Content-Type: {content_type} is not supported; use application/json "
            "or application/x-ndjson"
        )
    stripped = body.strip()
    if not stripped:
        raise BodyError("body: empty; send an event object, an array of events or NDJSON")
    if ctype == "application/json" or stripped[:1] == b"[":
        try:
            data = orjson.loads(stripped)
        except orjson.JSONDecodeError as exc:
            if ctype == "application/json" and b"\n" not in stripped:
                raise BodyError(f"body: malformed JSON ({exc})") from None
            data = None
        if data is not None:
            return data if isinstance(data, list) else [data]
    items: list[Any] = []
    for n, line in enumerate(stripped.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            items.append(orjson.loads(line))
        except orjson.JSONDecodeError as exc:
            items.append(BadLine(f"line {n}: malformed JSON ({exc})"))
    return items


class BadLine:
    def __init__(self, error: str) -> None:
        self.error = error


def events_table(events: Sequence[BusinessEvent], received_at: datetime | None = None) -> pa.Table:
    received = received_at or datetime.now(UTC)
    cols: dict[str, list[Any]] = {name: [] for name in EVENT_SCHEMA.names}
    for ev in events:
        for name in _STRINGS:
            cols[name].append(getattr(ev, name) or "")
        cols["occurred_at"].append(ev.occurred_at)
        cols["received_at"].append(received)
        cols["quantity"].append(ev.quantity)
        cols["unit_price"].append(ev.unit_price)
        cols["amount"].append(ev.amount)
        cols["expected_at"].append(ev.expected_at)
        cols["promised_at"].append(ev.promised_at)
        cols["due_at"].append(ev.due_at)
        cols["lines.line_no"].append([ln.line_no for ln in ev.lines])
        cols["lines.item_id"].append([ln.item_id or "" for ln in ev.lines])
        cols["lines.quantity"].append([ln.quantity for ln in ev.lines])
        cols["lines.unit_price"].append([ln.unit_price for ln in ev.lines])
        cols["lines.uom"].append([ln.uom or "" for ln in ev.lines])
        cols["attributes"].append(list(ev.attributes.items()))
    return pa.table([pa.array(cols[f.name], f.type) for f in EVENT_SCHEMA], schema=EVENT_SCHEMA)
