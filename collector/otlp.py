"""OTLP decoding: ExportTrace/LogsServiceRequest (protobuf or OTLP/JSON) to store rows."""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

import orjson
import pyarrow as pa
from google.protobuf import json_format
from google.protobuf.message import DecodeError, Message
from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceRequest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

from collector.events import UnsupportedMediaType
from collector.phi import PhiScrubber

SPAN_KINDS = ("Unspecified", "Internal", "Server", "Client", "Producer", "Consumer")
STATUS_CODES = ("Unset", "Ok", "Error")
_STR_MAP = pa.map_(pa.string(), pa.string())
_TS = pa.timestamp("ns")

TRACE_SCHEMA = pa.schema(
    [
        ("Timestamp", _TS),
        ("TraceId", pa.string()),
        ("SpanId", pa.string()),
        ("ParentSpanId", pa.string()),
        ("TraceState", pa.string()),
        ("SpanName", pa.string()),
        ("SpanKind", pa.string()),
        ("ServiceName", pa.string()),
        ("ResourceAttributes", _STR_MAP),
        ("ScopeName", pa.string()),
        ("ScopeVersion", pa.string()),
        ("SpanAttributes", _STR_MAP),
        ("Duration", pa.uint64()),
        ("StatusCode", pa.string()),
        ("StatusMessage", pa.string()),
        ("Events.Timestamp", pa.list_(_TS)),
        ("Events.Name", pa.list_(pa.string())),
        ("Events.Attributes", pa.list_(_STR_MAP)),
        ("Links.TraceId", pa.list_(pa.string())),
        ("Links.SpanId", pa.list_(pa.string())),
        ("Links.TraceState", pa.list_(pa.string())),
        ("Links.Attributes", pa.list_(_STR_MAP)),
    ]
)


class OtlpDecodeError(ValueError):
    """The whole request is unreadable (not one bad item): answer 400."""


@dataclass
class Rejections:
    count: int = 0
    messages: list[str] = field(default_factory=list)

    def add(self, message: str) -> None:
        self.count += 1
        if len(self.messages) < 10:
            self.messages.append(message)

    @property
    def summary(self) -> str:
        if not self.count:
            return ""
        more = (
            f" (+{self.count - len(self.messages)} more)" if self.count > len(self.messages) else ""
        )
        return "; ".join(self.messages) + more


def parse_request(body: bytes, content_type: str, message: type[Message]) -> Message:
    ctype = content_type.split(";")[0].strip().lower()
    msg = message()
    if ctype == "application/x-protobuf":
        try:
            msg.ParseFromString(body)
        except (DecodeError, RuntimeError, ValueError) as exc:
            raise OtlpDecodeError(
                f"body: not a valid {message.__name__} protobuf ({exc})"
            ) from None
        return msg
    if ctype == "application/json":
        try:
            data = orjson.loads(body)
        except orjson.JSONDecodeError as exc:
            raise OtlpDecodeError(f"body: malformed JSON ({exc})") from None
        if not isinstance(data, dict):
            raise OtlpDecodeError("body: an OTLP/JSON request must be a JSON object")
        _hex_ids_to_base64(data)
        try:
            json_format.ParseDict(data, msg, ignore_unknown_fields=True)
        except (json_format.ParseError, ValueError, TypeError, RecursionError) as exc:
            raise OtlpDecodeError(f"body: not a valid OTLP/JSON request: {exc}") from None
        return msg
    raise UnsupportedMediaType(
        f"Content-Type: {content_type or '(none)'} is not supported; "
        "use application/x-protobuf or application/json"
    )


_ID_KEYS = {"traceId": 16, "spanId": 8, "parentSpanId": 8}


def _hex_ids_to_base64(node: Any, depth: int = 0) -> None:
    # OTLP/JSON writes IDs as hex, protobuf's JSON mapping expects base64 for bytes fields.
    if depth > 64:
        raise OtlpDecodeError("body: JSON nested too deeply")
    if isinstance(node, dict):
        for key, value in node.items():
            if key in _ID_KEYS and isinstance(value, str):
                try:
                    raw = bytes.fromhex(value)
                except ValueError:
                    raw = b"\xff"  # wrong length: the item is rejected on its own, by name
                node[key] = base64.b64encode(raw).decode()
            elif isinstance(value, dict | list):
                _hex_ids_to_base64(value, depth + 1)
    elif isinstance(node, list):
        for value in node:
            if isinstance(value, dict | list):
                _hex_ids_to_base64(value, depth + 1)


def any_value(v: Any) -> Any:
    """An OTLP AnyValue as a plain Python value."""
    kind = v.WhichOneof("value")
    if kind is None:
        return None
    if kind == "array_value":
        return [any_value(x) for x in v.array_value.values]
    if kind == "kvlist_value":
        return {kv.key: any_value(kv.value) for kv in v.kvlist_value.values}
    if kind == "bytes_value":
        return base64.b64encode(v.bytes_value).decode()
    return getattr(v, kind)


def any_value_str(v: Any) -> str:
    kind = v.WhichOneof("value")
    if kind == "string_value":
        return v.string_value
    if kind is None:
        return ""
    if kind == "bool_value":
        return "true" if v.bool_value else "false"
    if kind in ("int_value", "double_value"):
        return str(getattr(v, kind))
    return json.dumps(any_value(v), separators=(",", ":"), default=str)


@dataclass
class TraceBatch:
    table: pa.Table
    accepted: int
    rejected: Rejections


class _MapColumn:
    """A Map(String, String) column built flat (offsets, keys, values): far cheaper than a
    list of per-row dicts when a batch has tens of thousands of spans."""

    __slots__ = ("offsets", "keys", "values")

    def __init__(self) -> None:
        self.offsets: list[int] = [0]
        self.keys: list[str] = []
        self.values: list[str] = []

    def add(self, keys: list[str], values: list[str]) -> None:
        self.keys.extend(keys)
        self.values.extend(values)
        self.offsets.append(len(self.keys))

    def array(self) -> pa.Array:
        return pa.MapArray.from_arrays(
            pa.array(self.offsets, pa.int32()),
            pa.array(self.keys, pa.string()),
            pa.array(self.values, pa.string()),
        )


def _kv_lists(kvs: Iterable[Any]) -> tuple[list[str], list[str]]:
    keys, values = [], []
    for kv in kvs:
        value = kv.value
        text = value.string_value
        if not text and value.WhichOneof("value") != "string_value":
            text = any_value_str(value)
        keys.append(kv.key)
        values.append(text)
    return keys, values


def decode_traces(
    request: ExportTraceServiceRequest,
    scrubber: PhiScrubber,
    correlation_keys: tuple[str, ...],
) -> TraceBatch:
    """Validate and flatten spans into an Arrow table shaped like otel_traces. This loop is
    the ingest hot path: per-span work is kept to list appends and one scrub per value."""
    ts: list[int] = []
    trace_ids: list[str] = []
    span_ids: list[str] = []
    parents: list[str] = []
    states: list[str] = []
    names: list[str] = []
    kinds: list[str] = []
    services: list[str] = []
    scope_names: list[str] = []
    scope_versions: list[str] = []
    durations: list[int] = []
    codes: list[str] = []
    messages: list[str] = []
    res_map, span_map = _MapColumn(), _MapColumn()
    ev_ts: list[list[int]] = []
    ev_names: list[list[str]] = []
    ev_attrs: list[list[list[tuple[str, str]]]] = []
    ln_trace: list[list[str]] = []
    ln_span: list[list[str]] = []
    ln_state: list[list[str]] = []
    ln_attrs: list[list[list[tuple[str, str]]]] = []
    empty: list[Any] = []
    rejected = Rejections()
    extra_keys = tuple(k for k in correlation_keys if k != "correlation.id")
    scrub_pairs = scrubber.scrub_pairs
    for rs in request.resource_spans:
        res_keys, res_values = scrub_pairs(*_kv_lists(rs.resource.attributes))
        res = dict(zip(res_keys, res_values, strict=True))
        service = res.get("service.name", "")
        res_corr = res.get("correlation.id") or next((res[k] for k in extra_keys if res.get(k)), "")
        for ss in rs.scope_spans:
            scope_name, scope_version = ss.scope.name, ss.scope.version
            for span in ss.spans:
                problem = _span_problem(span)
                if problem:
                    rejected.add(problem)
                    continue
                keys, values = scrub_pairs(*_kv_lists(span.attributes))
                if "correlation.id" not in keys:
                    # Configured spellings (and the resource's) all land on one key.
                    found = res_corr
                    for k in extra_keys:
                        if k in keys:
                            found = values[keys.index(k)] or found
                            break
                    if found:
                        keys.append("correlation.id")
                        values.append(found)
                start = span.start_time_unix_nano
                ts.append(start)
                trace_ids.append(span.trace_id.hex())
                span_ids.append(span.span_id.hex())
                parents.append(span.parent_span_id.hex())
                states.append(span.trace_state)
                names.append(span.name)
                kind = span.kind
                kinds.append(SPAN_KINDS[kind] if kind < 6 else "Unspecified")
                services.append(service)
                res_map.add(res_keys, res_values)
                scope_names.append(scope_name)
                scope_versions.append(scope_version)
                span_map.add(keys, values)
                durations.append(span.end_time_unix_nano - start)
                code = span.status.code
                codes.append(STATUS_CODES[code] if code < 3 else "Unset")
                message = span.status.message
                messages.append(scrubber.scrub_value(message) if message else "")
                if span.events:
                    ev_ts.append([e.time_unix_nano for e in span.events])
                    ev_names.append([e.name for e in span.events])
                    ev_attrs.append(
                        [
                            list(zip(*scrub_pairs(*_kv_lists(e.attributes)), strict=True))
                            for e in span.events
                        ]
                    )
                else:
                    ev_ts.append(empty)
                    ev_names.append(empty)
                    ev_attrs.append(empty)
                if span.links:
                    ln_trace.append([ln.trace_id.hex() for ln in span.links])
                    ln_span.append([ln.span_id.hex() for ln in span.links])
                    ln_state.append([ln.trace_state for ln in span.links])
                    ln_attrs.append(
                        [list(zip(*_kv_lists(ln.attributes), strict=True)) for ln in span.links]
                    )
                else:
                    ln_trace.append(empty)
                    ln_span.append(empty)
                    ln_state.append(empty)
                    ln_attrs.append(empty)
    string = pa.string()
    columns = [
        pa.array(ts, _TS),
        pa.array(trace_ids, string),
        pa.array(span_ids, string),
        pa.array(parents, string),
        pa.array(states, string),
        pa.array(names, string),
        pa.array(kinds, string),
        pa.array(services, string),
        res_map.array(),
        pa.array(scope_names, string),
        pa.array(scope_versions, string),
        span_map.array(),
        pa.array(durations, pa.uint64()),
        pa.array(codes, string),
        pa.array(messages, string),
        pa.array(ev_ts, pa.list_(_TS)),
        pa.array(ev_names, pa.list_(string)),
        pa.array(ev_attrs, pa.list_(_STR_MAP)),
        pa.array(ln_trace, pa.list_(string)),
        pa.array(ln_span, pa.list_(string)),
        pa.array(ln_state, pa.list_(string)),
        pa.array(ln_attrs, pa.list_(_STR_MAP)),
    ]
    table = pa.Table.from_arrays(columns, schema=TRACE_SCHEMA)
    return TraceBatch(table=table, accepted=table.num_rows, rejected=rejected)


def _span_problem(span: Any) -> str | None:
    name = span.name or "(unnamed)"
    if len(span.trace_id) != 16 or not any(span.trace_id):
        return f"span {name!r}: traceId must be 16 bytes (32 hex characters), not all zero"
    if len(span.span_id) != 8 or not any(span.span_id):
        return f"span {name!r}: spanId must be 8 bytes (16 hex characters), not all zero"
    if span.parent_span_id and len(span.parent_span_id) != 8:
        return f"span {name!r}: parentSpanId must be 8 bytes (16 hex characters) or empty"
    if span.start_time_unix_nano == 0:
        return f"span {name!r}: startTimeUnixNano is missing"
    if span.end_time_unix_nano < span.start_time_unix_nano:
        return f"span {name!r}: endTimeUnixNano is before startTimeUnixNano"
    if span.start_time_unix_nano >= 1 << 63:
        return f"span {name!r}: startTimeUnixNano is out of range"
    return None


_EVENT_FIELDS = (
    "event_id",
    "occurred_at",
    "correlation_id",
    "source_system",
    "site",
    "domain",
    "item_id",
    "supplier_id",
    "po_number",
    "invoice_number",
    "receipt_id",
    "quantity",
    "unit_price",
    "amount",
    "currency",
    "cost_center",
    "priority",
    "status",
    "expected_at",
    "promised_at",
    "due_at",
    "trace_id",
    "lines",
)
_CORRELATION_ALIASES = ("correlation_id", "correlation.id")


def log_records_to_events(
    request: ExportLogsServiceRequest,
    is_business_event: Callable[[str], bool],
    scrubber: PhiScrubber,
) -> tuple[list[tuple[int, dict[str, Any]]], int]:
    """Business-event dicts (with a running index for error reports) from the log records
    whose event.name is in the vocabulary; returns them and the count of other records."""
    out: list[tuple[int, dict[str, Any]]] = []
    ignored = 0
    index = 0
    for rl in request.resource_logs:
        res = {kv.key: any_value(kv.value) for kv in rl.resource.attributes}
        for sl in rl.scope_logs:
            for rec in sl.log_records:
                attrs = {kv.key: any_value(kv.value) for kv in rec.attributes}
                name = getattr(rec, "event_name", "") or attrs.pop("event.name", None)
                attrs.pop("event.name", None)
                if not isinstance(name, str) or not is_business_event(name):
                    ignored += 1
                    continue
                event: dict[str, Any] = {"event_type": name}
                for key in _EVENT_FIELDS:
                    if key in attrs:
                        event[key] = attrs.pop(key)
                corr = next((attrs.pop(k) for k in _CORRELATION_ALIASES if k in attrs), None)
                event.setdefault("correlation_id", corr or res.get("correlation.id"))
                event.setdefault("source_system", res.get("service.name"))
                if "occurred_at" not in event:
                    nanos = rec.time_unix_nano or rec.observed_time_unix_nano
                    if nanos:
                        event["occurred_at"] = _nanos_to_rfc3339(nanos)
                if "trace_id" not in event and rec.trace_id:
                    event["trace_id"] = rec.trace_id.hex()
                if "event_id" not in event:
                    # Stable across an exporter's retries of the same record.
                    event["event_id"] = (
                        "otlp-"
                        + hashlib.sha256(rec.SerializeToString(deterministic=True)).hexdigest()[:32]
                    )
                rest = {k: str(v) for k, v in attrs.items() if v is not None}
                if rest:
                    event["attributes"] = scrubber.scrub(rest)
                out.append((index, event))
                index += 1
    return out, ignored


def _nanos_to_rfc3339(nanos: int) -> str:
    from datetime import UTC, datetime

    return datetime.fromtimestamp(nanos / 1e9, tz=UTC).isoformat()
