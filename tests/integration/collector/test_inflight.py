"""Bytes in flight are bounded (`ingest.max_inflight_bytes`): while requests hold the budget,
the next is refused at once as retryable overload (503 + Retry-After; OTLP: a
google.rpc.Status in the request's encoding with RetryInfo), and once they finish it is
accepted. Nothing acknowledged is lost."""

from __future__ import annotations

import json
import socket
import time
import urllib.error
import urllib.request
from datetime import UTC, datetime

import pytest
from google.rpc.error_details_pb2 import RetryInfo
from google.rpc.status_pb2 import Status

from tests.otlp_support import PROTOBUF, spans_request
from tests.support import Server, rxsight_cli

TOKEN = "inflight-admin-token-0123456789"
LIMIT = 64 * 1024


@pytest.fixture(scope="module")
def server():
    config = {"ingest": {"max_request_bytes": LIMIT, "max_inflight_bytes": LIMIT}}
    srv = Server(config, admin_token=TOKEN).start()
    yield srv
    srv.cleanup()


def _events(prefix: str, n: int) -> list[dict]:
    now = datetime.now(UTC).isoformat()
    return [
        {
            "event_id": f"{prefix}-{i}",
            "event_type": "replenishment.requested",
            "occurred_at": now,
            "correlation_id": f"{prefix}-c",
            "source_system": "pharmacy",
            "site": "main",
            "item_id": f"NDC-{i:05d}",
            "quantity": "1",
        }
        for i in range(n)
    ]


def _address_space_mib(pid: int) -> int:
    for line in open(f"/proc/{pid}/status"):  # noqa: SIM115 - read at once
        if line.startswith("VmSize:"):
            return int(line.split()[1]) // 1024
    raise AssertionError("no VmSize")


def test_ingest_does_not_reserve_address_space_it_does_not_use(server: Server):
    """A memory cap on the process (RLIMIT_AS, as the overload test sets) counts reserved
    address space: pyarrow's own allocator reserved a GiB at the first request. (First in
    this module: the server has taken no request yet.)"""
    before = _address_space_mib(server.proc.pid)
    for n in range(3):
        status, _ = server.request("POST", "/v1/events", _events(f"as-{n}", 50), token=TOKEN)
        assert status == 200
    assert _address_space_mib(server.proc.pid) - before < 512


class SlowUpload:
    """A client that declares its body and sends only half of it: it holds its share of
    the budget until it sends the rest."""

    def __init__(self, server: Server, body: bytes) -> None:
        self.body = body
        self.sock = socket.create_connection(("127.0.0.1", server.port), timeout=30)
        head = (
            f"POST /v1/events HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {TOKEN}\r\n"
            f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n"
        )
        self.sock.sendall(head.encode() + body[: len(body) // 2])

    def finish(self) -> tuple[int, dict]:
        self.sock.sendall(self.body[len(self.body) // 2 :])
        answer = b""
        while b"\r\n\r\n" not in answer or len(answer.partition(b"\r\n\r\n")[2]) < _length(answer):
            chunk = self.sock.recv(65536)
            if not chunk:
                break
            answer += chunk
        self.sock.close()
        head, _, body = answer.partition(b"\r\n\r\n")
        return int(head.split()[1]), json.loads(body)


def _length(answer: bytes) -> int:
    for line in answer.partition(b"\r\n\r\n")[0].split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            return int(value)
    return 0


def _wait_held(server: Server) -> None:
    """Until the server has read the slow client's headers (it takes its share then)."""
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        status, _ = server.request(
            "POST", "/v1/events", _events(f"probe-{time.monotonic_ns()}", 1), token=TOKEN
        )
        if status == 503:
            return
        time.sleep(0.05)
    raise AssertionError("the slow upload never held the in-flight budget")


def test_past_the_budget_requests_are_refused_as_retryable_until_it_frees(server: Server):
    # Padded (JSON allows trailing blanks) to nearly the whole budget: no other request fits.
    body = json.dumps(_events("slow", 150)).encode()
    body += b" " * (LIMIT - 100 - len(body))
    slow = SlowUpload(server, body)
    _wait_held(server)

    # Events: 503 with Retry-After and a JSON error saying why.
    status, answer = server.request("POST", "/v1/events", _events("refused", 3), token=TOKEN)
    assert status == 503
    assert "overloaded" in answer["error"]

    # OTLP/HTTP protobuf: a google.rpc.Status in protobuf, with RetryInfo, and Retry-After.
    req = urllib.request.Request(
        server.url + "/v1/traces", data=spans_request(3, "c-inflight").SerializeToString()
    )
    req.add_header("Content-Type", PROTOBUF)
    req.add_header("Authorization", f"Bearer {TOKEN}")
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(req, timeout=30)
    assert refused.value.code == 503
    assert int(refused.value.headers["Retry-After"]) >= 1
    rpc_status = Status.FromString(refused.value.read())
    assert rpc_status.code == 14  # UNAVAILABLE
    info = RetryInfo()
    assert rpc_status.details[0].Unpack(info)
    assert info.retry_delay.seconds >= 1

    # The slow client finishes: accepted; the budget is free again for the next request.
    status, answer = slow.finish()
    assert status == 200, answer
    assert answer["accepted"] == 150
    status, answer = server.request("POST", "/v1/events", _events("after", 3), token=TOKEN)
    assert (status, answer["accepted"]) == (200, 3)

    # What was acknowledged is stored, what was refused is not.
    def stored(cid: str) -> int:
        status, tx = server.request("GET", f"/api/transactions/{cid}", token=TOKEN)
        return len(tx["events"]) if status == 200 else 0

    server.wait_for(lambda: stored("slow-c") == 150 and stored("after-c") == 3)
    assert stored("refused-c") == 0
    ready, _ = server.request("GET", "/readyz", token=None)
    assert ready == 200


def test_config_check_refuses_a_budget_smaller_than_one_request(tmp_path):
    path = tmp_path / "rxsight.yaml"
    path.write_text("ingest:\n  max_request_bytes: 2097152\n  max_inflight_bytes: 1048576\n")
    result = rxsight_cli("config", "check", "--config", str(path))
    assert result.returncode != 0
    assert "max_inflight_bytes" in result.stdout + result.stderr
