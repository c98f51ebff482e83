"""Decode workers start under concurrent load, take over without loss, and retire when idle."""

from __future__ import annotations

import re
import threading

from tests.support import Server

TOKEN = "workers-admin-token-0123456789"


def _workers(server: Server) -> float:
    _, text = server.request("GET", "/metrics")
    return float(re.search(r"^rxsight_decode_workers (\S+)$", text, re.M).group(1))


def test_workers_come_with_load_and_go_when_idle():
    server = Server(
        {"ingest": {"decode_workers": 2, "decode_idle_s": 2}}, admin_token=TOKEN
    ).start()
    try:
        assert _workers(server) == 0  # idle: no worker processes
        sent = []
        failed: list[tuple[int, object]] = []
        stop = threading.Event()

        def load(worker: int) -> None:
            n = 0
            while not stop.is_set():
                cid = f"dw-{worker}-{n}"
                events = [
                    {
                        "event_id": f"{cid}-{i}",
                        "event_type": "po.created",
                        "occurred_at": "2026-11-20T10:00:00Z",
                        "correlation_id": cid,
                        "source_system": "erp",
                    }
                    for i in range(200)
                ]
                status, body = server.request("POST", "/v1/events", events)
                if status != 200 or body["accepted"] != 200:
                    failed.append((status, body))  # asserted below: a thread cannot fail a test
                    return
                sent.append(cid)
                n += 1

        threads = [threading.Thread(target=load, args=(w,)) for w in range(4)]
        for t in threads:
            t.start()
        try:
            server.wait_for(lambda: _workers(server) == 2, timeout=60, interval=0.2)
            server.wait_for(lambda: len(sent) > 40, timeout=60)  # some decoded by workers
        finally:
            stop.set()
            for t in threads:
                t.join(30)
        assert not failed, failed[:3]
        server.wait_for(lambda: _workers(server) == 0, timeout=30, interval=0.2)
        # Every batch, decoded inline or by a worker, is readable exactly once.
        for cid in sent[:: max(1, len(sent) // 15)]:

            def readable(cid=cid):
                _, tx = server.request("GET", f"/api/transactions/{cid}")
                return len(tx["events"]) == 200

            server.wait_for(readable, timeout=10)
    finally:
        server.cleanup()
