"""Log records whose event.name is a business event, as business-event dicts."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from typing import Any

from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceRequest

from collector.otlp.attributes import any_value
from rxsight.phi import PhiScrubber

_EVENT_FIELDS = (
    "event_id",
    "occurred_at",
    "correlation_id",
    "source_system",
    "site",
    "domain",
    "item_id",
    "supplier_id",
    "po_number",
    "invoice_number",
    "receipt_id",
    "quantity",
    "unit_price",
    "amount",
    "currency",
    "cost_center",
    "priority",
    "status",
    "expected_at",
    "promised_at",
    "due_at",
    "trace_id",
    "lines",
)
_CORRELATION_ALIASES = ("correlation_id", "correlation.id")


def log_records_to_events(
    request: ExportLogsServiceRequest,
    is_business_event: Callable[[str], bool],
    scrubber: PhiScrubber,
) -> tuple[list[tuple[int, dict[str, Any]]], int]:
    """Business-event dicts (with a running index for error reports) from the log records
    whose event.name is in the vocabulary; returns them and the count of other records."""
    out: list[tuple[int, dict[str, Any]]] = []
    ignored = 0
    index = 0
    for rl in request.resource_logs:
        res = {kv.key: any_value(kv.value) for kv in rl.resource.attributes}
        for sl in rl.scope_logs:
            for rec in sl.log_records:
                attrs = {kv.key: any_value(kv.value) for kv in rec.attributes}
                name = getattr(rec, "event_name", "") or attrs.pop("event.name", None)
                attrs.pop("event.name", None)
                if not isinstance(name, str) or not is_business_event(name):
                    ignored += 1
                    continue
                event: dict[str, Any] = {"event_type": name}
                for key in _EVENT_FIELDS:
                    if key in attrs:
                        event[key] = attrs.pop(key)
                corr = next((attrs.pop(k) for k in _CORRELATION_ALIASES if k in attrs), None)
                event.setdefault("correlation_id", corr or res.get("correlation.id"))
                event.setdefault("source_system", res.get("service.name"))
                if "occurred_at" not in event:
                    nanos = rec.time_unix_nano or rec.observed_time_unix_nano
                    if nanos:
                        event["occurred_at"] = _nanos_to_rfc3339(nanos)
                if "trace_id" not in event and rec.trace_id:
                    event["trace_id"] = rec.trace_id.hex()
                if "event_id" not in event:
                    # Stable across an exporter's retries of the same record.
                    event["event_id"] = (
                        "otlp-"
                        + hashlib.sha256(rec.SerializeToString(deterministic=True)).hexdigest()[:32]
                    )
                rest = {k: _attribute_text(v) for k, v in attrs.items() if v is not None}
                if rest:
                    event["attributes"] = scrubber.scrub(rest)
                out.append((index, event))
                index += 1
    return out, ignored


def _attribute_text(value: Any) -> str:
    """A log attribute's value as an event attribute's string; nested lists as JSON, as on
    spans, so the PHI scrubber reads their keys."""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dict | list):
        return json.dumps(value, separators=(",", ":"), default=str)
    return str(value)


def _nanos_to_rfc3339(nanos: int) -> str:
    from datetime import UTC, datetime

    return datetime.fromtimestamp(nanos / 1e9, tz=UTC).isoformat()
