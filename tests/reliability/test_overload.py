"""Overload under a memory cap: more ingest than the spool and the store can take, with the
server's address space capped (RLIMIT_AS). Its memory stays under the cap, every refusal is
429 or 503 with Retry-After (never a 5xx of another kind, never a crash), it is ready again
once the load stops, and what was acknowledged is all stored afterwards."""

from __future__ import annotations

import contextlib
import threading
import time
from pathlib import Path

from tests.reliability.faults import address_space_bytes, cap_address_space, rss_bytes
from tests.reliability.harness import (
    Generator,
    Tally,
    by_profile,
    check_store,
    raw_store,
    wait_drained,
)
from tests.support import Server

TOKEN = "overload-admin-token-0123456789"
MIB = 1 << 20
SECONDS = by_profile(short=5, long=90)
CLIENTS = by_profile(short=8, long=24)
# Address space the server may add to what it holds once started (chDB reserves a few GiB
# of it up front; RSS is a fraction of that).
HEADROOM = 1536 * MIB
RSS_CAP = 1536 * MIB


def _tree_rss(pid: int) -> int:
    """RSS of the server and its decode workers."""
    total = rss_bytes(pid)
    children = Path(f"/proc/{pid}/task/{pid}/children")
    for child in children.read_text().split() if children.exists() else ():
        with contextlib.suppress(FileNotFoundError, ProcessLookupError):
            total += rss_bytes(int(child))
    return total


def test_overload_under_a_memory_cap_refuses_with_retry_after_and_loses_nothing():
    tally = Tally(f"overload under a memory cap, {CLIENTS} clients for {SECONDS} s")
    config = {
        "ingest": {
            "max_request_bytes": 2 * MIB,
            # A few requests at once; the others are refused at once (503 + Retry-After).
            "max_inflight_bytes": 6 * MIB,
            # The writer seals a segment every 2 s only: ingest outruns it within seconds.
            "spool": {"max_bytes": 4 * MIB, "flush_interval_s": 2, "batch_rows": 10**9},
        }
    }
    server = Server(config, admin_token=TOKEN).start()
    pid = server.proc.pid
    cap = address_space_bytes(pid) + HEADROOM
    cap_address_space(pid, cap)
    gen = Generator(server, tally, events_per_batch=2000, spans_per_batch=2000)
    refusals: list[tuple[int, str | None]] = []
    peak = 0
    stop = threading.Event()

    def watch() -> None:
        nonlocal peak
        while not stop.wait(0.1):
            try:
                peak = max(peak, _tree_rss(pid))
            except (FileNotFoundError, ProcessLookupError):
                return

    def load(w: int) -> None:
        n = 0
        while not stop.is_set():
            kind = Generator.KINDS[(w + n) % 2]  # events and OTLP/JSON spans: the costliest
            cid = f"ov-{w}-{n}"
            n += 1
            status, retry_after = gen.send_once(kind, cid)
            if status not in (200, None):
                refusals.append((status, retry_after))

    try:
        threads = [threading.Thread(target=watch)]
        threads += [threading.Thread(target=load, args=(w,)) for w in range(CLIENTS)]
        for t in threads:
            t.start()
        time.sleep(SECONDS)
        stop.set()
        for t in threads:
            t.join(60)
        alive = server.proc.poll() is None
        tally.add("server alive after", int(alive))
        tally.add("peak RSS MiB", peak // MIB)
        tally.add("RSS cap MiB", RSS_CAP // MIB)
        tally.add("address space cap MiB", cap // MIB)
        for status, retry_after in refusals:
            tally.add(f"refused {status}" + (" with Retry-After" if retry_after else ""))
        assert alive, server.log()
        assert server.request("GET", "/readyz", token=None)[0] == 200
        wait_drained(server, timeout=120)
        server.stop()
        check_store(gen, raw_store(server.data_dir))
    finally:
        stop.set()
        tally.report()
        server.cleanup()
    assert refusals, "the load never exceeded what the server takes: no overload happened"
    assert {status for status, _ in refusals} <= {429, 503}, refusals[:5]
    assert all(retry_after for _, retry_after in refusals)
    assert peak < RSS_CAP
    assert tally["events acknowledged-lost"] == 0
    assert tally["spans acknowledged-lost"] == 0
    assert tally["events stored twice (raw)"] == 0
