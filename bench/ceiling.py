"""In-process references for the ingest benchmark: the same decoding and writing on one
thread without HTTP (what the server adds on top), and the engine's write ceiling."""

from __future__ import annotations

import json
import time
from collections.abc import Callable

import pyarrow as pa

from collector.events import events_table
from collector.otlp.attributes import SpanAttributes
from collector.otlp.traces import decode_trace_body
from rxsight.app import migrate_store
from rxsight.config import IngestConfig
from rxsight.event_rows import event_row
from rxsight.phi import PhiScrubber
from rxsight.store import Store

INGEST = IngestConfig()  # the server's defaults, for the in-process references


def span_decoder() -> Callable[[bytes], pa.Table]:
    """The server's decoding of one OTLP protobuf span request into its table, with its own
    PHI scrubber and attribute cache, as a decode worker has."""
    scrubber = PhiScrubber(INGEST.phi)
    attributes = SpanAttributes(scrubber)

    def decode(body: bytes) -> pa.Table:
        return decode_trace_body(
            body, "application/x-protobuf", scrubber, INGEST.correlation_keys, attributes
        ).table

    return decode


def one_thread(store: Store, bodies: list[bytes]) -> float:
    """Spans/s of the issue's reference: one Python thread decoding OTLP protobuf with the
    server's decoder and inserting Arrow into chDB, as many spans at a time as the writer
    inserts. No HTTP, no spool, no second process. Runs in a database of its own, dropped
    afterwards, so none of its merges fall into the next round."""
    batch = INGEST.spool.batch_rows
    decode = span_decoder()
    migrate_store(store)
    started = time.perf_counter()
    pending: list[pa.Table] = []
    rows = total = 0
    for body in bodies:
        table = decode(body)
        pending.append(table)
        rows += table.num_rows
        if rows >= batch:
            store.insert_arrow("otel_traces", pa.concat_tables(pending))
            total, pending, rows = total + rows, [], 0
    if pending:
        store.insert_arrow("otel_traces", pa.concat_tables(pending))
        total += rows
    rate = total / (time.perf_counter() - started)
    store.command(f"DROP DATABASE {store.database} SYNC")
    store.close()
    return rate


def ceiling(
    store: Store, span_bodies: list[bytes], event_bodies: list[bytes]
) -> tuple[float, float]:
    """Rows/s of a bare Arrow insert into chDB of the same rows, decoded beforehand, as many
    at a time as the writer inserts."""
    batch = INGEST.spool.batch_rows
    spans = pa.concat_tables(map(span_decoder(), span_bodies))
    ev_table = events_table([event_row(e) for body in event_bodies for e in json.loads(body)])
    t = time.perf_counter()
    for start in range(0, spans.num_rows, batch):
        store.insert_arrow("otel_traces", spans.slice(start, batch))
    span_rate = spans.num_rows / (time.perf_counter() - t)
    t = time.perf_counter()
    for start in range(0, ev_table.num_rows, batch):
        store.insert_arrow("business_events", ev_table.slice(start, batch))
    event_rate = ev_table.num_rows / (time.perf_counter() - t)
    return span_rate, event_rate
