"""The collector pipeline: decode, validate, scrub PHI, spool durably, hand to the writer."""

from __future__ import annotations

import io
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import pyarrow as pa
from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceRequest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from prometheus_client import CollectorRegistry
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily

from collector.events import BadLine, BodyError, events_table, split_body
from collector.otlp import (
    OtlpDecodeError,
    decode_traces,
    log_records_to_events,
    parse_request,
)
from collector.phi import PhiScrubber
from collector.spool import Spool, SpoolFull
from collector.telemetry import CallbackCollector, IngestMetrics
from collector.writer import BatchWriter
from rxsight.auth import Principal
from rxsight.config import Settings
from rxsight.model import EVENT_TYPES, BusinessEvent, validate_event
from rxsight.store import Store

__all__ = ["Collector", "IngestResult", "OtlpDecodeError", "BodyError", "SpoolFull"]


@dataclass
class IngestResult:
    accepted: int = 0
    rejected: list[dict[str, Any]] = field(default_factory=list)  # [{"index", "error"}]
    rejected_count: int = 0
    message: str = ""


def _ipc(table: pa.Table) -> bytes:
    sink = io.BytesIO()
    with pa.ipc.new_stream(sink, table.schema) as writer:
        writer.write_table(table)
    return sink.getvalue()


class Collector:
    def __init__(self, settings: Settings, store: Store, registry: CollectorRegistry) -> None:
        cfg = settings.config.ingest
        self.config = cfg
        self.spool = Spool(settings.spool_dir, max_bytes=cfg.spool.max_bytes, fsync=cfg.spool.fsync)
        self.metrics = IngestMetrics(registry)
        self.scrubber = PhiScrubber(cfg.phi)
        self.writer = BatchWriter(self.spool, store, cfg.spool, self.metrics)
        self._event_types = EVENT_TYPES | frozenset(cfg.custom_event_types)
        registry.register(CallbackCollector(self._gauges))

    def start(self) -> None:
        self.writer.start()

    def stop(self) -> None:
        self.writer.stop()

    def _gauges(self) -> Iterable[GaugeMetricFamily | CounterMetricFamily]:
        depth = GaugeMetricFamily("rxsight_spool_bytes", "Bytes accepted but not yet written")
        depth.add_metric([], self.spool.depth_bytes)
        yield depth
        segments = GaugeMetricFamily("rxsight_spool_segments", "Sealed segments awaiting write")
        segments.add_metric([], len(self.spool.sealed()))
        yield segments
        healthy = GaugeMetricFamily("rxsight_store_writable", "1 when the last write succeeded")
        healthy.add_metric([], 1 if self.writer.healthy else 0)
        yield healthy
        phi = CounterMetricFamily(
            "rxsight_phi_redactions",
            "Attribute values redacted or keys dropped at ingest",
            labels=["kind"],
        )
        for kind, n in sorted(self.scrubber.counts.items()):
            phi.add_metric([kind], n)
        yield phi

    # ------------------------------------------------------------------ events
    def ingest_events(
        self, body: bytes, content_type: str, principal: Principal | None
    ) -> IngestResult:
        """Raises BodyError when nothing in the body can be read, SpoolFull when full."""
        items = split_body(body, content_type)
        return self._accept_events(list(enumerate(items)), principal, signal="events")

    def _accept_events(
        self, items: list[tuple[int, Any]], principal: Principal | None, signal: str
    ) -> IngestResult:
        result = IngestResult()
        good: list[BusinessEvent] = []
        cfg = self.config
        for index, item in items:
            if isinstance(item, BadLine):
                result.rejected.append({"index": index, "error": item.error})
                continue
            try:
                event = validate_event(
                    item,
                    custom_event_types=cfg.custom_event_types,
                    max_lines=cfg.max_lines,
                    max_attributes=cfg.max_attributes,
                )
            except ValueError as exc:
                result.rejected.append({"index": index, "error": str(exc)})
                continue
            if (
                principal
                and principal.source_systems
                and (event.source_system not in principal.source_systems)
            ):
                result.rejected.append(
                    {
                        "index": index,
                        "error": f"source_system: token {principal.name!r} may not send events "
                        f"for {event.source_system!r}",
                    }
                )
                continue
            if event.attributes:
                event = event.model_copy(
                    update={"attributes": self.scrubber.scrub(event.attributes)}
                )
            good.append(event)
        if good:
            self.spool.append("business_events", _ipc(events_table(good)), len(good))
        result.accepted = len(good)
        result.rejected_count = len(result.rejected)
        self.metrics.items.labels(signal, "accepted").inc(len(good))
        self.metrics.items.labels(signal, "rejected").inc(result.rejected_count)
        return result

    def is_business_event(self, name: str) -> bool:
        return name in self._event_types

    # ------------------------------------------------------------------ OTLP
    def ingest_traces(self, request: ExportTraceServiceRequest) -> IngestResult:
        batch = decode_traces(request, self.scrubber, self.config.correlation_keys)
        if batch.accepted:
            self.spool.append("otel_traces", _ipc(batch.table), batch.accepted)
        self.metrics.items.labels("spans", "accepted").inc(batch.accepted)
        self.metrics.items.labels("spans", "rejected").inc(batch.rejected.count)
        return IngestResult(
            accepted=batch.accepted,
            rejected_count=batch.rejected.count,
            message=batch.rejected.summary,
        )

    def ingest_logs(
        self, request: ExportLogsServiceRequest, principal: Principal | None
    ) -> IngestResult:
        events, ignored = log_records_to_events(request, self.is_business_event, self.scrubber)
        self.metrics.items.labels("logs", "ignored").inc(ignored)
        result = self._accept_events(events, principal, signal="logs")
        result.message = "; ".join(
            f"log record {r['index']}: {r['error']}" for r in result.rejected[:10]
        )
        return result

    @staticmethod
    def parse_traces(body: bytes, content_type: str) -> ExportTraceServiceRequest:
        return parse_request(body, content_type, ExportTraceServiceRequest)  # type: ignore[return-value]

    @staticmethod
    def parse_logs(body: bytes, content_type: str) -> ExportLogsServiceRequest:
        return parse_request(body, content_type, ExportLogsServiceRequest)  # type: ignore[return-value]
