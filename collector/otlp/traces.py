"""Spans of an ExportTraceServiceRequest validated and flattened into otel_traces rows."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from itertools import accumulate
from typing import Any, NamedTuple

import pyarrow as pa
from google.protobuf.message import DecodeError, Message
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

from collector.otlp.attributes import MapColumn, SpanAttributes, kv_lists, raw_attributes_request
from collector.otlp.wire import OtlpDecodeError, Rejections, media_type, parse_request
from rxsight.event_checks import correlation_id_problem
from rxsight.phi import PhiScrubber

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


@dataclass
class TraceBatch:
    table: pa.Table
    accepted: int
    rejected: Rejections


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
    """A trace request body to a TraceBatch. Protobuf is read as a raw_attributes_request();
    OTLP/JSON, and a body that read or its attributes refuse, go through parse_request, so
    an unreadable body is refused with the very words of a full parse."""
    if media_type(content_type) == "application/x-protobuf":
        request = raw_attributes_request()()
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
    ExportTraceServiceRequest, or a raw_attributes_request() read with `raw_attributes` (which
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
    span_map = MapColumn()
    span_scope: list[int] = []
    scope_services: list[str] = []
    scope_names: list[str] = []
    scope_versions: list[str] = []
    scope_resources = MapColumn()
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
            return scrub_pairs(*kv_lists(kvs))

    else:
        span_pairs = raw_attributes.pairs
        learnt = iter(raw_attributes.learn(request))
    for rs in request.resource_spans:  # type: ignore[attr-defined]
        res_keys, res_values = scrub_pairs(*kv_lists(rs.resource.attributes))
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
                    list(zip(*scrub_pairs(*kv_lists(e.attributes)), strict=True))
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
                    list(zip(*scrub_pairs(*kv_lists(ln.attributes)), strict=True))
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
