"""OTLP refusals as the specification words them: google.rpc.Status bodies in the request's
encoding, RetryInfo on gRPC back-pressure, zstd bodies, 413 for what the spool can never hold."""

from __future__ import annotations

import threading
import uuid

import grpc
import pytest
import zstandard
from google.protobuf import json_format
from google.rpc.status_pb2 import Status
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceResponse,
)

from tests.otlp_support import (
    PROTOBUF,
    grpc_export,
    retry_info,
    spans_request,
    status_details,
)
from tests.support import Server, rxsight_cli

TOKEN = "otlp-refusals-admin-token-01"
MIB = 1 << 20


@pytest.fixture(scope="module")
def server():
    srv = Server(admin_token=TOKEN).start()
    yield srv
    srv.cleanup()


def test_a_protobuf_request_is_refused_with_a_protobuf_status(server: Server):
    status, body = server.request("POST", "/v1/traces", b"\xff\xff\xff", content_type=PROTOBUF)
    assert status == 400
    answer = Status.FromString(body)
    assert answer.code == grpc.StatusCode.INVALID_ARGUMENT.value[0]
    assert "protobuf" in answer.message

    status, body = server.request(
        "POST", "/v1/traces", b"\xff", content_type=PROTOBUF, token="not-a-known-token-at-all"
    )
    assert status == 401
    assert Status.FromString(body).code == grpc.StatusCode.UNAUTHENTICATED.value[0]


def test_a_json_request_is_refused_with_a_json_status(server: Server):
    status, body = server.request("POST", "/v1/logs", b"{not json", content_type="application/json")
    assert status == 400
    answer = json_format.ParseDict(body, Status())
    assert answer.code == grpc.StatusCode.INVALID_ARGUMENT.value[0]
    assert "malformed JSON" in answer.message
    status, body = server.request("POST", "/v1/traces", b"<x/>", content_type="application/xml")
    assert status == 415 and "Content-Type" in json_format.ParseDict(body, Status()).message


def test_zstd_bodies_are_accepted_like_gzip(server: Server):
    cid = f"c-zstd-{uuid.uuid4().hex[:8]}"
    raw = zstandard.ZstdCompressor().compress(spans_request(3, cid).SerializeToString())
    status, body = server.request(
        "POST", "/v1/traces", raw, content_type=PROTOBUF, headers={"Content-Encoding": "zstd"}
    )
    assert status == 200, body
    assert not ExportTraceServiceResponse.FromString(body).HasField("partial_success")
    found = server.wait_for(
        lambda: len(server.request("GET", f"/api/transactions/{cid}")[1]["spans"]) == 3
    )
    assert found

    status, body = server.request(
        "POST", "/v1/traces", b"\x28\xb5\x2f\xfd junk", content_type=PROTOBUF,
        headers={"Content-Encoding": "zstd"},
    )  # fmt: skip
    assert status == 400 and "zstd" in Status.FromString(body).message


def test_a_zstd_bomb_is_refused_by_its_decompressed_size(server: Server):
    # 8 MiB + 1 of zeros is a few hundred bytes of zstd, without a declared content size.
    compressor = zstandard.ZstdCompressor(write_content_size=False)
    bomb = compressor.compress(b"\0" * (8 * MIB + 1))
    assert len(bomb) < 4096
    status, body = server.request(
        "POST", "/v1/traces", bomb, content_type=PROTOBUF, headers={"Content-Encoding": "zstd"}
    )
    assert status == 413
    assert "after decompression" in Status.FromString(body).message


@pytest.fixture(scope="module")
def small_spool():
    # The writer seals a segment only after 10 s, so a second request finds the spool full.
    config = {
        "ingest": {
            "max_request_bytes": MIB,
            "spool": {"max_bytes": MIB, "flush_interval_s": 10, "batch_rows": 10**9},
        }
    }
    srv = Server(config, admin_token=TOKEN).start()
    yield srv
    srv.cleanup()


def test_a_request_larger_than_the_whole_spool_is_413_not_retry_forever(small_spool: Server):
    # 10k spans are ~0.5 MiB of protobuf (under max_request_bytes) and ~1.6 MiB as stored.
    big = spans_request(10_000).SerializeToString()
    assert len(big) < MIB
    status, body = small_spool.request("POST", "/v1/traces", big, content_type=PROTOBUF)
    assert status == 413, body
    answer = Status.FromString(body)
    assert "spool" in answer.message and not answer.details  # no RetryInfo: do not retry
    error = grpc_export(small_spool, spans_request(10_000))
    assert error is not None and error.code() == grpc.StatusCode.INVALID_ARGUMENT


def test_a_full_spool_is_429_with_retry_after_and_resource_exhausted_with_retry_info(
    small_spool: Server,
):
    # ~0.3 MiB as stored each: four senders at once fill 1 MiB well within the 10 s after
    # which the writer seals (and then drains) the segment, however loaded the machine is.
    # Each request is new: a repeat would be recognised as a retry and not spooled again.
    over_http: list[tuple[int, bytes]] = []
    over_grpc: list[grpc.RpcError] = []

    def send_http() -> None:
        for _ in range(40):
            body = spans_request(2_000).SerializeToString()
            status, body = small_spool.request("POST", "/v1/traces", body, content_type=PROTOBUF)
            if status != 200:
                over_http.append((status, body))
                return

    def send_grpc() -> None:
        for _ in range(40):
            error = grpc_export(small_spool, spans_request(2_000))
            if error is not None:
                over_grpc.append(error)
                return

    senders = [threading.Thread(target=f) for f in (send_http, send_http, send_grpc, send_grpc)]
    for sender in senders:
        sender.start()
    for sender in senders:
        sender.join(300)
    assert over_http and over_grpc, "40 requests of 0.3 MiB each fit in a 1 MiB spool"
    status, body = over_http[0]
    assert status == 429
    answer = Status.FromString(body)
    assert answer.code == grpc.StatusCode.RESOURCE_EXHAUSTED.value[0]
    assert retry_info(answer) is not None

    error = over_grpc[0]
    assert error.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
    details = status_details(error)
    assert details is not None and details.code == grpc.StatusCode.RESOURCE_EXHAUSTED.value[0]
    info = retry_info(details)
    assert info is not None and info.retry_delay.seconds >= 1


def test_config_check_refuses_a_spool_smaller_than_a_request(tmp_path):
    config = tmp_path / "rxsight.yaml"
    config.write_text("ingest:\n  max_request_bytes: 4194304\n  spool:\n    max_bytes: 2097152\n")
    result = rxsight_cli("config", "check", "--config", str(config))
    assert result.returncode != 0
    assert "spool.max_bytes" in result.stderr + result.stdout
    assert "max_request_bytes" in result.stderr + result.stdout
