"""OTLP status-code conformance, table-driven, with the real OpenTelemetry SDK exporters
(HTTP and gRPC): what rxsight refuses as retryable the exporter retries until it is
accepted; what it refuses as permanent the exporter drops after one attempt. Attempts are
counted on the server (rxsight_ingest_requests_total by status)."""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass

import pytest
from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import (
    OTLPSpanExporter as GrpcSpanExporter,
)
from opentelemetry.exporter.otlp.proto.http.trace_exporter import (
    OTLPSpanExporter as HttpSpanExporter,
)
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SpanExportResult

from tests.reliability.harness import Tally
from tests.support import Server

OPEN = "conformance-open-token-0123456789"
LIMITED = "conformance-limited-token-0123456789"
ADMIN = "conformance-admin-token-0123456789"
MIB = 1 << 20


@dataclass(frozen=True)
class Case:
    name: str
    token: str
    spans: int
    drain_bucket: bool  # use up the limited token's bucket first
    http_status: str  # what rxsight answers first, per door
    grpc_status: str
    retried: bool  # the exporter should retry (and then succeed)


CASES = [
    Case("accepted", OPEN, 3, False, "200", "OK", retried=False),
    Case(
        "unknown token", "wrong-token-0123456789abcdef", 3, False, "401", "UNAUTHENTICATED", False
    ),
    Case("larger than the spool", OPEN, 8_000, False, "413", "INVALID_ARGUMENT", False),
    Case("token past its rate", LIMITED, 3, True, "429", "RESOURCE_EXHAUSTED", retried=True),
]


@pytest.fixture(scope="module")
def server():
    config = {
        "ingest": {
            "tokens": [
                {"name": "open", "token": OPEN},
                {
                    "name": "limited",
                    "token": LIMITED,
                    "rate_limit": {"requests_per_s": 0.2, "burst": 1},
                },
            ],
            "max_request_bytes": MIB,
            "spool": {"max_bytes": MIB},
        }
    }
    srv = Server(config, admin_token=ADMIN).start()
    yield srv
    srv.cleanup()


def _spans(n: int, cid: str) -> list[ReadableSpan]:
    provider = TracerProvider(resource=Resource.create({"service.name": "conformance"}))
    tracer = provider.get_tracer("rxsight-conformance")
    spans = []
    for _ in range(n):
        span = tracer.start_span("sync", attributes={"correlation.id": cid})
        span.end()
        spans.append(span)
    return spans


def _requests(server: Server) -> dict[str, float]:
    status, text = server.request("GET", "/metrics", token=None)
    # Once (a CI run), the counts before an export read as none at all: say why if it recurs.
    assert status == 200, f"/metrics answered {status}: {str(text)[:500]}"
    pattern = r'rxsight_ingest_requests_total\{signal="spans",status="([^"]+)"\} (\S+)'
    return {status: float(n) for status, n in re.findall(pattern, text)}


@pytest.mark.parametrize("transport", ["http", "grpc"])
@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_the_sdk_retries_what_is_retryable_and_drops_what_is_not(
    server: Server, case: Case, transport: str
):
    tally = Tally(f"OTLP conformance, {transport}, {case.name}")
    cid = f"conf-{uuid.uuid4().hex[:10]}"
    headers = {"authorization": f"Bearer {case.token}"}
    if transport == "http":
        exporter = HttpSpanExporter(endpoint=f"{server.url}/v1/traces", headers=headers, timeout=30)
        refused = case.http_status
        ok = "200"
    else:
        exporter = GrpcSpanExporter(
            endpoint=f"127.0.0.1:{server.grpc_port}", insecure=True, headers=headers, timeout=30
        )
        refused = case.grpc_status
        ok = "OK"
    if case.drain_bucket:
        server.request("POST", "/v1/events", [], token=case.token)
    spans = _spans(case.spans, cid)
    before = _requests(server)
    try:
        result = exporter.export(spans)
    finally:
        exporter.shutdown()
    after = _requests(server)
    answers = {s: int(after.get(s, 0) - before.get(s, 0)) for s in after}
    for status, n in answers.items():
        if n:
            tally.add(f"answered {status}", n)
    tally.add("attempts", sum(answers.values()))
    tally.add("exported" if result is SpanExportResult.SUCCESS else "dropped")
    tally.report()

    if case.retried:
        assert answers.get(refused, 0) >= 1, answers  # refused first...
        assert answers.get(ok, 0) == 1, answers  # ...then retried until accepted
        assert result is SpanExportResult.SUCCESS
        stored = server.wait_for(
            lambda: server.request("GET", f"/api/transactions/{cid}")[1]["spans"]
        )
        assert len(stored) == case.spans
    elif refused == ok:
        assert answers == {ok: 1} | {s: 0 for s in answers if s != ok}
        assert result is SpanExportResult.SUCCESS
    else:
        assert answers.get(refused, 0) == 1, answers  # one attempt: dropped, not retried
        assert sum(answers.values()) == 1, answers
        assert result is SpanExportResult.FAILURE
