"""Spans the collector refuses one by one: each named with its reason, its siblings kept."""

from __future__ import annotations

import time
from typing import Any

import pytest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

from collector.decode import Decoder
from rxsight.config import IngestConfig

GOOD: dict[str, Any] = {
    "trace_id": b"\x01" * 16,
    "span_id": b"\x02" * 8,
    "parent_span_id": b"",
    "start_time_unix_nano": time.time_ns() - 3600 * 10**9,
    "end_time_unix_nano": time.time_ns() - 3599 * 10**9,
}
DAY_NS = 86_400 * 10**9


def _decode(*spans: dict[str, Any]) -> tuple[int, str]:
    request = ExportTraceServiceRequest()
    scope = request.resource_spans.add().scope_spans.add()
    for n, fields in enumerate(spans):
        span = scope.spans.add(name=f"span-{n}")
        for key, value in {**GOOD, **fields}.items():
            setattr(span, key, value)
    decoded = Decoder(IngestConfig()).decode(
        "spans", request.SerializeToString(), "application/x-protobuf"
    )
    return decoded.accepted, decoded.message


@pytest.mark.parametrize(
    ("fields", "reason"),
    [
        ({"trace_id": b"\x01" * 15}, "traceId must be 16 bytes"),
        ({"trace_id": bytes(16)}, "traceId must be 16 bytes (32 hex characters), not all zero"),
        ({"trace_id": b""}, "traceId must be 16 bytes"),
        ({"span_id": b"\x02" * 9}, "spanId must be 8 bytes"),
        ({"span_id": bytes(8)}, "spanId must be 8 bytes (16 hex characters), not all zero"),
        ({"parent_span_id": b"\x03" * 7}, "parentSpanId must be 8 bytes"),
        ({"start_time_unix_nano": 0, "end_time_unix_nano": 0}, "startTimeUnixNano is missing"),
        (
            {"end_time_unix_nano": GOOD["start_time_unix_nano"] - 1},
            "endTimeUnixNano is before startTimeUnixNano",
        ),
        (
            {"start_time_unix_nano": 1 << 63, "end_time_unix_nano": 1 << 63},
            "startTimeUnixNano is more than 300 s in the future",
        ),
        (
            {"start_time_unix_nano": time.time_ns() - 31 * DAY_NS},
            "startTimeUnixNano is older than the traces retention (30 days)",
        ),
    ],
)
def test_a_bad_span_is_refused_by_name_with_its_reason_and_its_siblings_kept(
    fields: dict[str, Any], reason: str
) -> None:
    accepted, message = _decode(GOOD, fields, GOOD)
    assert accepted == 2
    assert message.startswith(f"span 'span-1': {reason}")


@pytest.mark.parametrize(
    "fields",
    [
        {"parent_span_id": b"\x03" * 8},
        {"trace_id": bytes(15) + b"\x01", "span_id": b"\x80" + bytes(7)},
        {"end_time_unix_nano": GOOD["start_time_unix_nano"]},  # zero duration
        {"start_time_unix_nano": time.time_ns() + 290 * 10**9, "end_time_unix_nano": (1 << 64) - 1},
        {"start_time_unix_nano": time.time_ns() - 29 * DAY_NS},
    ],
    ids=["with-parent", "one-bit-ids", "zero-duration", "latest-start", "oldest-start"],
)
def test_spans_at_the_edges_of_the_checks_are_accepted(fields: dict[str, Any]) -> None:
    assert _decode(fields) == (1, "")
