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


def attrs_str(kvs: Iterable[Any]) -> dict[str, str]:
    return {kv.key: any_value_str(kv.value) for kv in kvs}


@dataclass
class TraceBatch:
    table: pa.Table
    accepted: int
    rejected: Rejections


def decode_traces(
    request: ExportTraceServiceRequest,
    scrubber: PhiScrubber,
    correlation_keys: tuple[str, ...],
) -> TraceBatch:
    cols: dict[str, list[Any]] = {name: [] for name in TRACE_SCHEMA.names}
    rejected = Rejections()
    extra_keys = tuple(k for k in correlation_keys if k != "correlation.id")
    scrub = scrubber.scrub
    for rs in request.resource_spans:
        res_attrs = scrub(attrs_str(rs.resource.attributes))
        res_list = list(res_attrs.items())
        service = res_attrs.get("service.name", "")
        res_corr = res_attrs.get("correlation.id") or next(
            (res_attrs[k] for k in extra_keys if res_attrs.get(k)), ""
        )
        for ss in rs.scope_spans:
            scope_name, scope_version = ss.scope.name, ss.scope.version
            for span in ss.spans:
                problem = _span_problem(span)
                if problem:
                    rejected.add(problem)
                    continue
                attrs = scrub(attrs_str(span.attributes))
                if not attrs.get("correlation.id"):
                    # Configured spellings (and the resource's) all land on one key.
                    found = next((attrs[k] for k in extra_keys if attrs.get(k)), "") or res_corr
                    if found:
                        attrs["correlation.id"] = found
                cols["Timestamp"].append(span.start_time_unix_nano)
                cols["TraceId"].append(span.trace_id.hex())
                cols["SpanId"].append(span.span_id.hex())
                cols["ParentSpanId"].append(span.parent_span_id.hex())
                cols["TraceState"].append(span.trace_state)
                cols["SpanName"].append(span.name)
                cols["SpanKind"].append(SPAN_KINDS[span.kind] if span.kind < 6 else "Unspecified")
                cols["ServiceName"].append(service)
                cols["ResourceAttributes"].append(res_list)
                cols["ScopeName"].append(scope_name)
                cols["ScopeVersion"].append(scope_version)
                cols["SpanAttributes"].append(list(attrs.items()))
                cols["Duration"].append(span.end_time_unix_nano - span.start_time_unix_nano)
                code = span.status.code
                cols["StatusCode"].append(STATUS_CODES[code] if code < 3 else "Unset")
                cols["StatusMessage"].append(scrubber.scrub_value(span.status.message))
                cols["Events.Timestamp"].append([e.time_unix_nano for e in span.events])
                cols["Events.Name"].append([e.name for e in span.events])
                cols["Events.Attributes"].append(
                    [list(scrub(attrs_str(e.attributes)).items()) for e in span.events]
                )
                cols["Links.TraceId"].append([ln.trace_id.hex() for ln in span.links])
                cols["Links.SpanId"].append([ln.span_id.hex() for ln in span.links])
                cols["Links.TraceState"].append([ln.trace_state for ln in span.links])
                cols["Links.Attributes"].append(
                    [list(attrs_str(ln.attributes).items()) for ln in span.links]
                )
    table = pa.table([pa.array(cols[f.name], f.type) for f in TRACE_SCHEMA], schema=TRACE_SCHEMA)
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
