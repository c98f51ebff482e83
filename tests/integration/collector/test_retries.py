"""A client that never saw its answer sends the same OTLP body again: the spans are stored
once (spans have no idempotency key of their own), and the retry gets the same answer."""

from __future__ import annotations

import re
import uuid

from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceResponse

from tests.otlp_support import PROTOBUF, grpc_export, spans_request
from tests.reliability.harness import raw_store, wait_drained
from tests.support import Server

TOKEN = "otlp-retries-admin-token-0123"


def _metric(server: Server, name: str, labels: str) -> float:
    _, text = server.request("GET", "/metrics", token=None)
    found = re.search(rf"^{name}\{{{re.escape(labels)}\}} (\S+)$", text, re.M)
    return float(found.group(1)) if found else 0.0


def test_a_resent_span_request_is_stored_once_and_answered_alike():
    server = Server(admin_token=TOKEN).start()
    cid = f"c-retry-{uuid.uuid4().hex[:8]}"
    req = spans_request(40, cid)
    try:
        answers = [
            server.request("POST", "/v1/traces", req.SerializeToString(), content_type=PROTOBUF)
            for _ in range(2)
        ]
        assert grpc_export(server, req, token=TOKEN) is None  # the same spans over gRPC
        assert [status for status, _ in answers] == [200, 200]
        assert answers[0][1] == answers[1][1]
        ExportTraceServiceResponse.FromString(answers[1][1])
        wait_drained(server)
        duplicates = _metric(
            server, "rxsight_ingest_items_total", 'outcome="duplicate",signal="spans"'
        )
        assert duplicates == 80
        server.stop()
        stored = raw_store(server.data_dir)
    finally:
        server.cleanup()
    spans = [(span_id, n) for c, span_id, n in stored["spans"] if c == cid]
    assert len(spans) == 40
    assert all(n == 1 for _, n in spans), "a retried request stored its spans twice"
