"""A ClickHouse server outage under ingest (DESIGN 8, 9): the endpoint is gone for 1 s, 30 s
(and 5 min with RXSIGHT_LONG=1) while clients keep sending. Nothing acknowledged is lost,
nothing is stored twice, refusals are 429 with Retry-After once the spool is full, and the
spool replays when the endpoint returns."""

from __future__ import annotations

import http.client
import os
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from rxsight.store import Store
from tests.support import ClickHouseHttp, Server, otlp_json_spans

TOKEN = "outage-admin-token-0123456789"
EVENTS_PER_REQUEST = 50
SPANS_PER_REQUEST = 50


@dataclass
class Tally:
    """What the clients saw: requests sent, items acknowledged, refusals and their headers."""

    sent: int = 0
    acked_events: set[str] = field(default_factory=set)
    acked_spans: dict[str, int] = field(default_factory=dict)
    refused: dict[int, int] = field(default_factory=dict)
    refused_without_retry_after: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)


def _events(cid: str, at: datetime) -> list[dict]:
    return [
        {
            "event_id": f"{cid}-{i}",
            "event_type": "goods.received",
            "occurred_at": at.isoformat().replace("+00:00", "Z"),
            "correlation_id": cid,
            "source_system": "dock",
            "receipt_id": f"GR-{cid}-{i}",
            "po_number": f"PO-{cid}",
            "lines": [{"line_no": 1, "item_id": "NDC-1", "quantity": "2"}],
        }
        for i in range(EVENTS_PER_REQUEST)
    ]


def _send(server: Server, tally: Tally, stop: threading.Event, kind: str, worker: int) -> None:
    n = 0
    while not stop.is_set():
        cid = f"out-{kind}-{worker}-{n}"
        n += 1
        if kind == "events":
            path, body = "/v1/events", _events(cid, datetime.now(UTC) - timedelta(minutes=5))
        else:
            path, body = "/v1/traces", otlp_json_spans(cid, SPANS_PER_REQUEST)
        try:
            status, answer, headers = _post(server, path, body)
        except (OSError, http.client.HTTPException):
            time.sleep(0.2)
            continue
        with tally.lock:
            tally.sent += 1
            if status == 200 and kind == "events" and answer["accepted"] == EVENTS_PER_REQUEST:
                tally.acked_events.update(f"{cid}-{i}" for i in range(EVENTS_PER_REQUEST))
            elif status == 200 and kind == "spans":
                tally.acked_spans[cid] = SPANS_PER_REQUEST
            elif status != 200:
                tally.refused[status] = tally.refused.get(status, 0) + 1
                if "retry-after" not in headers:
                    tally.refused_without_retry_after += 1
        if status in (429, 503):
            time.sleep(float(headers.get("retry-after", "1")))


def _post(server: Server, path: str, body: dict | list) -> tuple[int, dict, dict[str, str]]:
    import json

    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=30)
    try:
        conn.request(
            "POST",
            path,
            json.dumps(body),
            {"Content-Type": "application/json", "Authorization": f"Bearer {TOKEN}"},
        )
        resp = conn.getresponse()
        raw = resp.read()
        headers = {k.lower(): v for k, v in resp.getheaders()}
        answer = json.loads(raw) if "json" in headers.get("content-type", "") and raw else {}
        return resp.status, answer, headers
    finally:
        conn.close()


def _outage(tmp_path: Path, outage_s: float) -> None:
    endpoint = ClickHouseHttp(tmp_path / "clickhouse").start()
    # A small spool, so that a long outage fills it and the refusals are seen.
    config = {
        "ingest": {
            "spool": {"max_bytes": 4 << 20},
            "max_request_bytes": 1 << 20,
            "decode_workers": 0,
        }
    }
    server = Server(config, admin_token=TOKEN, data_dir=tmp_path / "rxsight", dsn=endpoint.dsn())
    tally, stop = Tally(), threading.Event()
    threads = [
        threading.Thread(target=_send, args=(server, tally, stop, kind, w))
        for kind in ("events", "spans")
        for w in range(2)
    ]
    try:
        server.start()
        for t in threads:
            t.start()
        server.wait_for(lambda: len(tally.acked_events) >= 1000, timeout=120, interval=0.05)
        endpoint.stop()
        time.sleep(outage_s)
        endpoint.start()
        # Ingest goes on after the endpoint returns, then the clients stop.
        acked_at_return = len(tally.acked_events)
        server.wait_for(
            lambda: len(tally.acked_events) >= acked_at_return + 1000, timeout=180, interval=0.1
        )
        stop.set()
        for t in threads:
            t.join(60)
        server.wait_for(
            lambda: "rxsight_spool_bytes 0.0" in server.request("GET", "/metrics")[1],
            timeout=120,
            interval=0.5,
        )
        store = Store(endpoint.dsn(), server.env["RXSIGHT_DATABASE"])
        try:
            events_rows, events_unique = store.query_rows(
                "SELECT count(), uniqExact(event_id) FROM business_events"
            )[0]
            stored_ids = {r[0] for r in store.query_rows("SELECT event_id FROM business_events")}
            spans_rows, spans_unique = store.query_rows(
                "SELECT count(), uniqExact(TraceId, SpanId) FROM otel_traces"
            )[0]
            span_cids = dict(
                store.query_rows("SELECT CorrelationId, count() FROM otel_traces GROUP BY 1")
            )
        finally:
            store.close()
    finally:
        stop.set()
        server.cleanup()
        endpoint.stop()

    acked_spans = sum(tally.acked_spans.values())
    print(
        f"\nstorage outage {outage_s:g} s: requests sent {tally.sent}, acknowledged "
        f"{len(tally.acked_events)} events + {acked_spans} spans, refused {tally.refused}, "
        f"stored {events_unique} events + {spans_unique} spans, duplicates "
        f"{events_rows - events_unique} events + {spans_rows - spans_unique} spans"
    )
    missing = tally.acked_events - stored_ids
    assert not missing, f"{len(missing)} acknowledged events lost, e.g. {sorted(missing)[:3]}"
    short = {c: n for c, n in tally.acked_spans.items() if span_cids.get(c, 0) < n}
    assert not short, f"acknowledged span batches lost: {list(short.items())[:3]}"
    assert events_rows == events_unique, "an event was stored twice"
    assert spans_rows == spans_unique, "a span was stored twice"
    assert set(tally.refused) <= {429, 503}, f"refusals other than 429/503: {tally.refused}"
    assert tally.refused_without_retry_after == 0, "a refusal came without Retry-After"
    if outage_s >= 30:
        assert tally.refused, "the spool never filled during a long outage: nothing was tested"


@pytest.mark.parametrize("outage_s", [1, 30])
def test_storage_outage_under_ingest(tmp_path: Path, outage_s: float) -> None:
    _outage(tmp_path, outage_s)


@pytest.mark.slow
@pytest.mark.skipif(not os.environ.get("RXSIGHT_LONG"), reason="long profile: RXSIGHT_LONG=1")
def test_storage_outage_of_five_minutes(tmp_path: Path) -> None:
    _outage(tmp_path, 300)
