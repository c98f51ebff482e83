"""The real OpenTelemetry SDK exporting to a live rxsight over OTLP/HTTP, OTLP/gRPC and logs."""

from __future__ import annotations

import time
import uuid

import pytest
from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import (
    OTLPSpanExporter as GrpcSpanExporter,
)
from opentelemetry.exporter.otlp.proto.http._log_exporter import OTLPLogExporter
from opentelemetry.exporter.otlp.proto.http.trace_exporter import (
    OTLPSpanExporter as HttpSpanExporter,
)
from opentelemetry.sdk._logs import LoggerProvider
from opentelemetry.sdk._logs.export import SimpleLogRecordProcessor
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.trace import Status, StatusCode

from tests.conftest import ADMIN_TOKEN
from tests.support import Server


def _tracer(exporter, service: str, tier: str = "1"):
    provider = TracerProvider(
        resource=Resource.create({"service.name": service, "integration.tier": tier})
    )
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    return provider


def _transaction(server: Server, cid: str, *, want_spans: int, want_events: int = 0) -> dict:
    def ready():
        status, body = server.request("GET", f"/api/transactions/{cid}")
        assert status == 200, body
        if len(body["spans"]) >= want_spans and len(body["events"]) >= want_events:
            return body
        return None

    return server.wait_for(ready, timeout=10)


@pytest.mark.parametrize("transport", ["http", "grpc"])
def test_sdk_spans_arrive_with_correlation_flow_and_nesting(server: Server, transport: str):
    cid = f"corr-{transport}-{uuid.uuid4().hex[:8]}"
    if transport == "http":
        exporter = HttpSpanExporter(
            endpoint=f"{server.url}/v1/traces", headers={"authorization": f"Bearer {ADMIN_TOKEN}"}
        )
    else:
        exporter = GrpcSpanExporter(endpoint=f"127.0.0.1:{server.grpc_port}", insecure=True)
    provider = _tracer(exporter, "erp-gateway")
    tracer = provider.get_tracer("rxsight-tests")
    with tracer.start_as_current_span(
        "receive", attributes={"correlation.id": cid, "integration.flow": "erp-po-sync"}
    ):
        with tracer.start_as_current_span("transform", attributes={"correlation_id": cid}):
            pass
        with tracer.start_as_current_span(
            "post-to-erp", attributes={"x-correlation-id": cid}
        ) as span:
            span.set_status(Status(StatusCode.ERROR, "ERP answered 503"))
    provider.shutdown()

    body = _transaction(server, cid, want_spans=3)
    spans = {s["name"]: s for s in body["spans"]}
    assert set(spans) == {"receive", "transform", "post-to-erp"}
    # Every spelling of the correlation ID lands on one transaction; children nest.
    assert spans["transform"]["parent_span_id"] == spans["receive"]["span_id"]
    assert spans["post-to-erp"]["parent_span_id"] == spans["receive"]["span_id"]
    assert spans["receive"]["flow"] == "erp-po-sync"
    assert spans["transform"]["flow"] == "erp-gateway"  # no integration.flow: service.name
    assert spans["post-to-erp"]["status_code"] == "Error"
    assert spans["post-to-erp"]["status_message"] == "ERP answered 503"
    assert spans["receive"]["service"] == "erp-gateway"
    starts = [s["start"] for s in body["spans"]]
    assert starts == sorted(starts)


def test_sdk_log_records_become_business_events(server: Server):
    cid = f"corr-logs-{uuid.uuid4().hex[:8]}"
    provider = LoggerProvider(resource=Resource.create({"service.name": "pharmacy-omnicell"}))
    provider.add_log_record_processor(
        SimpleLogRecordProcessor(
            OTLPLogExporter(
                endpoint=f"{server.url}/v1/logs", headers={"authorization": f"Bearer {ADMIN_TOKEN}"}
            )
        )
    )
    logger = provider.get_logger("rxsight-tests")
    logger.emit(
        attributes={
            "event.name": "replenishment.requested",
            "correlation.id": cid,
            "site": "mercy-main",
            "item_id": "NDC-0143-9875-25",
            "quantity": 12,
            "priority": "stat",
            "ward": "ICU-3",
        },
        body="stock low",
    )
    logger.emit(
        attributes={
            "event.name": "po.created",
            "correlation.id": cid,
            "event_id": f"{cid}-po",
            "po_number": "PO-LOG-1",
            "supplier_id": "SUP-1",
            "lines": [
                {"line_no": 1, "item_id": "NDC-0143-9875-25", "quantity": 12, "unit_price": "49.25"}
            ],
        }
    )
    logger.emit(attributes={"correlation.id": cid}, body="an ordinary log line is not an event")
    provider.shutdown()

    body = _transaction(server, cid, want_spans=0, want_events=2)
    by_type = {e["event_type"]: e for e in body["events"]}
    assert set(by_type) == {"replenishment.requested", "po.created"}
    request = by_type["replenishment.requested"]
    assert request["source_system"] == "pharmacy-omnicell"  # from the resource
    assert request["priority"] == "stat" and request["quantity"] == "12"
    assert request["attributes"] == {"ward": "ICU-3"}
    assert request["event_id"].startswith("otlp-")  # derived, stable across retries
    po = by_type["po.created"]
    assert po["event_id"] == f"{cid}-po"
    assert po["lines"] == [
        {
            "line_no": 1,
            "item_id": "NDC-0143-9875-25",
            "quantity": "12",
            "unit_price": "49.25",
            "uom": None,
        }
    ]


def test_otlp_json_partial_success_names_the_bad_span(server: Server):
    cid = f"corr-json-{uuid.uuid4().hex[:8]}"
    now = time.time_ns()
    good = {
        "traceId": uuid.uuid4().hex,
        "spanId": "00f067aa0ba902b7",
        "name": "ok",
        "startTimeUnixNano": str(now),
        "endTimeUnixNano": str(now + 1000),
        "attributes": [{"key": "correlation.id", "value": {"stringValue": cid}}],
    }
    bad = dict(good, spanId="zz", name="broken")
    body = {
        "resourceSpans": [{"resource": {"attributes": []}, "scopeSpans": [{"spans": [good, bad]}]}]
    }
    status, answer = server.request("POST", "/v1/traces", body)
    assert status == 200
    assert answer["partialSuccess"]["rejectedSpans"] == "1"
    assert "broken" in answer["partialSuccess"]["errorMessage"]
    assert "spanId" in answer["partialSuccess"]["errorMessage"]
    spans = _transaction(server, cid, want_spans=1)["spans"]
    assert [s["name"] for s in spans] == ["ok"]


def test_resent_events_are_counted_once(server: Server):
    cid = f"corr-dup-{uuid.uuid4().hex[:8]}"
    events = [
        {
            "event_id": f"{cid}-{i}",
            "event_type": "goods.received",
            "occurred_at": "2026-11-20T10:00:00Z",
            "correlation_id": cid,
            "source_system": "dock",
            "receipt_id": f"GR-{cid}",
            "po_number": f"PO-{cid}",
            "lines": [{"line_no": 1, "quantity": "5"}],
        }
        for i in range(3)
    ]
    status, answer = server.request("POST", "/v1/events", events)
    assert status == 200 and answer == {"accepted": 3, "duplicates": 0, "rejected": []}
    for _ in range(2):  # a resend is answered as such, never counted as accepted again
        status, answer = server.request("POST", "/v1/events", events)
        assert status == 200 and answer == {"accepted": 0, "duplicates": 3, "rejected": []}
    # Same batch also as NDJSON, interleaved with a new one.
    ndjson = "\n".join(__import__("json").dumps(e) for e in events[:2]).encode()
    status, _ = server.request("POST", "/v1/events", ndjson, content_type="application/x-ndjson")
    assert status == 200
    body = _transaction(server, cid, want_spans=0, want_events=3)
    time.sleep(1.2)  # give any double write time to show
    body = _transaction(server, cid, want_spans=0, want_events=3)
    assert sorted(e["event_id"] for e in body["events"]) == [f"{cid}-{i}" for i in range(3)]
    status, found = server.request("GET", f"/api/search?q=GR-{cid}")
    assert status == 200 and [r["correlation_id"] for r in found["results"]] == [cid]
