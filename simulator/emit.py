"""The simulator's clients: OTel SDK tracer/logger providers per service, and /v1/events."""

from __future__ import annotations

import logging
import queue
import random
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import httpx
import orjson
from opentelemetry import trace
from opentelemetry._logs import SeverityNumber
from opentelemetry.exporter.otlp.proto.grpc._log_exporter import OTLPLogExporter as GrpcLogExporter
from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import (
    OTLPSpanExporter as GrpcSpanExporter,
)
from opentelemetry.exporter.otlp.proto.http._log_exporter import OTLPLogExporter as HttpLogExporter
from opentelemetry.exporter.otlp.proto.http.trace_exporter import (
    OTLPSpanExporter as HttpSpanExporter,
)
from opentelemetry.sdk._logs import LoggerProvider
from opentelemetry.sdk._logs.export import BatchLogRecordProcessor
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor
from opentelemetry.sdk.trace.id_generator import IdGenerator
from opentelemetry.trace import Link, Span, SpanKind, Status, StatusCode

from simulator.catalog import FLOW_BY_NAME, SERVICES, Service
from simulator.rand import Rng

log = logging.getLogger("simulator")

# Big queues: the back-fill produces tens of thousands of spans in seconds, and the SDK's
# batch processor drops what does not fit (its default queue is 2,048).
_QUEUE = 1_000_000
_BATCH = 4096
_EVENT_BATCH = 2000


class SeededIds(IdGenerator):
    """Trace and span IDs drawn from the current transaction's RNG: same seed, same IDs."""

    def __init__(self) -> None:
        self.rng: Rng = random.Random(0)

    def generate_span_id(self) -> int:
        return self.rng.getrandbits(64) or 1

    def generate_trace_id(self) -> int:
        return self.rng.getrandbits(128) or 1


@dataclass
class Counts:
    spans: int = 0
    events_otlp: int = 0
    events_json: int = 0
    rejected: int = 0

    @property
    def events(self) -> int:
        return self.events_otlp + self.events_json


def _ns(dt: datetime) -> int:
    return int(dt.timestamp() * 1_000_000) * 1000


def rfc3339(dt: datetime) -> str:
    return dt.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _decimal(value: Any) -> str:
    if isinstance(value, Decimal):
        return format(value, "f")
    raise TypeError(f"cannot serialise {type(value).__name__}")


def _plain(value: Any) -> Any:
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, datetime):
        return rfc3339(value)
    if isinstance(value, list):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items() if v is not None}
    return value


class EventPoster:
    """Posts business events to /v1/events in large batches from a background thread."""

    def __init__(self, url: str, headers: Mapping[str, str], counts: Counts) -> None:
        self._url = url.rstrip("/") + "/v1/events"
        self._client = httpx.Client(headers=dict(headers), timeout=60)
        self._buffer: list[bytes] = []
        self._lock = threading.Lock()
        # Bounded: when rxsight is slower than the simulator, the simulator waits.
        self._queue: queue.Queue[list[bytes] | None] = queue.Queue(maxsize=4)
        self._counts = counts
        self._idle = threading.Event()
        self._idle.set()
        self._thread = threading.Thread(target=self._run, name="sim-events", daemon=True)
        self._thread.start()

    def add(self, event: dict[str, Any]) -> None:
        with self._lock:
            self._buffer.append(orjson.dumps(event, default=_decimal))
            full = len(self._buffer) >= _EVENT_BATCH
        self._counts.events_json += 1
        if full:
            self.flush()

    def flush(self) -> None:
        with self._lock:
            batch, self._buffer = self._buffer, []
        if batch:
            self._idle.clear()
            self._queue.put(batch)

    def wait(self, timeout: float = 60) -> bool:
        """Block until every queued batch has been answered."""
        self.flush()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self._queue.empty() and self._idle.is_set():
                return True
            time.sleep(0.05)
        return False

    def close(self, timeout: float = 30) -> None:
        self.wait(timeout)
        self._queue.put(None)
        self._thread.join(5)
        self._client.close()

    def _run(self) -> None:
        while True:
            batch = self._queue.get()
            if batch is None:
                return
            self._idle.clear()
            try:
                self._send(b"\n".join(batch), len(batch))
            finally:
                if self._queue.empty():
                    self._idle.set()

    def _send(self, body: bytes, n: int) -> None:
        for attempt in range(30):
            try:
                resp = self._client.post(
                    self._url, content=body, headers={"content-type": "application/x-ndjson"}
                )
            except httpx.HTTPError as exc:
                log.warning("POST /v1/events failed (%s); retrying", exc)
                time.sleep(min(0.5 * 2**attempt, 5))
                continue
            if resp.status_code in (429, 502, 503, 504):
                time.sleep(float(resp.headers.get("retry-after", "1") or 1))
                continue
            if resp.status_code in (200, 400):
                answer = resp.json()
                rejected = answer.get("rejected") or []
                if rejected:
                    self._counts.rejected += len(rejected)
                    log.warning("rxsight rejected %d events, e.g. %s", len(rejected), rejected[0])
                return
            log.warning("POST /v1/events answered %s: %s", resp.status_code, resp.text[:300])
            return
        log.error("gave up sending %d events to %s", n, self._url)


class Telemetry:
    """One TracerProvider and LoggerProvider per integration service, exporting over OTLP
    (HTTP or gRPC as the service's transport says), and the JSON event poster."""

    def __init__(self, url: str, grpc_endpoint: str | None, token: str | None) -> None:
        self.counts = Counts()
        self.ids = SeededIds()
        headers = {"authorization": f"Bearer {token}"} if token else {}
        self._tracer_providers: list[TracerProvider] = []
        self._logger_providers: list[LoggerProvider] = []
        self._tracers: dict[str, trace.Tracer] = {}
        self._loggers: dict[str, Any] = {}
        base = url.rstrip("/")
        for svc in SERVICES:
            resource = Resource.create(_resource_attrs(svc))
            grpc = svc.transport == "grpc" and grpc_endpoint is not None
            if grpc:
                span_exp: Any = GrpcSpanExporter(
                    endpoint=grpc_endpoint, insecure=True, headers=headers or None, timeout=30
                )
                log_exp: Any = GrpcLogExporter(
                    endpoint=grpc_endpoint, insecure=True, headers=headers or None, timeout=30
                )
            else:
                span_exp = HttpSpanExporter(
                    endpoint=f"{base}/v1/traces", headers=headers, timeout=30
                )
                log_exp = HttpLogExporter(endpoint=f"{base}/v1/logs", headers=headers, timeout=30)
            tp = TracerProvider(resource=resource, id_generator=self.ids)
            tp.add_span_processor(
                BatchSpanProcessor(
                    span_exp,
                    max_queue_size=_QUEUE,
                    max_export_batch_size=_BATCH,
                    schedule_delay_millis=500,
                )
            )
            lp = LoggerProvider(resource=resource)
            lp.add_log_record_processor(
                BatchLogRecordProcessor(
                    log_exp,
                    max_queue_size=_QUEUE,
                    max_export_batch_size=_BATCH,
                    schedule_delay_millis=500,
                )
            )
            self._tracer_providers.append(tp)
            self._logger_providers.append(lp)
            self._tracers[svc.name] = tp.get_tracer("rxsight.simulator", "0.1.0")
            self._loggers[svc.name] = lp.get_logger("rxsight.simulator", "0.1.0")
        self.poster = EventPoster(base, headers, self.counts)

    # ------------------------------------------------------------------ spans
    def span(
        self,
        service: str,
        flow: str,
        name: str,
        start: datetime,
        end: datetime,
        *,
        parent: Span | None = None,
        kind: SpanKind = SpanKind.INTERNAL,
        corr: str | None = None,
        attrs: Mapping[str, Any] | None = None,
        error: str | None = None,
        link: Span | None = None,
    ) -> Span:
        """A finished span with explicit (possibly past) start and end times; `link` points
        a retry's new trace back at the attempt it repeats."""
        attributes: dict[str, Any] = {
            "integration.flow": flow,
            "integration.tier": FLOW_BY_NAME[flow].tier,
        }
        if corr:
            attributes["correlation.id"] = corr
        if attrs:
            attributes.update({k: v for k, v in attrs.items() if v is not None})
        ctx = trace.set_span_in_context(parent) if parent is not None else None
        links = [Link(link.get_span_context(), {"link.kind": "retry-of"})] if link else None
        span = self._tracers[service].start_span(
            name,
            context=ctx,
            kind=kind,
            attributes=attributes,
            links=links,
            start_time=_ns(start),
        )
        if error:
            span.set_status(Status(StatusCode.ERROR, error))
        else:
            span.set_status(Status(StatusCode.OK))
        span.end(end_time=_ns(max(end, start)))
        self.counts.spans += 1
        return span

    # ------------------------------------------------------------------ events
    def event_otlp(
        self, service: str, event: dict[str, Any], body: str, span: Span | None = None
    ) -> None:
        """A business event as an OTLP log record: event.name = type, fields as attributes."""
        attrs: dict[str, Any] = {"event.name": event["event_type"]}
        for key, value in event.items():
            if key in ("event_type", "source_system") or value is None:
                continue
            if key == "correlation_id":
                attrs["correlation.id"] = value
            elif key == "attributes":
                attrs.update(value)
            else:
                attrs[key] = _plain(value)
        occurred = event["occurred_at"]
        self._loggers[service].emit(
            timestamp=_ns(occurred),
            observed_timestamp=_ns(occurred),
            context=trace.set_span_in_context(span) if span is not None else None,
            severity_number=SeverityNumber.INFO,
            severity_text="INFO",
            body=body,
            attributes=attrs,
            event_name=event["event_type"],
        )
        self.counts.events_otlp += 1

    def event_json(self, event: dict[str, Any], span: Span | None = None) -> None:
        if span is not None:
            event = {**event, "trace_id": format(span.get_span_context().trace_id, "032x")}
        self.poster.add(event)

    # ------------------------------------------------------------------ lifecycle
    def flush(self, timeout: float = 120) -> None:
        """Send everything produced so far and wait for the answers."""
        self.poster.flush()
        for tp in self._tracer_providers:
            tp.force_flush(int(timeout * 1000))
        for lp in self._logger_providers:
            lp.force_flush(int(timeout * 1000))
        self.poster.wait(timeout)

    def shutdown(self) -> None:
        self.poster.close()
        for tp in self._tracer_providers:
            tp.shutdown()
        for lp in self._logger_providers:
            lp.shutdown()


def _resource_attrs(svc: Service) -> dict[str, Any]:
    attrs: dict[str, Any] = {
        "service.name": svc.name,
        "service.namespace": "health-system-integrations",
        "deployment.environment.name": "demo",
    }
    if svc.tier is not None:
        attrs["integration.tier"] = svc.tier
    return attrs
