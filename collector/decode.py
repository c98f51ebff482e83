"""Request bodies to store-ready Arrow batches: runs in the decode worker processes."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceRequest

from collector.events import BadLine, decode_rows, events_table, split_body
from collector.otlp import SpanAttributes, decode_trace_body, log_records_to_events, parse_request
from collector.phi import PhiScrubber
from rxsight.config import IngestConfig
from rxsight.model import EVENT_TYPES, EventLimits, EventRow, EventRowDecoder, event_row
from rxsight.store.arrow import ipc_bytes

SIGNAL_TABLES = {"spans": "otel_traces", "events": "business_events", "logs": "business_events"}


@dataclass
class Decoded:
    """What one request body became. Plain data, so it crosses a process boundary."""

    table: str
    payload: bytes | None = None  # Arrow IPC stream of the accepted rows
    accepted: int = 0
    rejected: list[dict[str, Any]] = field(default_factory=list)  # events: {"index", "error"}
    rejected_count: int = 0
    message: str = ""
    ignored: int = 0
    phi: dict[str, int] = field(default_factory=dict)


class Decoder:
    def __init__(self, config: IngestConfig) -> None:
        self.config = config
        self.scrubber = PhiScrubber(config.phi)
        self.span_attributes = SpanAttributes(self.scrubber)
        self.event_types = EVENT_TYPES | frozenset(config.custom_event_types)
        self.limits = EventLimits(
            frozenset(config.custom_event_types), config.max_lines, config.max_attributes
        )
        self.rows = EventRowDecoder(self.limits)

    def decode(
        self,
        signal: str,
        body: bytes,
        content_type: str,
        source_systems: tuple[str, ...] = (),
        principal: str = "",
    ) -> Decoded:
        """Raises OtlpDecodeError / BodyError / UnsupportedMediaType for unreadable bodies."""
        before = Counter(self.scrubber.counts)
        if signal == "spans":
            out = self._spans(body, content_type)
        elif signal == "logs":
            out = self._logs(body, content_type, source_systems, principal)
        else:
            rows = decode_rows(body, content_type, self.rows)
            items = list(enumerate(rows if rows is not None else split_body(body, content_type)))
            out = self._events(items, source_systems, principal)
        out.phi = dict(self.scrubber.counts - before)
        return out

    def _spans(self, body: bytes, content_type: str) -> Decoded:
        batch = decode_trace_body(
            body, content_type, self.scrubber, self.config.correlation_keys, self.span_attributes
        )
        return Decoded(
            table="otel_traces",
            payload=ipc_bytes(batch.table) if batch.accepted else None,
            accepted=batch.accepted,
            rejected_count=batch.rejected.count,
            message=batch.rejected.summary,
        )

    def _logs(
        self, body: bytes, content_type: str, source_systems: tuple[str, ...], principal: str
    ) -> Decoded:
        request = parse_request(body, content_type, ExportLogsServiceRequest)
        items, ignored = log_records_to_events(
            request,  # type: ignore[arg-type]
            self.event_types.__contains__,
            self.scrubber,
        )
        out = self._events(items, source_systems, principal)
        out.ignored = ignored
        out.message = "; ".join(f"log record {r['index']}: {r['error']}" for r in out.rejected[:10])
        return out

    def _events(
        self, items: list[tuple[int, Any]], source_systems: tuple[str, ...], principal: str
    ) -> Decoded:
        out = Decoded(table="business_events")
        good: list[EventRow] = []
        for index, item in items:
            if isinstance(item, BadLine):
                out.rejected.append({"index": index, "error": item.error})
                continue
            try:
                row = item if type(item) is EventRow else event_row(item, self.limits)
            except ValueError as exc:
                out.rejected.append({"index": index, "error": str(exc)})
                continue
            if source_systems and row.source_system not in source_systems:
                out.rejected.append(
                    {
                        "index": index,
                        "error": f"source_system: token {principal!r} may not send events "
                        f"for {row.source_system!r}",
                    }
                )
                continue
            if row.attributes:
                row.attributes = self.scrubber.scrub(row.attributes)
            good.append(row)
        out.accepted = len(good)
        out.rejected_count = len(out.rejected)
        if good:
            out.payload = ipc_bytes(events_table(good))
        return out
