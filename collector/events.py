"""Business events from /v1/events bodies (object, array or NDJSON) to store rows."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from datetime import UTC, datetime
from decimal import Decimal
from itertools import accumulate, chain
from typing import Any

import msgspec
import orjson
import pyarrow as pa

from rxsight.event_rows import EventLineRow, EventRow, EventRowDecoder

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
        ("content_hash", pa.uint64()),
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


_MEDIA_TYPES = ("application/json", "application/x-ndjson", "application/jsonl", "")


def _media_type(content_type: str) -> str:
    return content_type.split(";")[0].strip().lower()


def decode_rows(body: bytes, content_type: str, rows: EventRowDecoder) -> list[EventRow] | None:
    """The whole body as finished rows when every event in it is certainly valid (the usual
    request), read as split_body() reads it; else None, and split_body() and event_row()
    take it item by item and name each rejection."""
    ctype = _media_type(content_type)
    stripped = body.strip()
    if ctype not in _MEDIA_TYPES or not stripped:
        return None
    if stripped[:1] == b"[":
        return rows.array(stripped)
    if ctype == "application/json":
        return rows.one(stripped) if stripped[:1] == b"{" else None
    # NDJSON exactly as split_body reads it: one object per line, blank lines skipped.
    return rows.lines([line for line in stripped.splitlines() if line.strip()])


def split_body(body: bytes, content_type: str) -> list[Any]:
    """One object, an array of objects, or NDJSON. An NDJSON line that is not JSON becomes
    a per-item error (a `_BadLine`), so its siblings still go in."""
    ctype = _media_type(content_type)
    if ctype not in _MEDIA_TYPES:
        raise UnsupportedMediaType(
            f"Content-Type: {content_type} is not supported; use application/json "
            "or application/x-ndjson"
        )
    stripped = body.strip()
    if not stripped:
        raise BodyError("body: empty; send an event object, an array of events or NDJSON")
    if ctype == "application/json" or stripped[:1] == b"[":
        try:
            data = _loads(stripped)
        except ValueError as exc:
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
            items.append(_loads(line))
        except ValueError as exc:
            items.append(BadLine(f"line {n}: malformed JSON ({exc})"))
    return items


def _loads(text: bytes) -> Any:
    """JSON as orjson reads it; a number beyond a double (1e400), which orjson refuses for
    the whole text, is read as a Decimal instead, so only its own item is rejected (by the
    model's decimal rule). NaN and Infinity are not JSON and stay refused."""
    try:
        return orjson.loads(text)
    except orjson.JSONDecodeError as exc:
        if "infinity" not in str(exc):
            raise
        return json.loads(text, parse_float=Decimal, parse_constant=_not_json)


def _not_json(constant: str) -> Any:
    raise ValueError(f"{constant} is not a JSON value")


class BadLine:
    def __init__(self, error: str) -> None:
        self.error = error


def events_table(
    rows: Sequence[EventRow],
    received_at: datetime | None = None,
    hashes: Sequence[int] | None = None,
) -> pa.Table:
    """Finished rows (EventRow) to the business_events columns. This runs for every accepted
    event, so the rows are turned into columns once (astuple and zip, in C) rather than read
    attribute by attribute; lines and attributes are built flat with offsets, not as lists
    per event."""
    received = received_at or datetime.now(UTC)
    n = len(rows)
    fields = dict(zip(EventRow.__struct_fields__, _transposed(rows, EventRow), strict=True))
    columns: dict[str, pa.Array] = {name: _strings(fields[name], n) for name in _STRINGS}
    for name in ("occurred_at", "expected_at", "promised_at", "due_at"):
        columns[name] = _values(fields[name], n, _MS)
    for name in ("quantity", "unit_price", "amount"):
        columns[name] = _values(fields[name], n, _DEC)
    columns["received_at"] = pa.repeat(pa.scalar(received, _MS), n)
    columns["content_hash"] = pa.array(
        hashes if hashes is not None else list(map(content_hash, rows)), pa.uint64()
    )
    line_lists = fields["lines"]
    lines = list(chain.from_iterable(line_lists))
    line_offsets = _offsets(line_lists)
    line_fields = dict(
        zip(EventLineRow.__struct_fields__, _transposed(lines, EventLineRow), strict=True)
    )
    for name, kind in (("line_no", pa.uint32()), ("quantity", _DEC), ("unit_price", _DEC)):
        values = _values(line_fields[name], len(lines), kind)
        columns[f"lines.{name}"] = pa.ListArray.from_arrays(line_offsets, values)
    for name in ("item_id", "uom"):
        values = _strings(line_fields[name], len(lines))
        columns[f"lines.{name}"] = pa.ListArray.from_arrays(line_offsets, values)
    attributes = fields["attributes"]
    columns["attributes"] = pa.MapArray.from_arrays(
        _offsets(attributes),
        pa.array(list(chain.from_iterable(attributes)), pa.string()),
        pa.array(list(chain.from_iterable(a.values() for a in attributes)), pa.string()),
    )
    return pa.table([columns[f.name] for f in EVENT_SCHEMA], schema=EVENT_SCHEMA)


def content_hash(row: EventRow) -> int:
    """What an accepted event says, as 64 bits: the same for a resend of it, different when
    a sender reuses its event_id for other content (attributes in any order)."""
    encoded = _ENCODER.encode(row)
    return int.from_bytes(hashlib.blake2b(encoded, digest_size=8).digest(), "big")


_ENCODER = msgspec.json.Encoder(order="sorted", decimal_format="number")


def _transposed(rows: Sequence[Any], kind: type[msgspec.Struct]) -> list[tuple[Any, ...]]:
    """One tuple of values per field of `kind`, in its field order."""
    if not rows:
        return [()] * len(kind.__struct_fields__)
    return list(zip(*map(msgspec.structs.astuple, rows), strict=True))


def _values(values: tuple[Any, ...], n: int, kind: pa.DataType) -> pa.Array:
    if n and values[0] is None and values.count(None) == n:
        return pa.nulls(n, kind)
    return pa.array(values, kind)


def _strings(values: tuple[Any, ...], n: int) -> pa.Array:
    # Absent strings are stored as "", and a field nobody sent costs no conversion at all.
    missing = values.count(None)
    if missing == n:
        return pa.repeat(pa.scalar("", pa.string()), n)
    return pa.array([v or "" for v in values] if missing else values, pa.string())


def _offsets(groups: list[Any]) -> pa.Array:
    return pa.array([0, *accumulate(map(len, groups))], pa.int32())
