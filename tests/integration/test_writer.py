"""The batch writer against real chDB: replayed segments never double count."""

from __future__ import annotations

import time
from pathlib import Path

from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from prometheus_client import CollectorRegistry

from collector.decode import Decoder, ipc_bytes
from collector.events import events_table
from collector.spool import Spool
from collector.telemetry import IngestMetrics
from collector.writer import BatchWriter
from rxsight.config import IngestConfig, SpoolConfig
from rxsight.model import event_row
from rxsight.store import Store


def _events(n: int, prefix: str) -> bytes:
    return ipc_bytes(
        events_table(
            [
                event_row(
                    {
                        "event_id": f"{prefix}-{i}",
                        "event_type": "goods.received",
                        "occurred_at": "2026-11-20T10:00:00Z",
                        "correlation_id": prefix,
                        "source_system": "dock",
                    }
                )
                for i in range(n)
            ]
        )
    )


def _writer(store: Store, spool_dir: Path) -> tuple[Spool, BatchWriter, IngestMetrics]:
    spool = Spool(spool_dir, max_bytes=1 << 26)
    metrics = IngestMetrics(CollectorRegistry())
    return spool, BatchWriter(spool, store, SpoolConfig(), metrics), metrics


def test_a_segment_replayed_after_it_was_written_adds_nothing(store: Store, tmp_path: Path):
    spool, writer, metrics = _writer(store, tmp_path)
    spool.append("business_events", _events(100, "a"), 100)
    spool.seal()
    [segment] = spool.sealed()
    writer.write_segment(segment)
    # As after kill -9 between the insert and the segment's removal: the same segment again,
    # and an integration resending part of it in a new one. Neither may fail or add rows.
    writer.write_segment(segment)
    spool.append("business_events", _events(40, "a"), 40)
    spool.seal()
    writer.write_segment(spool.sealed()[-1])
    rows = store.query_rows("SELECT count(), uniqExact(event_id) FROM business_events")
    assert rows == [(100, 100)]
    assert metrics.items.labels("events", "duplicate")._value.get() == 140


def test_spans_replayed_from_the_same_segment_are_deduplicated(store: Store, tmp_path: Path):
    req = ExportTraceServiceRequest()
    scope = req.resource_spans.add().scope_spans.add()
    for i in range(50):
        span = scope.spans.add()
        span.trace_id, span.span_id, span.name = bytes([i + 1]) * 16, bytes([i + 1]) * 8, "s"
        now = time.time_ns()  # recent: older spans fall to the table's TTL at once
        span.start_time_unix_nano, span.end_time_unix_nano = now + i, now + i + 5
    decoded = Decoder(IngestConfig()).decode(
        "spans", req.SerializeToString(), "application/x-protobuf"
    )
    spool, writer, _ = _writer(store, tmp_path)
    spool.append("otel_traces", decoded.payload, decoded.accepted)
    spool.seal()
    [segment] = spool.sealed()
    writer.write_segment(segment)
    writer.write_segment(segment)  # the content-derived token makes ClickHouse drop it
    assert store.query_value("SELECT count() FROM otel_traces") == 50
