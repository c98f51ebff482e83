"""Span attributes read raw (raw_attributes_request, SpanAttributes): the same rows, PHI counts
and whole-request errors as reading every KeyValue as a message."""

from __future__ import annotations

import random
from collections import Counter
from typing import Any

import pytest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

import collector.otlp.attributes
from collector.otlp.attributes import SpanAttributes, raw_attributes_request
from collector.otlp.traces import TraceBatch, decode_trace_body, decode_traces
from collector.otlp.wire import OtlpDecodeError, parse_request
from rxsight.config import PhiConfig
from rxsight.phi import PhiScrubber

PROTOBUF = "application/x-protobuf"
KEYS = ("correlation.id", "x-correlation-id", "correlation_id")
ATTRIBUTE_KEYS = [
    "correlation.id",
    "correlation_id",
    "x-correlation-id",
    "integration.flow",
    "site",
    "note",
    "email",
    "patient.name",
    "patient.room",
    "user.dob",
    "birth_date",
    "insurance.member_id",
]
ATTRIBUTE_VALUES: list[Any] = [
    "erp-po-sync",
    "",
    "ok",
    "123-45-6789",
    "call 555-123-4567 or jo@example.org",
    "MRN: AB12345",
    "DOB 1990-01-02",
    "ICU-3",
    "NDC-70121-1568-01",
    42,
    True,
    2.5,
    b"\x00\xff",
    ["a", "b"],
    {"x": "y"},
    None,
]


def _set(kvs: Any, key: str, value: Any) -> None:
    kv = kvs.add()
    kv.key = key
    if isinstance(value, bool):
        kv.value.bool_value = value
    elif isinstance(value, int):
        kv.value.int_value = value
    elif isinstance(value, float):
        kv.value.double_value = value
    elif isinstance(value, bytes):
        kv.value.bytes_value = value
    elif isinstance(value, list):
        for item in value:
            kv.value.array_value.values.add().string_value = item
    elif isinstance(value, dict):
        for k, v in value.items():
            entry = kv.value.kvlist_value.values.add()
            entry.key, entry.value.string_value = k, v
    elif value is not None:
        kv.value.string_value = value


def _request(rng: random.Random) -> ExportTraceServiceRequest:
    req = ExportTraceServiceRequest()
    for _ in range(rng.randint(1, 3)):
        rs = req.resource_spans.add()
        for key in rng.sample(["service.name", "correlation.id", "x-correlation-id", "note"], 2):
            _set(rs.resource.attributes, key, rng.choice(["erp", "", "corr-r", "123-45-6789"]))
        for _ in range(rng.randint(1, 2)):
            ss = rs.scope_spans.add()
            ss.scope.name = rng.choice(["", "lib"])
            for _ in range(rng.randint(0, 8)):
                span = ss.spans.add()
                span.trace_id = rng.choice([rng.randbytes(16), b"\0" * 16])
                span.span_id = rng.randbytes(8)
                span.name = "op"
                span.start_time_unix_nano = 10**18
                span.end_time_unix_nano = 10**18 + rng.randint(0, 10**9)
                span.status.message = rng.choice(["", "SSN 123-45-6789"])
                for _ in range(rng.randint(0, 6)):
                    _set(span.attributes, rng.choice(ATTRIBUTE_KEYS), rng.choice(ATTRIBUTE_VALUES))
                if rng.random() < 0.3:
                    event = span.events.add()
                    event.time_unix_nano = 10**18
                    _set(event.attributes, "note", rng.choice(ATTRIBUTE_VALUES))
    return req


def _decoded_raw(
    body: bytes, attributes: SpanAttributes, scrubber: PhiScrubber
) -> tuple[TraceBatch, Counter[str]]:
    before = Counter(scrubber.counts)
    batch = decode_trace_body(body, PROTOBUF, scrubber, KEYS, attributes)
    return batch, scrubber.counts - before


def _decoded_messages(body: bytes, config: PhiConfig) -> tuple[TraceBatch, Counter[str]]:
    scrubber = PhiScrubber(config)
    request = parse_request(body, PROTOBUF, ExportTraceServiceRequest)
    return decode_traces(request, scrubber, KEYS), scrubber.counts


def _assert_same(got: tuple[TraceBatch, Counter[str]], want: tuple[TraceBatch, Counter[str]]):
    assert got[0].table.equals(want[0].table)
    assert got[0].rejected == want[0].rejected
    assert got[1] == want[1]


@pytest.mark.parametrize(
    "config",
    [
        PhiConfig(drop_keys=("patient.name", "insurance.member_id")),
        PhiConfig(redact_patterns=False),
        PhiConfig(drop_keys=(), redact_patterns=False),
    ],
)
def test_rows_and_phi_counts_are_those_of_the_message_path(config):
    rng = random.Random(11)
    scrubber = PhiScrubber(config)
    attributes = SpanAttributes(scrubber)
    bodies = [_request(rng).SerializeToString() for _ in range(40)]
    # Twice over: first while the attributes are being learnt, then from what was learnt.
    for body in bodies + bodies:
        _assert_same(_decoded_raw(body, attributes, scrubber), _decoded_messages(body, config))


def test_a_full_cache_starts_again_without_losing_a_request(monkeypatch):
    monkeypatch.setattr(collector.otlp.attributes, "_RAW_CACHE_LIMIT", 3)
    rng = random.Random(3)
    scrubber = PhiScrubber(PhiConfig())
    attributes = SpanAttributes(scrubber)
    for _ in range(20):
        body = _request(rng).SerializeToString()
        _assert_same(_decoded_raw(body, attributes, scrubber), _decoded_messages(body, PhiConfig()))


def _with_raw_attribute(raw: bytes, valid_span: bool) -> bytes:
    req = raw_attributes_request()()
    span = req.resource_spans.add().scope_spans.add().spans.add()  # type: ignore[attr-defined]
    span.trace_id = b"1" * 16 if valid_span else b"\0" * 16  # an invalid span is rejected
    span.span_id, span.start_time_unix_nano, span.end_time_unix_nano = b"2" * 8, 10**18, 10**18
    span.attributes.append(raw)
    return req.SerializeToString()


def _assert_refused_alike(body: bytes) -> None:
    with pytest.raises(OtlpDecodeError) as want:
        parse_request(body, PROTOBUF, ExportTraceServiceRequest)
    scrubber = PhiScrubber(PhiConfig())
    with pytest.raises(OtlpDecodeError) as got:
        decode_trace_body(body, PROTOBUF, scrubber, KEYS, SpanAttributes(scrubber))
    assert str(got.value) == str(want.value)


UTF8_KEY = b"\n\x02\xff\xfe"
TRUNCATED_KEY = b"\n\x05abc"


@pytest.mark.parametrize("valid_span", [True, False])
@pytest.mark.parametrize(
    "raw",
    [
        UTF8_KEY,
        b"\n\x01k\x12\x03\n\x01\xff",  # string value not UTF-8
        TRUNCATED_KEY,
        b"\n\x01k\x12\x02\x18",  # truncated AnyValue
        b"\x0f",  # a tag with no field
    ],
)
def test_a_malformed_attribute_fails_the_request_as_a_full_parse_does(raw, valid_span):
    good = _request(random.Random(1)).SerializeToString()
    _assert_refused_alike(good + _with_raw_attribute(raw, valid_span))
    _assert_refused_alike(_with_raw_attribute(raw, True) + good)


def test_of_two_malformed_attributes_the_one_a_full_parse_meets_first_is_reported():
    _assert_refused_alike(
        _with_raw_attribute(UTF8_KEY, False) + _with_raw_attribute(TRUNCATED_KEY, True)
    )
    _assert_refused_alike(
        _with_raw_attribute(TRUNCATED_KEY, False) + _with_raw_attribute(UTF8_KEY, True)
    )


def test_nesting_is_limited_at_the_same_depth_as_a_full_parse():
    outcomes = set()
    for depth in range(30, 70):
        req = ExportTraceServiceRequest()
        span = req.resource_spans.add().scope_spans.add().spans.add()
        span.trace_id, span.span_id, span.start_time_unix_nano = b"1" * 16, b"2" * 8, 10**18
        span.end_time_unix_nano = 10**18
        kv = span.attributes.add()
        kv.key, value = "deep", kv.value
        for _ in range(depth):
            value = value.array_value.values.add()
        value.string_value = "x"
        body = req.SerializeToString()
        try:
            want = _decoded_messages(body, PhiConfig())
        except OtlpDecodeError:
            _assert_refused_alike(body)
            outcomes.add("refused")
        else:
            scrubber = PhiScrubber(PhiConfig())
            _assert_same(_decoded_raw(body, SpanAttributes(scrubber), scrubber), want)
            outcomes.add("read")
    assert outcomes == {"read", "refused"}  # the limit lies inside the range tried


def test_attributes_forgotten_between_learning_and_reading_are_learnt_again():
    # As when a decode in another thread clears the full cache in between.
    scrubber = PhiScrubber(PhiConfig())
    attributes = SpanAttributes(scrubber)
    learn = attributes.learn

    def learn_then_forget(request: Any) -> list[list[list[bytes]]]:
        scopes = learn(request)
        attributes._known.clear()
        return scopes

    attributes.learn = learn_then_forget  # type: ignore[method-assign]
    body = _request(random.Random(8)).SerializeToString()
    _assert_same(_decoded_raw(body, attributes, scrubber), _decoded_messages(body, PhiConfig()))


def test_span_events_and_links_land_in_their_nested_columns():
    def decoded(with_extras: bool) -> dict[str, list[Any]]:
        req = ExportTraceServiceRequest()
        spans = req.resource_spans.add().scope_spans.add().spans
        for n in (1, 2):
            span = spans.add()
            span.trace_id, span.span_id, span.name = bytes([n]) * 16, bytes([n]) * 8, "op"
            span.start_time_unix_nano, span.end_time_unix_nano = 10**18, 10**18 + 5
        if with_extras:
            event = spans[1].events.add()
            event.time_unix_nano, event.name = 10**18 + 1, "retry"
            _set(event.attributes, "attempt", "2")
            link = spans[1].links.add()
            link.trace_id, link.span_id = b"\x07" * 16, b"\x07" * 8
        scrubber = PhiScrubber(PhiConfig())
        body = req.SerializeToString()
        batch = decode_trace_body(body, PROTOBUF, scrubber, KEYS, SpanAttributes(scrubber))
        return batch.table.to_pydict()

    plain = decoded(with_extras=False)
    assert plain["Events.Name"] == [[], []]
    assert plain["Links.TraceId"] == [[], []]
    extras = decoded(with_extras=True)
    assert extras["Events.Name"] == [[], ["retry"]]
    assert extras["Events.Attributes"] == [[], [[("attempt", "2")]]]
    assert extras["Links.TraceId"] == [[], ["07" * 16]]
    assert extras["Links.SpanId"] == [[], ["07" * 8]]
