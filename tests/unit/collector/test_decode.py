"""Events and spans the decoder refuses one by one, with the field and the reason: key
fields per type, negative quantities, times outside retention or beyond the future skew,
correlation IDs the read API could not carry, numbers beyond a double."""

from __future__ import annotations

import json
import time
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

from collector.decode import Decoder
from rxsight.config import IngestConfig, RetentionConfig

NOW = datetime.now(UTC)


def _event(**fields: Any) -> dict[str, Any]:
    event = {
        "event_id": str(uuid.uuid4()),
        "event_type": "po.transmitted",
        "occurred_at": NOW.isoformat(),
        "correlation_id": "corr-1",
        "source_system": "erp",
        "po_number": "PO-1",
    }
    event.update(fields)
    return {k: v for k, v in event.items() if v is not None}


def _events(*events: Any, body: bytes | None = None, **retention: int) -> tuple[int, list]:
    decoder = Decoder(IngestConfig(), RetentionConfig(**retention))
    raw = body if body is not None else json.dumps(list(events)).encode()
    decoded = decoder.decode("events", raw, "application/json")
    return decoded.accepted, [(r["index"], r["error"]) for r in decoded.rejected]


LINE = [{"line_no": 1, "item_id": "NDC-1", "quantity": 2}]


@pytest.mark.parametrize(
    ("event", "error"),
    [
        (
            _event(event_type="po.created", lines=LINE, supplier_id="S1", po_number=None),
            "po_number: required for po.created",
        ),
        (
            _event(event_type="po.created", po_number="PO-1", supplier_id="S1"),
            "lines: required for po.created",
        ),
        (_event(event_type="po.acknowledged"), "status: required for po.acknowledged"),
        (
            _event(event_type="replenishment.requested", site="H1", item_id="NDC-1"),
            "quantity: required for replenishment.requested",
        ),
        (
            _event(event_type="goods.received", receipt_id="R1", lines=LINE, po_number=""),
            "po_number: required for goods.received",
        ),
        (
            _event(event_type="invoice.matched", supplier_id="S1"),
            "invoice_number: required for invoice.matched",
        ),
        (_event(event_type="journal.posted"), "amount: required for journal.posted"),
        (
            _event(event_type="inventory.updated", site="H1"),
            "item_id: required for inventory.updated",
        ),
        (
            _event(
                event_type="goods.received",
                receipt_id="R1",
                lines=[{"item_id": "NDC-1", "quantity": -3}],
            ),
            "lines.0.quantity: must be ≥ 0",
        ),
        (
            _event(event_type="replenishment.requested", site="H1", item_id="NDC-1", quantity="-1"),
            "quantity: must be ≥ 0",
        ),
        (_event(correlation_id="a/b"), "correlation_id: must not contain '/'"),
        (_event(correlation_id=".."), "correlation_id: must not be '.' or '..'"),
        (_event(correlation_id="."), "correlation_id: must not be '.' or '..'"),
        (
            _event(occurred_at="2030-01-01T00:00:00Z"),
            "occurred_at: 2030-01-01T00:00:00+00:00 is more than 300 s in the future",
        ),
        (_event(occurred_at="2300-01-01T00:00:00Z"), "is more than 300 s in the future"),
        (
            _event(occurred_at=(NOW - timedelta(days=731)).isoformat()),
            "is older than the events retention (730 days)",
        ),
        (
            _event(occurred_at="1969-12-31T23:59:59Z"),
            "occurred_at: 1969-12-31T23:59:59+00:00 is older than the events retention",
        ),
    ],
)
def test_an_event_that_cannot_be_right_is_refused_by_index_and_its_siblings_kept(
    event: dict[str, Any], error: str
) -> None:
    accepted, rejected = _events(_event(), event, _event())
    assert accepted == 2
    [(index, message)] = rejected
    assert index == 1 and error in message, message


def test_events_within_retention_and_skew_and_with_their_key_fields_are_accepted() -> None:
    accepted, rejected = _events(
        _event(occurred_at=(NOW + timedelta(seconds=200)).isoformat()),
        _event(occurred_at=(NOW - timedelta(days=729)).isoformat()),
        _event(event_type="po.created", supplier_id="S1", lines=LINE),
        _event(event_type="replenishment.requested", site="H1", item_id="NDC-1", quantity=0),
        _event(event_type="invoice.received", supplier_id="S1", invoice_number="I1", lines=LINE),
        _event(correlation_id="PO-1.2", po_number="x"),
        _event(correlation_id="..a"),
    )
    assert (accepted, rejected) == (7, [])


def test_retention_is_the_configured_one() -> None:
    old = _event(occurred_at=(NOW - timedelta(days=1000)).isoformat())
    assert _events(old)[0] == 0
    assert _events(old, events_days=3650) == (1, [])


def test_a_number_beyond_a_double_rejects_only_its_own_item() -> None:
    body = (
        "[" + json.dumps(_event()) + "," + json.dumps(_event())[:-1] + ', "quantity": 1e400}]'
    ).encode()
    accepted, rejected = _events(body=body)
    assert accepted == 1
    [(index, message)] = rejected
    assert index == 1 and message.startswith("quantity: "), message
    ndjson = json.dumps(_event()) + "\n" + json.dumps(_event())[:-1] + ', "amount": -1e999}\n'
    decoded = Decoder(IngestConfig()).decode("events", ndjson.encode(), "application/x-ndjson")
    assert decoded.accepted == 1 and decoded.rejected[0]["error"].startswith("amount: ")


def test_nan_is_still_not_json() -> None:
    from collector.events import BodyError

    with pytest.raises(BodyError, match="malformed JSON"):
        _events(body=b'[{"quantity": NaN}]')


def _spans(*spans: dict[str, Any], **retention: int) -> tuple[int, str]:
    request = ExportTraceServiceRequest()
    scope = request.resource_spans.add().scope_spans.add()
    for n, fields in enumerate(spans):
        span = scope.spans.add(name=f"span-{n}", trace_id=b"\x01" * 16, span_id=b"\x02" * 8)
        span.start_time_unix_nano = fields.get("start", time.time_ns())
        span.end_time_unix_nano = span.start_time_unix_nano + 1000
        if "correlation" in fields:
            attribute = span.attributes.add(key="correlation.id")
            attribute.value.string_value = fields["correlation"]
    decoder = Decoder(IngestConfig(), RetentionConfig(**retention))
    decoded = decoder.decode("spans", request.SerializeToString(), "application/x-protobuf")
    return decoded.accepted, decoded.message


DAY_NS = 86_400 * 10**9


@pytest.mark.parametrize(
    ("span", "reason"),
    [
        ({"start": time.time_ns() - 40 * DAY_NS}, "older than the traces retention (30 days)"),
        ({"start": 1}, "older than the traces retention (30 days)"),
        ({"start": time.time_ns() + 3600 * 10**9}, "more than 300 s in the future"),
        ({"start": 10_485_000_000 * 10**9}, "more than 300 s in the future"),  # year 2302
        ({"correlation": "a/b"}, "correlation.id: must not contain '/'"),
        ({"correlation": ".."}, "correlation.id: must not be '.' or '..'"),
    ],
)
def test_a_span_outside_the_window_or_with_an_unreadable_id_is_refused_alone(
    span: dict[str, Any], reason: str
) -> None:
    accepted, message = _spans({}, span, {"correlation": "ok-1"})
    assert accepted == 2
    assert message.startswith(f"span 'span-1': {reason}") or reason in message, message


def test_span_retention_is_the_configured_one() -> None:
    old = {"start": time.time_ns() - 63 * DAY_NS}
    assert _spans(old)[0] == 0
    assert _spans(old, traces_days=3650) == (1, "")
