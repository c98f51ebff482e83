"""Request bodies to store-ready Arrow batches: runs in the decode worker processes."""

from __future__ import annotations

import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceRequest

from collector.events import BadLine, content_hash, decode_rows, events_table, split_body
from collector.otlp.attributes import SpanAttributes
from collector.otlp.logs import log_records_to_events
from collector.otlp.traces import StartWindow, decode_trace_body
from collector.otlp.wire import parse_request
from rxsight.config import IngestConfig, RetentionConfig
from rxsight.event_checks import event_problem
from rxsight.event_rows import EventLimits, EventRow, EventRowDecoder, event_row
from rxsight.model import EVENT_TYPES
from rxsight.phi import PhiScrubber, phi_kind
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
    # Per accepted event, in order: its index, event_id, correlation_id and content hash.
    events: list[tuple[int, str, str, int]] = field(default_factory=list)


class Decoder:
    def __init__(self, config: IngestConfig, retention: RetentionConfig | None = None) -> None:
        self.config = config
        self.retention = retention or RetentionConfig()
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
        skew_ns = int(self.config.future_skew_s * 1e9)
        now = time.time_ns()
        window = StartWindow(
            oldest=now - self.retention.traces_days * 86_400 * 10**9,
            latest=now + skew_ns + 1,
            retention_days=self.retention.traces_days,
            future_skew_s=self.config.future_skew_s,
        )
        batch = decode_trace_body(
            body,
            content_type,
            self.scrubber,
            self.config.correlation_keys,
            self.span_attributes,
            window,
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
        indexes: list[int] = []
        now = datetime.now(UTC)
        oldest = now - timedelta(days=self.retention.events_days)
        latest = now + timedelta(seconds=self.config.future_skew_s)
        for index, item in items:
            if isinstance(item, BadLine):
                out.rejected.append({"index": index, "error": item.error})
                continue
            try:
                row = item if type(item) is EventRow else event_row(item, self.limits)
            except ValueError as exc:
                out.rejected.append({"index": index, "error": str(exc)})
                continue
            problem = (
                event_problem(row)
                or self._time_problem(row.occurred_at, oldest, latest)
                or _identifier_phi(row)
            )
            if problem:
                out.rejected.append({"index": index, "error": problem})
                continue
            self._scrub_text_fields(row)
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
            indexes.append(index)
        out.accepted = len(good)
        out.rejected_count = len(out.rejected)
        if good:
            hashes = list(map(content_hash, good))
            out.events = [
                (index, row.event_id, row.correlation_id, digest)
                for index, row, digest in zip(indexes, good, hashes, strict=True)
            ]
            out.payload = ipc_bytes(events_table(good, hashes=hashes))
        return out

    def _time_problem(self, occurred_at: datetime, oldest: datetime, latest: datetime) -> str:
        """Why the store would not keep an event of this time ("" when it would): older
        than the events retention, or further ahead than the allowed skew."""
        if occurred_at < oldest:
            return (
                f"occurred_at: {occurred_at.isoformat()} is older than the events retention "
                f"({self.retention.events_days} days)"
            )
        if occurred_at > latest:
            return (
                f"occurred_at: {occurred_at.isoformat()} is more than "
                f"{self.config.future_skew_s:g} s in the future (ingest.future_skew_s)"
            )
        return ""

    def _scrub_text_fields(self, row: EventRow) -> None:
        # Free text, not keys: redacted where it holds a patient identifier, like attributes.
        scrub_text = self.scrubber.scrub_text
        if row.status:
            row.status = scrub_text(row.status)
        for line in row.lines:
            if line.uom:
                line.uom = scrub_text(line.uom)


# Fields that identify things and join events to each other: one that holds a patient
# identifier is refused, not rewritten (a rewritten key would join unrelated events).
IDENTIFIER_FIELDS = (
    "event_id",
    "correlation_id",
    "source_system",
    "site",
    "item_id",
    "supplier_id",
    "po_number",
    "invoice_number",
    "receipt_id",
    "cost_center",
    "trace_id",
)


def _identifier_phi(row: EventRow) -> str:
    """Why an event's identifiers cannot be stored ("" when they can)."""
    named = [(name, getattr(row, name)) for name in IDENTIFIER_FIELDS]
    named += [(f"lines.{i}.item_id", line.item_id) for i, line in enumerate(row.lines)]
    for name, value in named:
        if value and (kind := phi_kind(value)):
            return (
                f"{name}: looks like a patient identifier ({kind}); identifiers must not carry PHI"
            )
    return ""
