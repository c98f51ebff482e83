"""OTLP decoding: ExportTrace/LogsServiceRequest (protobuf or OTLP/JSON) to store rows."""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from itertools import accumulate, chain
from typing import Any, NamedTuple

import orjson
import pyarrow as pa
from google.protobuf import descriptor_pb2, descriptor_pool, json_format, message_factory
from google.protobuf.message import DecodeError, Message
from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceRequest
from opentelemetry.proto.collector.trace.v1 import trace_service_pb2
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.proto.common.v1 import common_pb2
from opentelemetry.proto.resource.v1 import resource_pb2
from opentelemetry.proto.trace.v1 import trace_pb2

from collector.events import UnsupportedMediaType
from collector.phi import PhiScrubber
from rxsight.event_checks import correlation_id_problem

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


def _media_type(content_type: str) -> str:
    return content_type.split(";")[0].strip().lower()


def parse_request(body: bytes, content_type: str, message: type[Message]) -> Message:
    ctype = _media_type(content_type)
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


def _raw_attributes_request() -> type[Message]:
    # The same wire format with Span.attributes declared `repeated bytes`: upb then hands
    # each attribute over as its encoded KeyValue instead of two message objects, which cost
    # more than all the rest of a span. The other messages are the real ones, so they are
    # checked as they always were.
    pool = descriptor_pool.DescriptorPool()
    for module in (common_pb2, resource_pb2, trace_pb2, trace_service_pb2):
        file = descriptor_pb2.FileDescriptorProto.FromString(module.DESCRIPTOR.serialized_pb)
        if module is trace_pb2:
            span = next(m for m in file.message_type if m.name == "Span")
            attributes = next(f for f in span.field if f.name == "attributes")
            attributes.type = descriptor_pb2.FieldDescriptorProto.TYPE_BYTES
            attributes.ClearField("type_name")
        pool.Add(file)
    name = ExportTraceServiceRequest.DESCRIPTOR.full_name
    return message_factory.GetMessageClass(pool.FindMessageTypeByName(name))


RawAttributesRequest = _raw_attributes_request()
# New correlation IDs never stop coming, so the cache of encoded attributes starts over
# when it holds this many (about 7 MB); relearning the attributes that recur is cheap.
_RAW_CACHE_LIMIT = 20_000


class SpanAttributes:
    """Span attributes of a RawAttributesRequest as scrubbed key and value lists. The same
    attributes recur on span after span (flow, site, status), so each distinct encoded
    KeyValue is decoded and scrubbed once, and afterwards found by its bytes."""

    def __init__(self, scrubber: PhiScrubber) -> None:
        self._scrubber = scrubber
        self._known: dict[bytes, tuple[str | None, str, tuple[str, ...]]] = {}

    def learn(self, request: Message) -> list[list[list[bytes]]]:
        """Per scope of the request, in order, each span's encoded attributes, once those
        never seen before are learnt. An attribute that is not a valid KeyValue raises
        OtlpDecodeError, before anything is counted."""
        if len(self._known) > _RAW_CACHE_LIMIT:
            self._known.clear()
        # A slice is one call for the whole list, far cheaper than iterating upb.
        scopes = [
            [span.attributes[:] for span in ss.spans]
            for rs in request.resource_spans  # type: ignore[attr-defined]
            for ss in rs.scope_spans
        ]
        every = chain.from_iterable(chain.from_iterable(scopes))
        new = [raw for raw in dict.fromkeys(every) if raw not in self._known]
        if new:
            self._learn(new)
        return scopes

    def pairs(self, raws: list[bytes]) -> tuple[list[str], list[str]]:
        """The scrubbed pairs of one span's attributes, from learn(); PHI counted."""
        known = self._known
        counts = self._scrubber.counts
        keys: list[str] = []
        values: list[str] = []
        for raw in raws:
            try:
                key, value, kinds = known[raw]
            except KeyError:  # forgotten since learn(): a decode in another thread cleared it
                [(key, value, kinds)] = self._learn([raw])
            if kinds:
                counts.update(kinds)
            if key is not None:
                keys.append(key)
                values.append(value)
        return keys, values

    def _learn(self, raws: list[bytes]) -> list[tuple[str | None, str, tuple[str, ...]]]:
        # Parsed where they sat in the request (span attributes, at the same depth), so they
        # meet the same checks as in a full parse.
        probe = RawAttributesRequest()
        probe.resource_spans.add().scope_spans.add().spans.add().attributes.extend(raws)  # type: ignore[attr-defined]
        parsed = parse_request(
            probe.SerializeToString(), "application/x-protobuf", ExportTraceServiceRequest
        )
        keys, texts = _kv_lists(parsed.resource_spans[0].scope_spans[0].spans[0].attributes)  # type: ignore[attr-defined]
        verdicts = [
            self._scrubber.verdict(key, text) for key, text in zip(keys, texts, strict=True)
        ]
        self._known.update(zip(raws, verdicts, strict=True))
        return verdicts


_MAX_START = 1 << 63  # Timestamp is DateTime64(9): signed nanoseconds


class StartWindow(NamedTuple):
    """The span starts a store keeps: not older than the traces retention, not further in
    the future than the allowed skew (nanoseconds since the epoch, `latest` excluded)."""

    oldest: int = 1
    latest: int = _MAX_START
    retention_days: int = 0
    future_skew_s: float = 0


def decode_trace_body(
    body: bytes,
    content_type: str,
    scrubber: PhiScrubber,
    correlation_keys: tuple[str, ...],
    raw_attributes: SpanAttributes,
    window: StartWindow = StartWindow(),
) -> TraceBatch:
    """A trace request body to a TraceBatch. Protobuf is read as a RawAttributesRequest;
    OTLP/JSON, and a body that read or its attributes refuse, go through parse_request, so
    an unreadable body is refused with the very words of a full parse."""
    if _media_type(content_type) == "application/x-protobuf":
        request = RawAttributesRequest()
        try:
            request.ParseFromString(body)
        except (DecodeError, RuntimeError, ValueError):
            pass
        else:
            try:
                return decode_traces(request, scrubber, correlation_keys, raw_attributes, window)
            except OtlpDecodeError:
                pass  # a malformed attribute, found before anything was counted
    request = parse_request(body, content_type, ExportTraceServiceRequest)
    return decode_traces(request, scrubber, correlation_keys, window=window)


def decode_traces(
    request: Message,
    scrubber: PhiScrubber,
    correlation_keys: tuple[str, ...],
    raw_attributes: SpanAttributes | None = None,
    window: StartWindow = StartWindow(),
) -> TraceBatch:
    """Validate and flatten spans into an Arrow table shaped like otel_traces. `request` is an
    ExportTraceServiceRequest, or a RawAttributesRequest read with `raw_attributes` (which
    raises OtlpDecodeError for a malformed attribute). This loop is the ingest hot path: per
    span, each field is read from upb once and appended; what is the same for a whole scope
    is written once per scope."""
    ts: list[int] = []
    trace_ids: list[str] = []
    span_ids: list[str] = []
    parents: list[str] = []
    states: list[str] = []
    names: list[str] = []
    kinds: list[str] = []
    durations: list[int] = []
    codes: list[str] = []
    messages: list[str] = []
    span_map = _MapColumn()
    span_scope: list[int] = []
    scope_services: list[str] = []
    scope_names: list[str] = []
    scope_versions: list[str] = []
    scope_resources = _MapColumn()
    # Few spans carry events or links: their rows are noted here, and the columns built
    # after the loop from offsets.
    with_events: list[tuple[int, Any]] = []
    with_links: list[tuple[int, Any]] = []
    rejected = Rejections()
    extra_keys = tuple(k for k in correlation_keys if k != "correlation.id")
    oldest, latest = window.oldest, window.latest
    scrub_pairs = scrubber.scrub_pairs
    scrub_value = scrubber.scrub_value
    scrub_text = scrubber.scrub_text
    if raw_attributes is None:

        def span_pairs(kvs: Iterable[Any]) -> tuple[list[str], list[str]]:
            return scrub_pairs(*_kv_lists(kvs))

    else:
        span_pairs = raw_attributes.pairs
        learnt = iter(raw_attributes.learn(request))
    for rs in request.resource_spans:  # type: ignore[attr-defined]
        res_keys, res_values = scrub_pairs(*_kv_lists(rs.resource.attributes))
        res = dict(zip(res_keys, res_values, strict=True))
        service = res.get("service.name", "")
        res_corr = res.get("correlation.id") or next((res[k] for k in extra_keys if res.get(k)), "")
        for ss in rs.scope_spans:
            first = len(ts)
            spans = ss.spans
            if raw_attributes is None:
                attribute_lists: list[Any] = [span.attributes for span in spans]
            else:
                attribute_lists = next(learnt)
            for span, attributes in zip(spans, attribute_lists, strict=True):
                name = span.name
                trace_id, span_id, parent = span.trace_id, span.span_id, span.parent_span_id
                start, end = span.start_time_unix_nano, span.end_time_unix_nano
                if (
                    len(trace_id) != 16
                    or trace_id == _ZERO_TRACE_ID
                    or len(span_id) != 8
                    or span_id == _ZERO_SPAN_ID
                    or (parent and len(parent) != 8)
                    or not 0 < start <= end
                    or not oldest <= start < latest
                ):
                    # The checks _span_problem words, in one expression: calling it for
                    # every span cost 4 % of decoding one (bench: 5.68 -> 5.43 us).
                    rejected.add(_span_problem(name, trace_id, span_id, parent, start, end, window))
                    continue
                keys, values = span_pairs(attributes)
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
                    correlation = found
                else:
                    correlation = values[keys.index("correlation.id")]
                if correlation and (
                    "/" in correlation or correlation in (".", "..") or _REDACTED in correlation
                ):
                    rejected.add(f"span {scrub_value(name)!r}: {_correlation_problem(correlation)}")
                    continue
                span_map.add(keys, values)
                ts.append(start)
                durations.append(end - start)
                trace_ids.append(trace_id.hex())
                span_ids.append(span_id.hex())
                parents.append(parent.hex())
                states.append(scrub_text(span.trace_state))
                names.append(scrub_text(name))
                kind = span.kind
                kinds.append(SPAN_KINDS[kind] if kind < 6 else "Unspecified")
                status = span.status
                code = status.code
                codes.append(STATUS_CODES[code] if code < 3 else "Unset")
                message = status.message
                messages.append(scrub_text(message) if message else "")
                events = span.events
                if events:
                    with_events.append((len(ts) - 1, events))
                links = span.links
                if links:
                    with_links.append((len(ts) - 1, links))
            if len(ts) > first:
                span_scope += [len(scope_names)] * (len(ts) - first)
                scope_services.append(service)
                scope_names.append(scrub_text(ss.scope.name))
                scope_versions.append(scrub_text(ss.scope.version))
                scope_resources.add(res_keys, res_values)
    string = pa.string()
    every_event = [e for _, span_events in with_events for e in span_events]
    ev_offsets = _sparse_offsets(len(ts), with_events)
    event_columns = [
        pa.ListArray.from_arrays(ev_offsets, values)
        for values in (
            pa.array([e.time_unix_nano for e in every_event], _TS),
            pa.array([scrub_text(e.name) for e in every_event], string),
            pa.array(
                [
                    list(zip(*scrub_pairs(*_kv_lists(e.attributes)), strict=True))
                    for e in every_event
                ],
                _STR_MAP,
            ),
        )
    ]
    every_link = [ln for _, span_links in with_links for ln in span_links]
    ln_offsets = _sparse_offsets(len(ts), with_links)
    link_columns = [
        pa.ListArray.from_arrays(ln_offsets, values)
        for values in (
            pa.array([ln.trace_id.hex() for ln in every_link], string),
            pa.array([ln.span_id.hex() for ln in every_link], string),
            pa.array([scrub_text(ln.trace_state) for ln in every_link], string),
            pa.array(
                [
                    list(zip(*scrub_pairs(*_kv_lists(ln.attributes)), strict=True))
                    for ln in every_link
                ],
                _STR_MAP,
            ),
        )
    ]
    scope_of_span = pa.array(span_scope, pa.int32())
    columns = [
        pa.array(ts, _TS),
        pa.array(trace_ids, string),
        pa.array(span_ids, string),
        pa.array(parents, string),
        pa.array(states, string),
        pa.array(names, string),
        pa.array(kinds, string),
        pa.array(scope_services, string).take(scope_of_span),
        scope_resources.array().take(scope_of_span),
        pa.array(scope_names, string).take(scope_of_span),
        pa.array(scope_versions, string).take(scope_of_span),
        span_map.array(),
        pa.array(durations, pa.uint64()),
        pa.array(codes, string),
        pa.array(messages, string),
        *event_columns,
        *link_columns,
    ]
    table = pa.Table.from_arrays(columns, schema=TRACE_SCHEMA)
    return TraceBatch(table=table, accepted=table.num_rows, rejected=rejected)


def _sparse_offsets(rows: int, filled: list[tuple[int, Any]]) -> pa.Array:
    """List offsets for `rows` rows, all empty but those in `filled` (row, items)."""
    if not filled:  # spans seldom carry events or links
        return pa.repeat(pa.scalar(0, pa.int32()), rows + 1)
    lengths = [0] * rows
    for row, items in filled:
        lengths[row] = len(items)
    return pa.array([0, *accumulate(lengths)], pa.int32())


_ZERO_TRACE_ID, _ZERO_SPAN_ID = bytes(16), bytes(8)

# Attribute values arrive here scrubbed: a correlation ID that held a patient identifier
# now holds its redaction mark, and an identifier is refused rather than rewritten.
_REDACTED = "[REDACTED"


def _correlation_problem(value: str) -> str:
    if _REDACTED in value:
        return "correlation.id: looks like a patient identifier; identifiers must not carry PHI"
    return correlation_id_problem(value, "correlation.id") or "correlation.id: not readable"


def _span_problem(
    name: str,
    trace_id: bytes,
    span_id: bytes,
    parent: bytes,
    start: int,
    end: int,
    window: StartWindow,
) -> str:
    """Why decode_traces refuses this span."""
    name = name or "(unnamed)"
    if len(trace_id) != 16 or trace_id == _ZERO_TRACE_ID:
        return f"span {name!r}: traceId must be 16 bytes (32 hex characters), not all zero"
    if len(span_id) != 8 or span_id == _ZERO_SPAN_ID:
        return f"span {name!r}: spanId must be 8 bytes (16 hex characters), not all zero"
    if parent and len(parent) != 8:
        return f"span {name!r}: parentSpanId must be 8 bytes (16 hex characters) or empty"
    if start == 0:
        return f"span {name!r}: startTimeUnixNano is missing"
    if end < start:
        return f"span {name!r}: endTimeUnixNano is before startTimeUnixNano"
    if start < window.oldest and window.retention_days:
        return (
            f"span {name!r}: startTimeUnixNano is older than the traces retention "
            f"({window.retention_days} days)"
        )
    if start >= window.latest and window.latest != _MAX_START:
        return (
            f"span {name!r}: startTimeUnixNano is more than {window.future_skew_s:g} s "
            "in the future (ingest.future_skew_s)"
        )
    return f"span {name!r}: startTimeUnixNano is out of range"


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
                rest = {k: _attribute_text(v) for k, v in attrs.items() if v is not None}
                if rest:
                    event["attributes"] = scrubber.scrub(rest)
                out.append((index, event))
                index += 1
    return out, ignored


def _attribute_text(value: Any) -> str:
    """A log attribute's value as an event attribute's string; nested lists as JSON, as on
    spans, so the PHI scrubber reads their keys."""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dict | list):
        return json.dumps(value, separators=(",", ":"), default=str)
    return str(value)


def _nanos_to_rfc3339(nanos: int) -> str:
    from datetime import UTC, datetime

    return datetime.fromtimestamp(nanos / 1e9, tz=UTC).isoformat()
