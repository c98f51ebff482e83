"""The batch writer against real chDB: replayed segments never double count."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from prometheus_client import CollectorRegistry

from collector.decode import Decoder
from collector.events import events_table
from collector.spool import Spool
from collector.telemetry import IngestMetrics
from collector.writer import BatchWriter, json_lists
from rxsight.config import IngestConfig, SpoolConfig
from rxsight.event_rows import event_row
from rxsight.store import Store
from rxsight.store.arrow import ipc_bytes
from rxsight.store.client import SERVER_BOUND_PARAMETER_BYTES
from rxsight.stored import StoredBatch


def _events(n: int, prefix: str, *, own_transactions: bool = False) -> bytes:
    return ipc_bytes(
        events_table(
            [
                event_row(
                    {
                        "event_id": f"{prefix}-{i}",
                        "event_type": "goods.received",
                        "occurred_at": "2026-11-20T10:00:00Z",
                        "correlation_id": f"{prefix}-{i}" if own_transactions else prefix,
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


def test_an_event_sent_twice_before_either_was_written_is_stored_once(store: Store, tmp_path: Path):
    spool, writer, metrics = _writer(store, tmp_path)
    spool.append("business_events", _events(30, "twice"), 30)
    spool.append("business_events", _events(30, "twice"), 30)  # a resend, same segment
    spool.seal()
    [segment] = spool.sealed()
    writer.write_segment(segment)
    assert store.query_rows("SELECT count(), uniqExact(event_id) FROM business_events") == [
        (30, 30)
    ]
    assert metrics.items.labels("events", "duplicate")._value.get() == 30


@pytest.mark.parametrize(
    "lookup_bytes", [None, SERVER_BOUND_PARAMETER_BYTES], ids=["chdb", "server-bound"]
)
def test_a_replay_of_thousands_of_transactions_adds_nothing(
    store: Store, tmp_path: Path, lookup_bytes: int | None
):
    # In one lookup of stored event IDs, as chDB takes it, and in the several a server's limit
    # on a bound parameter makes of these correlation IDs (collector/writer.py).
    spool, writer, metrics = _writer(store, tmp_path)
    writer.lookup_bytes = lookup_bytes
    prefix = "replenishment-request-mercy-main-pharmacy"
    lookups = list(json_lists(sorted(f"{prefix}-{i}" for i in range(5_000)), lookup_bytes))
    assert (len(lookups) > 1) == (lookup_bytes is not None)
    spool.append("business_events", _events(5_000, prefix, own_transactions=True), 5_000)
    spool.seal()
    [segment] = spool.sealed()
    writer.write_segment(segment)
    writer.write_segment(segment)
    rows = store.query_rows("SELECT count(), uniqExact(correlation_id) FROM business_events")
    assert rows == [(5_000, 5_000)]
    assert metrics.items.labels("events", "duplicate")._value.get() == 5_000


def test_a_replay_is_recognised_whatever_characters_its_correlation_ids_hold(
    store: Store, tmp_path: Path
):
    spool, writer, metrics = _writer(store, tmp_path)
    odd = ['PO "7", line 1', "C:\\inbound\\850", "Mañana/Köln-ü", "tab\there", "emoji-\U0001f48a"]
    for correlation_id in odd:
        spool.append("business_events", _events(2, correlation_id), 2)
    spool.seal()
    [segment] = spool.sealed()
    writer.write_segment(segment)
    writer.write_segment(segment)
    assert sorted(
        store.query_rows("SELECT DISTINCT correlation_id FROM business_events")
    ) == sorted((c,) for c in odd)
    assert store.query_value("SELECT count() FROM business_events") == 10
    assert metrics.items.labels("events", "duplicate")._value.get() == 10


def _spans(n: int, first: int = 0) -> bytes:
    req = ExportTraceServiceRequest()
    scope = req.resource_spans.add().scope_spans.add()
    for i in range(first, first + n):
        span = scope.spans.add()
        span.trace_id, span.span_id, span.name = (i + 1).to_bytes(16), (i + 1).to_bytes(8), "s"
        now = time.time_ns()  # recent: older spans fall to the table's TTL at once
        span.start_time_unix_nano, span.end_time_unix_nano = now + i, now + i + 5
    decoded = Decoder(IngestConfig()).decode(
        "spans", req.SerializeToString(), "application/x-protobuf"
    )
    assert decoded.payload is not None
    return decoded.payload


def test_spans_replayed_from_the_same_segment_are_deduplicated(store: Store, tmp_path: Path):
    spool, writer, _ = _writer(store, tmp_path)
    spool.append("otel_traces", _spans(50), 50)
    spool.seal()
    [segment] = spool.sealed()
    writer.write_segment(segment)
    writer.write_segment(segment)  # the content-derived token makes ClickHouse drop it
    assert store.query_value("SELECT count() FROM otel_traces") == 50


def test_segments_written_together_then_again_one_by_one_add_nothing(store: Store, tmp_path: Path):
    spool, writer, metrics = _writer(store, tmp_path)
    for n, first in ((30, 0), (20, 30)):
        spool.append("business_events", _events(n, f"seg{first}"), n)
        spool.append("otel_traces", _spans(n, first), n)
        spool.seal()
    first, second = spool.sealed()
    writer.write_segments([first, second])
    # A crash before the two were removed: the replay may group them differently.
    writer.write_segment(first)
    writer.write_segment(second)
    assert store.query_rows("SELECT count(), uniqExact(event_id) FROM business_events") == [
        (50, 50)
    ]
    assert store.query_value("SELECT count() FROM otel_traces") == 50
    assert metrics.items.labels("events", "duplicate")._value.get() == 50


def test_a_segment_the_store_refuses_is_set_aside_and_the_others_are_written(
    store: Store, tmp_path: Path
):
    spool, writer, metrics = _writer(store, tmp_path)
    spool.append("business_events", _events(10, "before"), 10)
    spool.seal()
    spool.append("no_such_table", _events(5, "refused"), 5)
    spool.seal()
    spool.append("business_events", _events(10, "after"), 10)
    spool.seal()
    refused = spool.sealed()[1]
    writer.start()
    try:
        deadline = time.monotonic() + 30
        while spool.sealed() and time.monotonic() < deadline:
            time.sleep(0.1)
    finally:
        writer.stop()
    assert spool.sealed() == []
    assert (tmp_path / "quarantine" / refused.path.name).exists()
    assert metrics.quarantined._value.get() == 1
    assert store.query_rows(
        "SELECT correlation_id, count() FROM business_events GROUP BY correlation_id ORDER BY 1"
    ) == [("after", 10), ("before", 10)]


@pytest.mark.parametrize("embedded", [True, False], ids=["chdb", "server-shaped"])
def test_spans_of_many_requests_and_events_partly_stored_keep_every_value(
    store: Store, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, embedded: bool
):
    # The spans go in as the requests' own Arrow streams, joined; the events of a group that
    # holds some stored ones go in as one stream of the new ones. Either way every column
    # arrives as decoded, and so do the columns the store derives. "server-shaped" sends what
    # a ClickHouse server would get (a table, through the driver), here to chDB.
    monkeypatch.setattr(Store, "embedded", property(lambda _: embedded))
    spool, writer, metrics = _writer(store, tmp_path)
    spool.append("business_events", _events(3, "PO-1"), 3)
    spool.seal()
    writer.write_segment(spool.sealed()[0])
    for first in (0, 7, 19):
        spool.append("otel_traces", _spans(first + 1, first), first + 1)
    line = {"line_no": 2, "item_id": "NDC-0409-4888-01", "quantity": "12.5", "unit_price": "3.25"}
    spool.append(
        "business_events",
        ipc_bytes(
            events_table(
                [
                    event_row(
                        {
                            "event_id": f"PO-1-{i}",
                            "event_type": "po.created",
                            "occurred_at": "2026-11-20T10:00:00Z",
                            "correlation_id": "PO-1",
                            "source_system": "erp",
                            "po_number": "PO-1",
                            "lines": [line],
                            "attributes": {"edi.doc": "850"},
                        }
                    )
                    for i in range(5)
                ]
            )
        ),
        5,
    )
    spool.seal()
    writer.write_segment(spool.sealed()[-1])
    assert metrics.items.labels("events", "duplicate")._value.get() == 3
    assert metrics.rows_written.labels("otel_traces")._value.get() == 1 + 8 + 20
    spans = store.query_rows("SELECT count(), uniqExact(SpanId), min(Duration) FROM otel_traces")
    assert spans == [(29, 29, 5)]
    assert store.query_rows(
        "SELECT event_id, event_type, lines.item_id, toString(lines.quantity[1]), "
        "toString(lines.unit_price[1]), attributes['edi.doc'] FROM business_events "
        "WHERE event_id IN ('PO-1-3', 'PO-1-4') ORDER BY event_id"
    ) == [(f"PO-1-{i}", "po.created", ["NDC-0409-4888-01"], "12.5", "3.25", "850") for i in (3, 4)]
    assert store.query_value("SELECT count() FROM business_events") == 5


def test_the_writer_announces_each_stored_batch_with_its_new_rows(store: Store, tmp_path: Path):
    spool = Spool(tmp_path, max_bytes=1 << 26)
    heard: list[StoredBatch] = []
    writer = BatchWriter(
        spool, store, SpoolConfig(), IngestMetrics(CollectorRegistry()), on_stored=heard.append
    )
    writer.start()
    try:
        spool.append("business_events", _events(30, "told"), 30)
        spool.seal()
        deadline = time.monotonic() + 30
        while not heard and time.monotonic() < deadline:
            time.sleep(0.05)
        assert [b.rows for b in heard] == [{"business_events": 30}]
        # When the listener hears of it, the rows are there to read.
        assert store.query_value("SELECT count() FROM business_events") == 30
        # The same events again are no news: nothing is announced.
        spool.append("business_events", _events(30, "told"), 30)
        spool.seal()
        while spool.sealed() and time.monotonic() < deadline:
            time.sleep(0.05)
        time.sleep(0.2)
        assert len(heard) == 1
    finally:
        writer.stop()
