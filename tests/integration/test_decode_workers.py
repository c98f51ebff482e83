"""Decode workers start under concurrent load, take over without loss, and retire when idle;
a worker decodes and refuses exactly as the server would, and a dead one is noticed."""

from __future__ import annotations

import os
import re
import threading
import time

import pytest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

from collector.decode import Decoder
from collector.events import UnsupportedMediaType
from collector.otlp.wire import OtlpDecodeError
from collector.workers import DECODE_NICENESS, DecodePool, WorkerUnavailable
from rxsight.config import IngestConfig
from tests.support import Server

# An hour ago: inside the traces retention whenever the test runs.
START_NS = time.time_ns() - 3600 * 10**9

TOKEN = "workers-admin-token-0123456789"
PB = "application/x-protobuf"


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
                        "event_type": "po.transmitted",
                        "occurred_at": "2026-11-20T10:00:00Z",
                        "correlation_id": cid,
                        "source_system": "erp",
                        "po_number": f"PO-{cid}",
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


def _span_body(n: int, *, bad_trace_id: bool = False) -> bytes:
    request = ExportTraceServiceRequest()
    spans = request.resource_spans.add().scope_spans.add()
    for i in range(n):
        span = spans.spans.add()
        span.trace_id = b"\x01" * (15 if bad_trace_id and i == 0 else 16)
        span.span_id = (i + 1).to_bytes(8, "big")
        span.name = "erp-po-sync.post"
        span.start_time_unix_nano = START_NS + i
        span.end_time_unix_nano = START_NS + 500_000 + i
        attribute = span.attributes.add()
        attribute.key, attribute.value.string_value = "correlation.id", f"pool-{i}"
    return request.SerializeToString()


def test_a_worker_decodes_as_this_process_does_and_refuses_alike():
    config = IngestConfig()
    inline = Decoder(config)
    pool = DecodePool(1, config)
    try:
        for body in (_span_body(300), _span_body(5, bad_trace_id=True)):
            mine = inline.decode("spans", body, "application/x-protobuf")
            theirs = pool.decode("spans", body, "application/x-protobuf", (), "")
            assert theirs == mine  # payload bytes, counts and messages alike
        assert pool.decode("spans", _span_body(5, bad_trace_id=True), PB, (), "").rejected_count
        with pytest.raises(OtlpDecodeError, match="body: not a valid"):
            pool.decode("spans", b"\x0a\xff\xff", PB, (), "")
        with pytest.raises(UnsupportedMediaType, match="Content-Type: text/csv"):
            pool.decode("events", b"a,b", "text/csv", (), "")
        # The worker refused those bodies and is still there for the next one.
        assert pool.decode("spans", _span_body(2), PB, (), "").accepted == 2
    finally:
        pool.close()


def test_workers_decode_at_a_lower_priority_than_the_server():
    # So the server's writer keeps pace with what is accepted under a load the machine cannot
    # keep up with, instead of leaving it in the spool.
    pool = DecodePool(1, IngestConfig())
    try:
        [worker] = pool._workers
        mine = os.getpriority(os.PRIO_PROCESS, 0)
        assert os.getpriority(os.PRIO_PROCESS, worker.process.pid) == min(
            19, mine + DECODE_NICENESS
        )
    finally:
        pool.close()


def test_a_dead_worker_is_reported_and_a_closed_pool_refuses():
    pool = DecodePool(1, IngestConfig())
    [worker] = pool._workers
    worker.process.kill()
    worker.process.join(5)
    with pytest.raises(WorkerUnavailable) as died:
        pool.decode("spans", _span_body(1), PB, (), "")
    assert died.value.died
    pool.close(timeout_s=2)

    pool = DecodePool(1, IngestConfig())
    pool.close()
    assert not pool._workers[0].process.is_alive()
    with pytest.raises(WorkerUnavailable) as closed:
        pool.decode("spans", _span_body(1), PB, (), "")
    assert not closed.value.died
