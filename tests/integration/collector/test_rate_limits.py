"""Rate limits per ingest token (DESIGN 8): past its bucket a token gets 429 + Retry-After
(gRPC: RESOURCE_EXHAUSTED + RetryInfo), counted in /metrics; other tokens are not held back."""

from __future__ import annotations

import time

import grpc
import pytest
from google.rpc.status_pb2 import Status

from tests.otlp_support import (
    PROTOBUF,
    grpc_export,
    retry_info,
    spans_request,
    status_details,
)
from tests.support import Server

ERP = "erp-ingest-token-0123456789"
PHARMACY = "pharmacy-ingest-token-0123456789"
BURST = 3


@pytest.fixture(scope="module")
def limited():
    config = {
        "ingest": {
            "tokens": [
                {
                    "name": "erp",
                    "token": ERP,
                    "rate_limit": {"requests_per_s": 0.1, "burst": BURST},
                },
                {"name": "pharmacy", "token": PHARMACY},
            ],
            "rate_limit": {"requests_per_s": 1000, "burst": 1000},
        }
    }
    srv = Server(config).start()
    yield srv
    srv.cleanup()


def _event(n: int) -> dict:
    return {
        "event_id": f"rate-{n}-{time.time_ns()}",
        "event_type": "po.created",
        "occurred_at": "2026-12-01T10:00:00Z",
        "correlation_id": "c-rate",
        "source_system": "erp",
        "po_number": f"PO-R{n}",
        "supplier_id": "SUP-1",
        "lines": [{"line_no": 1, "item_id": "NDC-1", "quantity": "2"}],
    }


def test_a_token_past_its_rate_is_refused_with_retry_after_and_counted(limited: Server):
    answers = [limited.request("POST", "/v1/events", _event(n), token=ERP) for n in range(6)]
    statuses = [status for status, _ in answers]
    assert statuses[:BURST] == [200] * BURST
    assert 429 in statuses[BURST:], statuses
    status, body = next(a for a in answers if a[0] == 429)
    assert "rate limit" in body["error"] and "'erp'" in body["error"]

    # OTLP/HTTP: the same bucket, answered as the specification says.
    req = spans_request(1).SerializeToString()
    status, body = limited.request("POST", "/v1/traces", req, content_type=PROTOBUF, token=ERP)
    assert status == 429
    answer = Status.FromString(body)
    assert answer.code == grpc.StatusCode.RESOURCE_EXHAUSTED.value[0]
    delay = retry_info(answer)
    assert delay is not None and 1 <= delay.retry_delay.seconds <= 10

    # Another token sends on.
    assert limited.request("POST", "/v1/events", _event(99), token=PHARMACY)[0] == 200

    _, metrics = limited.request("GET", "/metrics", token=None)
    line = next(
        x
        for x in metrics.splitlines()
        if x.startswith('rxsight_ingest_throttled_total{token="erp"}')
    )
    assert float(line.split()[-1]) >= 2
    assert 'rxsight_ingest_throttled_total{token="pharmacy"}' not in metrics


def test_grpc_is_refused_with_resource_exhausted_and_retry_info_then_admitted(limited: Server):
    for _ in range(BURST + 1):  # drain whatever the bucket holds
        limited.request("POST", "/v1/events", _event(0), token=ERP)
    error = grpc_export(limited, spans_request(1), token=ERP)
    assert error is not None and error.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
    details = status_details(error)
    assert details is not None
    info = retry_info(details)
    assert info is not None and info.retry_delay.seconds >= 1
    time.sleep(info.retry_delay.seconds)  # what the client was told to wait
    assert grpc_export(limited, spans_request(1), token=ERP) is None
