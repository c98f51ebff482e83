"""kill -9 during sustained ingest: every acknowledged item is there after restart, once."""

from __future__ import annotations

import http.client
import json
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path

from tests.support import REPO, Server

TOKEN = "kill9-admin-token-0123456789"


def _events(cid: str, n: int) -> list[dict]:
    return [
        {
            "event_id": f"{cid}-{i}",
            "event_type": "goods.received",
            "occurred_at": "2026-11-20T10:00:00Z",
            "correlation_id": cid,
            "source_system": "dock",
            "receipt_id": f"GR-{cid}-{i}",
            "po_number": f"PO-{cid}",
            "lines": [{"line_no": 1, "item_id": "NDC-1", "quantity": "2"}],
        }
        for i in range(n)
    ]


def _spans(cid: str, n: int) -> dict:
    now = time.time_ns()
    spans = [
        {
            "traceId": uuid.uuid4().hex,
            "spanId": uuid.uuid4().hex[:16],
            "name": "sync",
            "startTimeUnixNano": str(now + i),
            "endTimeUnixNano": str(now + i + 5000),
            "attributes": [{"key": "correlation.id", "value": {"stringValue": cid}}],
        }
        for i in range(n)
    ]
    return {
        "resourceSpans": [
            {
                "resource": {
                    "attributes": [{"key": "service.name", "value": {"stringValue": "erp"}}]
                },
                "scopeSpans": [{"spans": spans}],
            }
        ]
    }


def _raw_counts(data_dir) -> dict:
    # Read the tables raw (no FINAL, no LIMIT BY) from a separate process: chDB binds one
    # directory per process, and the API's reads would hide duplicates.
    script = (
        "import json,sys; from rxsight.store import Store; s=Store(sys.argv[1]);"
        "q=lambda sql: s.query_rows(sql)[0];"
        "e=q('SELECT count(), uniqExact(event_id) FROM business_events');"
        "t=q('SELECT count(), uniqExact(TraceId, SpanId) FROM otel_traces');"
        "ids=[r[0] for r in s.query_rows('SELECT DISTINCT event_id FROM business_events')];"
        "cids=s.query_rows('SELECT CorrelationId, count() FROM otel_traces GROUP BY 1');"
        "print(json.dumps({'events':e,'spans':t,'event_ids':ids,'span_cids':dict(cids)}));"
        "s.close()"
    )
    out = subprocess.run(
        [sys.executable, "-c", script, f"chdb://{data_dir}/clickhouse"],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def test_kill9_during_ingest_loses_and_duplicates_nothing():
    server = Server(admin_token=TOKEN).start()
    acked_events: set[str] = set()
    acked_spans: dict[str, int] = {}
    stop = threading.Event()
    lock = threading.Lock()

    def send_events(worker: int) -> None:
        n = 0
        while not stop.is_set():
            cid = f"k9-e-{worker}-{n}"
            n += 1
            try:
                status, body = server.request("POST", "/v1/events", _events(cid, 50), timeout=30)
            except (OSError, http.client.HTTPException):
                # The server is gone, perhaps halfway through its answer: a client that did
                # not read the whole answer cannot count the request as acknowledged.
                return
            if status == 200 and body["accepted"] == 50:
                with lock:
                    acked_events.update(f"{cid}-{i}" for i in range(50))

    def send_spans(worker: int) -> None:
        n = 0
        while not stop.is_set():
            cid = f"k9-s-{worker}-{n}"
            n += 1
            try:
                status, _ = server.request("POST", "/v1/traces", _spans(cid, 100), timeout=30)
            except (OSError, http.client.HTTPException):
                return
            if status == 200:
                with lock:
                    acked_spans[cid] = 100

    try:
        threads = [threading.Thread(target=send_events, args=(w,)) for w in range(2)]
        threads += [threading.Thread(target=send_spans, args=(w,)) for w in range(2)]
        for t in threads:
            t.start()
        # Kill once a real amount is acknowledged, with requests still in flight.
        server.wait_for(
            lambda: len(acked_events) >= 2000 and len(acked_spans) >= 20, timeout=120, interval=0.05
        )
        server.kill9()
        stop.set()
        for t in threads:
            t.join(10)
        with lock:
            events_before, spans_before = set(acked_events), dict(acked_spans)
        assert len(events_before) >= 2000 and len(spans_before) >= 20

        server.start()  # same data dir: the spool replays
        status, _ = server.request("GET", "/readyz")
        assert status == 200
        server.wait_for(
            lambda: server.request("GET", "/metrics")[1].count("rxsight_spool_bytes 0.0") == 1,
            timeout=30,
        )
        # The same events resent after the crash (a client retrying) change nothing.
        resend = sorted(events_before)[:50]
        status, _ = server.request(
            "POST",
            "/v1/events",
            [e for cid in {i.rsplit("-", 1)[0] for i in resend} for e in _events(cid, 50)],
        )
        assert status == 200
        time.sleep(1.5)
        server.stop()
        counts = _raw_counts(server.data_dir)
    finally:
        server.cleanup()
    events_total, events_unique = counts["events"]
    spans_total, spans_unique = counts["spans"]
    assert events_total == events_unique, "an event was stored twice"
    assert spans_total == spans_unique, "a span was stored twice"
    missing = events_before - set(counts["event_ids"])
    assert not missing, f"{len(missing)} acknowledged events lost, e.g. {sorted(missing)[:3]}"
    short = {c: n for c, n in spans_before.items() if counts["span_cids"].get(c, 0) != n}
    assert not short, f"acknowledged span batches lost or doubled: {list(short.items())[:3]}"


def test_decode_workers_do_not_outlive_a_killed_server():
    server = Server({"ingest": {"decode_workers": 2}}, admin_token=TOKEN).start()
    try:
        pid = server.proc.pid
        stop = threading.Event()

        def load(n: int) -> None:
            while not stop.is_set():
                try:
                    server.request("POST", "/v1/events", _events(f"orphan-{n}", 200), timeout=30)
                except (OSError, http.client.HTTPException):
                    return  # killed under us, as intended

        threads = [threading.Thread(target=load, args=(n,)) for n in range(4)]
        for t in threads:
            t.start()

        def workers() -> list[int]:
            kids = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
            return [int(k) for k in kids if "spawn_main" in Path(f"/proc/{k}/cmdline").read_text()]

        try:
            spawned = server.wait_for(lambda: len(workers()) >= 2 and workers(), timeout=60)
        finally:
            stop.set()
        server.kill9()
        for t in threads:
            t.join(30)
        server.wait_for(lambda: not any(Path(f"/proc/{w}").exists() for w in spawned), timeout=15)
    finally:
        server.cleanup()
