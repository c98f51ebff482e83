"""Webhook delivery under receiver faults (500s, 429 + Retry-After, trickle, hang) and a
kill -9 of rxsight mid-send: every notification reaches its receiver, signed (checked with the
reference `standardwebhooks` package), each attempt within its total deadline, and exactly
once as the receiver sees it after dropping repeats by webhook-id. Raw counts are printed.

The kill -9 trials: 1 in the short profile (`make test`), 20 in the long one
(`make reliability`)."""

from __future__ import annotations

import base64
import socket
import threading
import time
from collections import Counter, defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from standardwebhooks import Webhook, WebhookVerificationError

from tests.reliability.harness import by_profile
from tests.support import Server, free_port

TOKEN = "webhook-faults-admin-token-01"
SECRET = "whsec_" + base64.b64encode(b"reliability-secret-0123456789ab").decode()
TIMEOUT_S = 1.0
TRIALS = by_profile(short=1, long=20)


class _QuietServer(ThreadingHTTPServer):
    allow_reuse_address = True
    daemon_threads = True

    def handle_error(self, request: Any, client_address: Any) -> None:
        pass  # senders hanging up mid-answer is what these tests do on purpose


@dataclass
class FaultReceiver:
    """A webhook receiver on loopback whose answer depends on the path and on how many times
    this webhook-id arrived: `plan[path]` lists the faults for arrivals 1, 2, ... then 200."""

    plan: dict[str, list[str]]
    answer_delay_s: float = 0.0
    port: int = field(default_factory=free_port)
    arrivals: list[tuple[str, str, float]] = field(default_factory=list)  # path, id, time
    accepted: Counter[str] = field(default_factory=Counter)  # webhook-id -> 2xx answers
    bodies: dict[str, set[bytes]] = field(default_factory=lambda: defaultdict(set))
    bad_signatures: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _stop: threading.Event = field(default_factory=threading.Event)
    _server: ThreadingHTTPServer | None = None

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def start(self) -> FaultReceiver:
        owner = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self) -> None:  # noqa: N802 - http.server's naming
                length = int(self.headers.get("content-length") or 0)
                body = self.rfile.read(length)
                if len(body) < length:
                    return  # the sender died mid-request (kill -9): nothing was delivered
                headers = {k.lower(): v for k, v in self.headers.items()}
                wid = headers.get("webhook-id", "")
                try:
                    Webhook(SECRET).verify(body, headers)
                    signed = True
                except WebhookVerificationError:
                    signed = False
                with owner._lock:
                    owner.arrivals.append((self.path, wid, time.monotonic()))
                    owner.bodies[wid].add(body)
                    owner.bad_signatures += not signed
                    n = sum(1 for _, w, _ in owner.arrivals if w == wid)
                faults = owner.plan.get(self.path, [])
                fault = faults[n - 1] if n <= len(faults) else "ok"
                if fault == "hang":
                    owner._stop.wait(30)
                    self.close_connection = True
                    return
                if fault == "trickle":
                    self._trickle()
                    return
                if fault == "500":
                    self._answer(500)
                elif fault == "429":
                    self._answer(429, {"retry-after": "1"})
                else:
                    if owner.answer_delay_s:
                        owner._stop.wait(owner.answer_delay_s)
                    if self._answer(200):
                        with owner._lock:
                            owner.accepted[wid] += 1

            def _trickle(self) -> None:
                # A valid answer, one byte every 2 s: each read succeeds, the whole never ends
                # within the sender's deadline.
                try:
                    for byte in b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok":
                        self.wfile.write(bytes([byte]))
                        self.wfile.flush()
                        if owner._stop.wait(2):
                            break
                except OSError:
                    pass  # the sender gave up, as it should
                self.close_connection = True

            def _answer(self, status: int, extra: dict[str, str] | None = None) -> bool:
                try:
                    self.send_response(status)
                    for k, v in (extra or {}).items():
                        self.send_header(k, v)
                    self.send_header("content-length", "2")
                    self.end_headers()
                    self.wfile.write(b"ok")
                    self.wfile.flush()
                    return True
                except OSError:
                    return False

            def log_message(self, *args: Any) -> None:
                pass

        self._server = _QuietServer(("127.0.0.1", self.port), Handler)
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._server:
            self._server.shutdown()
            self._server.server_close()

    def arrivals_of(self, wid: str) -> list[float]:
        with self._lock:
            return [t for _, w, t in self.arrivals if w == wid]


def _section(
    rcv: FaultReceiver, paths: list[str], max_attempts: int = 6, timeout_s: float = TIMEOUT_S
) -> dict[str, Any]:
    return {
        "poll_interval": "100ms",
        "delivery": {"max_attempts": max_attempts, "backoff_initial": "100ms", "backoff_max": "1s"},
        "receivers": [
            {
                "name": path.strip("/"),
                "secret": SECRET,
                "webhooks": [{"url": rcv.url(path), "timeout": f"{int(timeout_s * 1000)}ms"}],
            }
            for path in paths
        ],
        "route": {"receiver": paths[0].strip("/"), "group_wait": "0s"},
    }


def _send_tests(server: Server, receiver: str, n: int) -> list[str]:
    ids = []
    for _ in range(n):
        status, body = server.request("POST", "/api/alerts/test", {"receiver": receiver})
        assert status == 202, body
        ids += body["notification_ids"]
    return ids


@pytest.fixture
def receiver() -> Iterator[FaultReceiver]:
    rcv = FaultReceiver(
        plan={
            "/errors": ["500", "500"],
            "/throttle": ["429"],
            "/trickle": ["trickle", "trickle"],
            "/hang": ["hang"],
        }
    ).start()
    try:
        yield rcv
    finally:
        rcv.stop()


def test_receiver_faults_are_retried_within_deadlines_and_delivered_once(
    receiver: FaultReceiver,
) -> None:
    paths = ["/errors", "/throttle", "/trickle", "/hang"]
    server = Server({"alerts": _section(receiver, paths)}, admin_token=TOKEN).start()
    try:
        sent = {p: _send_tests(server, p.strip("/"), 3) for p in paths}
        every = [i for ids in sent.values() for i in ids]

        def all_delivered() -> bool:
            with receiver._lock:
                return all(receiver.accepted[i] >= 1 for i in every)

        server.wait_for(all_delivered, timeout=90, interval=0.25)

        def recorded() -> dict[str, Any] | None:
            # The receiver's 200 is in before rxsight has written down the outcome.
            status, body = server.request("GET", "/api/deliveries?limit=1000")
            assert status == 200
            history = {d["id"]: d for d in body["deliveries"] if d["id"] in every}
            done = all(history.get(i, {}).get("status") == "delivered" for i in every)
            return history if done else None

        history = server.wait_for(recorded, timeout=30, interval=0.25)
    finally:
        server.cleanup()
    print()
    for path, ids in sent.items():
        tries = [len(history[i]["history"]) for i in ids]
        longest = max(a["latency_ms"] for i in ids for a in history[i]["history"])
        dup = sum(receiver.accepted[i] - 1 for i in ids)
        print(
            f"{path:<10} notifications {len(ids)}  attempts {sum(tries)}  "
            f"delivered {sum(1 for i in ids if receiver.accepted[i])}  duplicates {dup}  "
            f"longest attempt {longest:.0f} ms (deadline {TIMEOUT_S * 1000:.0f} ms)"
        )
    print(f"bad signatures {receiver.bad_signatures}")
    assert receiver.bad_signatures == 0
    for path, ids in sent.items():
        for i in ids:
            assert receiver.accepted[i] == 1, (path, i)
            assert history[i]["status"] == "delivered"
            assert len(receiver.bodies[i]) == 1  # every retry carries the same body
    # 500 twice then 200: three attempts; the faults before it are retries.
    assert all(len(history[i]["history"]) == 3 for i in sent["/errors"])
    # Retry-After: 1 is honoured: the second arrival waits at least that long.
    for i in sent["/throttle"]:
        first, second = receiver.arrivals_of(i)[:2]
        assert second - first >= 0.9
    # Trickle and hang: each attempt ends at its total deadline, not per read.
    for i in sent["/trickle"] + sent["/hang"]:
        failed = [a for a in history[i]["history"] if a["outcome"] == "retry"]
        assert failed and all(a["error"].startswith("timeout") for a in failed)
        assert all(a["latency_ms"] < TIMEOUT_S * 1000 + 750 for a in failed), failed


@pytest.mark.parametrize("trial", range(TRIALS))
def test_kill9_mid_send_then_every_notification_once(trial: int) -> None:
    # Each answer takes 0.5 s, well within the 5 s deadline: only the kill interrupts sends.
    rcv = FaultReceiver(plan={}, answer_delay_s=0.5).start()
    section = _section(rcv, ["/slow"], max_attempts=20, timeout_s=5.0)
    section["delivery"]["workers"] = 4
    server = Server({"alerts": section}, admin_token=TOKEN).start()
    try:
        ids = _send_tests(server, "slow", 24)
        # Kill while requests are in flight: some arrived, none of those answered yet.
        server.wait_for(lambda: len(rcv.arrivals) >= 4, timeout=30, interval=0.05)
        in_flight = len(rcv.arrivals) - sum(rcv.accepted.values())
        server.kill9()
        server.start()

        def all_delivered() -> bool:
            with rcv._lock:
                return all(rcv.accepted[i] >= 1 for i in ids)

        server.wait_for(all_delivered, timeout=120, interval=0.25)
        time.sleep(1.5)  # anything resent late would show up now
        with rcv._lock:
            arrivals = [w for _, w, _ in rcv.arrivals]
            accepted = dict(rcv.accepted)
    finally:
        server.cleanup()
        rcv.stop()
    unique = set(arrivals)
    repeats = len(arrivals) - len(unique)
    print(
        f"\nkill -9 trial {trial}: notifications {len(ids)}  in flight at kill {in_flight}  "
        f"arrivals {len(arrivals)}  repeated webhook-ids {repeats}  "
        f"2xx answers {sum(accepted.values())}  unique accepted {len(accepted)}  "
        f"lost {len(set(ids) - set(accepted))}  bad signatures {rcv.bad_signatures}"
    )
    assert unique == set(ids)  # nothing unknown, nothing lost
    assert rcv.bad_signatures == 0
    # Exactly once after the receiver drops repeats by webhook-id: one body per id, so the
    # repeat is recognisably the same message.
    assert all(len(rcv.bodies[i]) == 1 for i in ids)


def test_trickle_socket_server_is_real() -> None:
    """The trickle fault really trickles: the first byte comes at once, the rest slowly."""
    rcv = FaultReceiver(plan={"/t": ["trickle"]}).start()
    try:
        with socket.create_connection(("127.0.0.1", rcv.port), timeout=5) as s:
            s.sendall(b"POST /t HTTP/1.1\r\nhost: x\r\ncontent-length: 0\r\n\r\n")
            start = time.monotonic()
            assert s.recv(100) == b"H"
            assert time.monotonic() - start < 1.5
            s.settimeout(1.0)
            with pytest.raises(TimeoutError):
                s.recv(100)
    finally:
        rcv.stop()
