"""The collector's own Prometheus metrics, registered in the registry the app hands in."""

from __future__ import annotations

from collections.abc import Callable, Iterable

from prometheus_client import CollectorRegistry, Counter, Histogram
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.registry import Collector as _PromCollector


class IngestMetrics:
    def __init__(self, registry: CollectorRegistry) -> None:
        self.requests = Counter(
            "rxsight_ingest_requests",
            "Ingest requests by signal and HTTP/gRPC status",
            ["signal", "status"],
            registry=registry,
        )
        self.items = Counter(
            "rxsight_ingest_items",
            "Ingested items by signal (spans, events, logs) and outcome "
            "(accepted, rejected, duplicate, ignored)",
            ["signal", "outcome"],
            registry=registry,
        )
        self.rows_written = Counter(
            "rxsight_store_rows_written",
            "Rows written to the store by table",
            ["table"],
            registry=registry,
        )
        self.insert_seconds = Histogram(
            "rxsight_batch_insert_seconds",
            "Latency of one batch insert by table",
            ["table"],
            buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
            registry=registry,
        )
        self.write_errors = Counter(
            "rxsight_store_write_errors", "Failed batch writes (retried)", registry=registry
        )
        self.throttled = Counter(
            "rxsight_ingest_throttled",
            "Ingest requests refused by the ingest token's rate limit (429 / RESOURCE_EXHAUSTED)",
            ["token"],
            registry=registry,
        )
        self.quarantined = Counter(
            "rxsight_spool_segments_quarantined",
            "Spool segments set aside after repeated store refusals",
            registry=registry,
        )


class CallbackCollector(_PromCollector):
    """Gauges and counters read at scrape time from live objects (spool depth, PHI counts)."""

    def __init__(self, produce: Callable[[], Iterable[GaugeMetricFamily | CounterMetricFamily]]):
        self._produce = produce

    def collect(self) -> Iterable[GaugeMetricFamily | CounterMetricFamily]:
        return self._produce()
