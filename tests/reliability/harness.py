"""The reliability harness: a generator of mixed ingest that remembers what was
acknowledged, faults (kill -9, lost answers, a memory cap), a checker that reads the store
raw and through the API, and a tally of raw counts that every test prints.

Profiles: RXSIGHT_RELIABILITY_PROFILE=short (in `make test`) or long (`make reliability`)."""

from __future__ import annotations

import functools
import http.client
import json
import os
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import grpc
from google.protobuf import json_format
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceResponse

from tests.otlp_support import PROTOBUF, TRACES, otlp_json, own_channel, spans_request
from tests.support import REPO, Server

PROFILE = os.environ.get("RXSIGHT_RELIABILITY_PROFILE", "short")


def by_profile(short: int, long: int) -> int:
    """How many trials or items this profile runs."""
    return long if PROFILE == "long" else short


class Tally:
    """Raw counts of one test, printed as one line whatever the outcome."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.counts: Counter[str] = Counter()
        self._lock = threading.Lock()

    def add(self, key: str, n: int = 1) -> None:
        with self._lock:
            self.counts[key] += n

    def __getitem__(self, key: str) -> int:
        return self.counts[key]

    def report(self) -> str:
        line = f"[reliability:{PROFILE}] {self.name}: " + "  ".join(
            f"{k} {v}" for k, v in sorted(self.counts.items())
        )
        print(f"\n{line}", flush=True)
        return line


@functools.cache
def _occurred_at() -> str:
    # One time for the whole run: a batch sent again must be the same content (a resend),
    # not a conflict.
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())


def event_batch(cid: str, n: int) -> list[dict[str, Any]]:
    return [
        {
            "event_id": f"{cid}-{i}",
            "event_type": "goods.received",
            "occurred_at": _occurred_at(),
            "correlation_id": cid,
            "source_system": "dock",
            "receipt_id": f"GR-{cid}-{i}",
            "po_number": f"PO-{cid}",
            "lines": [{"line_no": 1, "item_id": "NDC-1", "quantity": "2"}],
        }
        for i in range(n)
    ]


def _span_ids(req: Any) -> set[str]:
    return {
        span.span_id.hex()
        for rs in req.resource_spans
        for ss in rs.scope_spans
        for span in ss.spans
    }


def _rejected_spans(answer: bytes, ctype: str) -> int:
    response = ExportTraceServiceResponse()
    if ctype == PROTOBUF:
        response.ParseFromString(answer)
    else:
        json_format.Parse(answer, response)
    return response.partial_success.rejected_spans


CONNECTION_LOST = (OSError, http.client.HTTPException, grpc.RpcError)


@dataclass
class Generator:
    """Mixed ingest through every door: events (JSON), spans as OTLP/JSON and OTLP/protobuf
    over HTTP, and over gRPC. What was acknowledged (a whole 200 read) is remembered by
    correlation ID; a batch whose answer was not read is not."""

    server: Server
    tally: Tally
    events_per_batch: int = 50
    spans_per_batch: int = 50
    acked_events: dict[str, set[str]] = field(default_factory=dict)
    acked_spans: dict[str, set[str]] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    KINDS = ("events", "spans-json", "spans-protobuf", "spans-grpc")

    def send(self, kind: str, cid: str, attempts: int = 1) -> bool:
        """Send one batch, retrying up to `attempts` times when no answer was read (the
        same batch, as a client that never saw the answer would). True once acknowledged."""
        batch, ids = self._batch(kind, cid)
        for _ in range(attempts):
            status, _ = self._attempt(kind, cid, batch, ids)
            if status is not None:
                return status == 200
        return False

    def send_once(self, kind: str, cid: str) -> tuple[int | None, str | None]:
        """One attempt: (status, its Retry-After), status None when no answer was read."""
        batch, ids = self._batch(kind, cid)
        return self._attempt(kind, cid, batch, ids)

    def _batch(self, kind: str, cid: str) -> tuple[Any, set[str]]:
        if kind == "events":
            batch = event_batch(cid, self.events_per_batch)
            return batch, {e["event_id"] for e in batch}
        batch = spans_request(self.spans_per_batch, cid)
        return batch, _span_ids(batch)

    def _attempt(
        self, kind: str, cid: str, batch: Any, ids: set[str]
    ) -> tuple[int | None, str | None]:
        self.tally.add(f"{kind} sent")
        try:
            status, retry_after = self._post(kind, batch)
        except CONNECTION_LOST:
            self.tally.add(f"{kind} unanswered")
            return None, None
        self.tally.add(f"{kind} answered {status}")
        if status == 200:  # whole: a partial success is a 206 here
            with self._lock:
                (self.acked_events if kind == "events" else self.acked_spans)[cid] = ids
        return status, retry_after

    def _post(self, kind: str, batch: Any) -> tuple[int, str | None]:
        """(status, Retry-After); OTLP's 200 with partial_success counts as 206."""
        if kind == "spans-grpc":
            token = self.server.admin_token
            with own_channel(self.server.grpc_port) as channel:
                export = channel.unary_unary(
                    TRACES,
                    request_serializer=type(batch).SerializeToString,
                    response_deserializer=ExportTraceServiceResponse.FromString,
                )
                answer = export(batch, timeout=30, metadata=(("authorization", f"Bearer {token}"),))
            return (206 if answer.partial_success.rejected_spans else 200), None
        if kind == "events":
            path, body, ctype = "/v1/events", json.dumps(batch).encode(), "application/json"
        elif kind == "spans-json":
            path, body, ctype = "/v1/traces", otlp_json(batch), "application/json"
        else:
            path, body, ctype = "/v1/traces", batch.SerializeToString(), PROTOBUF
        req = urllib.request.Request(self.server.url + path, data=body, method="POST")
        req.add_header("Content-Type", ctype)
        req.add_header("Authorization", f"Bearer {self.server.admin_token}")
        try:
            with urllib.request.urlopen(req, timeout=30) as resp:
                answer = resp.read()
                status = resp.status
                if (
                    kind == "events"
                    and json.loads(answer)["rejected"]
                    or kind != "events"
                    and _rejected_spans(answer, ctype)
                ):
                    status = 206
                return status, resp.headers.get("retry-after")
        except urllib.error.HTTPError as exc:
            exc.read()
            return exc.code, exc.headers.get("retry-after")

    def run(self, workers: int, stop: threading.Event, prefix: str) -> list[threading.Thread]:
        """Worker threads sending every kind in turn until stop, or until the server goes."""

        def work(w: int) -> None:
            n = 0
            while not stop.is_set():
                kind = self.KINDS[(w + n) % len(self.KINDS)]
                try:
                    self.send(kind, f"{prefix}-{w}-{n}")
                except Exception:  # noqa: BLE001 - counted; the checker decides
                    self.tally.add(f"{kind} client error")
                n += 1

        threads = [threading.Thread(target=work, args=(w,), daemon=True) for w in range(workers)]
        for t in threads:
            t.start()
        return threads

    def acknowledged(self) -> tuple[int, int]:
        with self._lock:
            return (
                sum(len(v) for v in self.acked_events.values()),
                sum(len(v) for v in self.acked_spans.values()),
            )


def raw_store(data_dir: Any) -> dict[str, Any]:
    """What the tables hold, read raw (no FINAL, no LIMIT BY) from a separate process with
    the server stopped: chDB binds one directory per process, and API reads hide repeats."""
    script = (
        "import json,sys; from rxsight.store import Store; s=Store(sys.argv[1]);"
        "q=lambda sql: s.query_rows(sql);"
        "ev=q('SELECT correlation_id, event_id, count() FROM business_events GROUP BY 1, 2');"
        "sp=q('SELECT CorrelationId, SpanId, count() FROM otel_traces GROUP BY 1, 2');"
        "print(json.dumps({'events': ev, 'spans': sp})); s.close()"
    )
    out = subprocess.run(
        [sys.executable, "-c", script, f"chdb://{data_dir}/clickhouse"],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=180,
        check=True,
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def check_store(gen: Generator, stored: dict[str, Any]) -> Tally:
    """Acknowledged items missing from the store, and items stored more than once."""
    tally = gen.tally
    events: dict[str, Counter[str]] = {}
    for cid, event_id, n in stored["events"]:
        events.setdefault(cid, Counter())[event_id] += n
    spans: dict[str, Counter[str]] = {}
    for cid, span_id, n in stored["spans"]:
        spans.setdefault(cid, Counter())[span_id.lower()] += n
    for kind, acked, held in (
        ("events", gen.acked_events, events),
        ("spans", gen.acked_spans, spans),
    ):
        tally.add(f"{kind} acknowledged", sum(len(ids) for ids in acked.values()))
        tally.add(f"{kind} stored", sum(len(c) for c in held.values()))
        tally.add(
            f"{kind} acknowledged-lost",
            sum(len(ids - set(held.get(cid, ()))) for cid, ids in acked.items()),
        )
        tally.add(
            f"{kind} stored twice (raw)",
            sum(n - 1 for c in held.values() for n in c.values() if n > 1),
        )
    return tally


def visible_duplicates(server: Server, gen: Generator, sample: int | None = None) -> int:
    """Items the API shows more than once (GET /api/transactions/{cid}), over acknowledged
    correlation IDs (all of them, or the first `sample`)."""
    cids = sorted(set(gen.acked_events) | set(gen.acked_spans))[:sample]
    dup = 0
    for cid in cids:
        status, body = server.request("GET", f"/api/transactions/{cid}")
        assert status == 200, body
        events = Counter(e["event_id"] for e in body["events"])
        spans = Counter(s["span_id"] for s in body["spans"])
        dup += sum(n - 1 for n in events.values()) + sum(n - 1 for n in spans.values())
        gen.tally.add("transactions read")
    return dup


def wait_drained(server: Server, timeout: float = 60) -> None:
    """Until the spool is empty: everything accepted is in the store."""
    server.wait_for(
        lambda: "rxsight_spool_bytes 0.0" in server.request("GET", "/metrics", token=None)[1],
        timeout=timeout,
        interval=0.25,
    )


def settle_and_check(server: Server, gen: Generator, sample: int | None = None) -> None:
    """Once the load is over: let the spool drain, count what the API shows twice (over
    `sample` transactions, or all), stop the server and check the store raw. Into the tally."""
    wait_drained(server, timeout=120)
    gen.tally.add("visible duplicates", visible_duplicates(server, gen, sample))
    server.stop()
    check_store(gen, raw_store(server.data_dir))
