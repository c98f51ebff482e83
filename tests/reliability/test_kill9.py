"""kill -9 during mixed ingest (events, OTLP/JSON, OTLP/protobuf, gRPC), trial after trial on
one data directory: every acknowledged item is there after the restarts, stored once."""

from __future__ import annotations

import http.client
import random
import threading
from pathlib import Path

from tests.reliability.harness import (
    Generator,
    Tally,
    by_profile,
    event_batch,
    settle_and_check,
    wait_drained,
)
from tests.support import Server

TOKEN = "kill9-admin-token-0123456789"
TRIALS = by_profile(short=1, long=20)


def test_kill9_during_mixed_ingest_loses_and_duplicates_nothing():
    tally = Tally(f"kill -9 during mixed ingest, {TRIALS} trials")
    server = Server(admin_token=TOKEN).start()
    gen = Generator(server, tally)
    rng = random.Random(17)
    try:
        for trial in range(TRIALS):
            stop = threading.Event()
            before = sum(gen.acknowledged())
            threads = gen.run(workers=4, stop=stop, prefix=f"k9-{trial}")
            # Kill once a real amount is acknowledged, at a varying point, requests in flight.
            target = before + rng.randint(1500, 4000)
            server.wait_for(lambda t=target: sum(gen.acknowledged()) >= t, timeout=180)
            server.kill9()
            stop.set()
            for t in threads:
                t.join(30)
            tally.add("trials")
            server.start()  # same data dir: the spool replays
        wait_drained(server)
        # Clients retrying after the crash: the same events again change nothing.
        resend = sorted(gen.acked_events)[:20]
        for cid in resend:
            status, _ = server.request("POST", "/v1/events", event_batch(cid, gen.events_per_batch))
            assert status == 200
            tally.add("events batches resent")
        settle_and_check(server, gen, sample=200)
    finally:
        tally.report()
        server.cleanup()
    assert tally["trials"] == TRIALS
    assert tally["events acknowledged"] > 0 and tally["spans acknowledged"] > 0
    assert tally["events acknowledged-lost"] == 0
    assert tally["spans acknowledged-lost"] == 0
    assert tally["events stored twice (raw)"] == 0
    assert tally["spans stored twice (raw)"] == 0
    assert tally["visible duplicates"] == 0


def test_decode_workers_do_not_outlive_a_killed_server():
    server = Server({"ingest": {"decode_workers": 2}}, admin_token=TOKEN).start()
    try:
        pid = server.proc.pid
        stop = threading.Event()

        def load(n: int) -> None:
            while not stop.is_set():
                try:
                    server.request(
                        "POST", "/v1/events", event_batch(f"orphan-{n}", 200), timeout=30
                    )
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
