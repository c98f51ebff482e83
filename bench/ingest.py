"""Ingest benchmark: OTLP protobuf spans/s and JSON events/s end to end, against the ceiling.

    python bench/ingest.py [--spans 400000] [--events 400000] [--rounds 3] [--clients 4]

Starts `rxsight serve` on a loopback port with a fresh data directory, sends pre-built
requests from client threads, and counts an item as done when it is readable (the writer's
rows-written counter, read from /metrics). Each of --rounds rounds runs a spans phase and an
events phase against its own fresh server, in alternating order; this VM's speed drifts by a
third or more within minutes, so the ratio is taken between the two phases of a round, and
medians over the rounds are printed. Also prints the server's CPU time per item: the machine
is CPU-bound during the run, so that figure sets the rate. After each round, in this process,
one thread decodes the same span requests and inserts them into chDB (the issue's reference
for its target, taken at the round's machine speed); at the end it inserts the same rows,
decoded beforehand, straight into chDB as Arrow (the ceiling). Prints the ratios, RSS idle
and peak (chDB's library read from disk first: see uncache), and bytes per span and per event
on disk. Prints figures; asserts nothing.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import re
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))


from bench.ceiling import ceiling, one_thread  # noqa: E402
from bench.machine import report  # noqa: E402
from bench.payloads import event_requests, span_requests  # noqa: E402
from bench.process import PeakRss, tree_cpu_s, tree_memory_kib, wait_idle  # noqa: E402
from rxsight.app import migrate_store  # noqa: E402
from rxsight.store import Store  # noqa: E402
from testkit.server import Server  # noqa: E402


def rows_written(server: Server) -> dict[str, float]:
    _, text = server.request("GET", "/metrics", token=None)
    return {
        m[0]: float(m[1])
        for m in re.findall(r'rxsight_store_rows_written_total\{table="(\w+)"\} ([0-9.e+]+)', text)
    }


def decode_workers(server: Server) -> float:
    _, text = server.request("GET", "/metrics", token=None)
    found = re.search(r"^rxsight_decode_workers ([0-9.e+]+)$", text, re.MULTILINE)
    return float(found.group(1)) if found else 0.0


def chdb_library() -> Path:
    import importlib.util

    spec = importlib.util.find_spec("chdb")  # finds it without loading the library
    assert spec is not None and spec.origin is not None, "chdb is not installed"
    return next(Path(spec.origin).parent.glob("_chdb*.so"))


def uncache(path: Path) -> None:
    """Drops the pages of `path` that no process maps from the page cache (no privilege
    needed), so a server started next reads the file from disk, as one started after a boot
    or from a container image does.

    Right after pip has written chDB's 530 MiB library, all of it is cached, and a process
    that loads it has more of it mapped: an idle server's RSS was 535 MiB that way, 293 MiB
    of it the library, against 443 MiB (197 MiB) once the library had been read back from
    disk, with the same anonymous memory. Without this step the RSS figures would say how
    recently rxsight was installed."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
    finally:
        os.close(fd)


def send_all(server: Server, path: str, bodies: list[bytes], ctype: str, clients: int) -> int:
    queue = list(reversed(bodies))
    lock = threading.Lock()
    errors = [0]

    def client() -> None:
        conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=120)
        while True:
            with lock:
                if not queue:
                    break
                body = queue.pop()
            conn.request("POST", path, body, {"Content-Type": ctype})
            resp = conn.getresponse()
            resp.read()
            if resp.status != 200:
                with lock:
                    errors[0] += 1
        conn.close()

    threads = [threading.Thread(target=client) for _ in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return errors[0]


def end_to_end(
    server: Server,
    table: str,
    path: str,
    bodies: list[bytes],
    ctype: str,
    expected: int,
    clients: int,
) -> tuple[float, float]:
    before = rows_written(server).get(table, 0)
    started = time.perf_counter()
    errors = send_all(server, path, bodies, ctype, clients)
    sent = time.perf_counter() - started
    while rows_written(server).get(table, 0) - before < expected:
        if time.perf_counter() - started > 600:
            raise SystemExit(f"{table}: only {rows_written(server).get(table, 0) - before} rows")
        time.sleep(0.02)
    if errors:
        print(f"  {errors} requests failed")
    return sent, time.perf_counter() - started


def on_disk(data_dir: Path) -> dict[str, tuple[int, int]]:
    import subprocess

    script = (
        "import json,sys; from rxsight.store import Store; s=Store(sys.argv[1]);"
        "[s.command(f'OPTIMIZE TABLE {t} FINAL') for t in ('otel_traces','business_events')];"
        'r=s.query_rows("SELECT table, sum(bytes_on_disk), sum(rows) FROM system.parts '
        "WHERE active AND database='rxsight' AND table IN ('otel_traces','business_events') "
        'GROUP BY table"); print(json.dumps({t:[b,n] for t,b,n in r})); s.close()'
    )
    out = subprocess.run(
        [sys.executable, "-c", script, f"chdb://{data_dir}/clickhouse"],
        capture_output=True,
        text=True,
        cwd=REPO,
        check=True,
    )
    return {k: tuple(v) for k, v in json.loads(out.stdout.strip().splitlines()[-1]).items()}


def one_round(
    spans: tuple[list[bytes], int],
    events: tuple[list[bytes], int],
    clients: int,
    order: tuple[str, ...],
    config: dict[str, Any] | None,
) -> dict[str, Any]:
    """Both phases against a fresh server, in the given order: rates, CPU per item, RSS idle and
    peak, bytes on disk."""
    phases = {
        "spans": ("otel_traces", "/v1/traces", *spans, "application/x-protobuf"),
        "events": ("business_events", "/v1/events", *events, "application/json"),
    }
    figures: dict[str, Any] = {}
    uncache(chdb_library())
    server = Server(config).start()
    try:
        pid = server.proc.pid
        time.sleep(2)
        idle = tree_memory_kib(pid)
        figures["idle_kib"], figures["idle_anon_kib"] = idle["rss"], idle["anon"]
        sampler = PeakRss(pid)
        sampler.start()
        # Both paths are warmed alike (imports, caches, the first parts of every table), so
        # neither phase pays for being the first of its kind. The warm-up events are other
        # transactions than the measured ones.
        warm = span_requests(20_000, 1000, seed=9)
        end_to_end(
            server, "otel_traces", "/v1/traces", warm, "application/x-protobuf", 20_000, clients
        )
        warm = event_requests(20_000, 1000, seed=9, first=90_000_000)
        end_to_end(
            server, "business_events", "/v1/events", warm, "application/json", 20_000, clients
        )
        # Overlapping requests start the decode workers in the background; a server under
        # sustained load has them running, so timing starts once they are.
        deadline = time.monotonic() + 60
        while decode_workers(server) == 0 and time.monotonic() < deadline:
            time.sleep(0.1)
        for kind in order:
            table, path, bodies, n, ctype = phases[kind]
            # Each phase starts on an idle server: the merges of what was written before are
            # not charged to it.
            wait_idle(pid)
            cpu = tree_cpu_s(pid)
            sent, total = end_to_end(server, table, path, bodies, ctype, n, clients)
            figures[kind] = n / total
            figures[f"{kind}_writer_s"] = total - sent
            figures[f"{kind}_cpu_us"] = (tree_cpu_s(pid) - cpu) / n * 1e6
        sampler.stop.set()
        figures["peak_kib"], figures["peak_pss_kib"] = sampler.peak, sampler.peak_pss
        figures["peak_anon_kib"] = sampler.peak_anon
        server.stop()
        disk = on_disk(server.data_dir)
        figures["span_disk"], figures["event_disk"] = disk["otel_traces"], disk["business_events"]
    finally:
        server.cleanup()
    return figures


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--spans", type=int, default=400_000)
    ap.add_argument("--events", type=int, default=400_000)
    ap.add_argument("--spans-per-request", type=int, default=1000)
    # As many items, as many per request, on both paths: the ratio then compares decoding and
    # storing an item, not how many requests carry them or how much of a shorter run the last
    # batch's flush interval takes.
    ap.add_argument("--events-per-request", type=int, default=1000)
    ap.add_argument("--clients", type=int, default=4)
    ap.add_argument("--rounds", type=int, default=3, help="fresh servers, phase order alternating")
    ap.add_argument(
        "--with-rules",
        action="store_true",
        help="keep the rules scheduler and alert dispatcher running (default: ingest alone)",
    )
    args = ap.parse_args()
    # Ingest alone by default: the scheduler evaluates what the events phase brings (a
    # cost of rules, measured by bench/rules.py), and its 15 s ticks fall into whichever
    # phase they happen to meet.
    config = (
        None if args.with_rules else {"rules": {"enabled": False}, "alerts": {"enabled": False}}
    )

    print(f"building {args.spans} spans and {args.events} events ...", flush=True)
    span_bodies = span_requests(args.spans, args.spans_per_request)
    event_bodies = event_requests(args.events, args.events_per_request)
    n_spans = len(span_bodies) * args.spans_per_request
    n_events = len(event_bodies) * args.events_per_request

    report("before")
    rounds: list[dict[str, float]] = []
    # The in-process references run in this process's own chDB, in a directory of its own.
    # From round 2 on, the pages of chDB's library this process maps stay cached (uncache
    # cannot drop them), so those rounds' servers find more of it cached than round 1's: the
    # idle figure is round 1's, and the peak, if anything, is higher for it.
    references = tempfile.TemporaryDirectory(prefix="rxsight-bench-")
    for r in range(args.rounds):
        # Spans first in odd rounds, events first in even ones: the second phase finds the
        # first one's rows in the store, and neither path should always carry that.
        order = ("spans", "events") if r % 2 == 0 else ("events", "spans")
        figures = one_round(
            (span_bodies, n_spans), (event_bodies, n_events), args.clients, order, config
        )
        # Right after the round, so the machine's speed is the same for both figures.
        figures["one_thread"] = one_thread(
            Store(f"chdb://{references.name}", f"reference_{r}"), span_bodies
        )
        print(
            f"  round {r + 1} ({' then '.join(order)}): {figures['spans']:,.0f} spans/s, "
            f"{figures['events']:,.0f} events/s, ratio {figures['events'] / figures['spans']:.2f}; "
            f"CPU {figures['spans_cpu_us']:.1f} µs/span, {figures['events_cpu_us']:.1f} µs/event; "
            f"one thread {figures['one_thread']:,.0f} spans/s",
            flush=True,
        )
        rounds.append(figures)
    idle, peak = rounds[0]["idle_kib"], max(f["peak_kib"] for f in rounds)
    peak_pss = max(f["peak_pss_kib"] for f in rounds)
    idle_anon, peak_anon = rounds[0]["idle_anon_kib"], max(f["peak_anon_kib"] for f in rounds)
    disk = {"otel_traces": rounds[0]["span_disk"], "business_events": rounds[0]["event_disk"]}

    def median(key: str) -> float:
        return statistics.median(f[key] for f in rounds)

    span_rate, event_rate = median("spans"), median("events")
    ratios = sorted(f["events"] / f["spans"] for f in rounds)
    to_one_thread = sorted(f["spans"] / f["one_thread"] for f in rounds)
    ceiling_store = Store(f"chdb://{references.name}", "ceiling")
    migrate_store(ceiling_store)
    ceil_spans, ceil_events = ceiling(ceiling_store, span_bodies, event_bodies)
    ceiling_store.close()
    span_bytes = disk["otel_traces"][0] / max(1, disk["otel_traces"][1])
    event_bytes = disk["business_events"][0] / max(1, disk["business_events"][1])
    rows = [
        (
            "OTLP protobuf spans end to end",
            f"{span_rate:,.0f} spans/s (median of {len(rounds)} rounds of {n_spans:,})",
        ),
        (
            "JSON events end to end",
            f"{event_rate:,.0f} events/s (median of {len(rounds)} rounds of {n_events:,})",
        ),
        (
            "writing after the last request",
            f"{median('spans_writer_s'):.2f} s spans, {median('events_writer_s'):.2f} s events "
            "(medians: until the writer has stored what was accepted)",
        ),
        (
            "events / spans rate",
            f"{statistics.median(ratios):.2f} (median; by round, sorted: "
            f"{', '.join(f'{x:.2f}' for x in ratios)})",
        ),
        (
            "server CPU per item",
            f"{median('spans_cpu_us'):.1f} µs/span, {median('events_cpu_us'):.1f} µs/event "
            "(medians; with workers and chDB's threads)",
        ),
        (
            "one thread, decode + insert",
            f"{median('one_thread'):,.0f} spans/s (median; in this process after each round: "
            "the issue's reference: about 88,000 where it asks 80,000)",
        ),
        (
            "end to end / one thread",
            f"{statistics.median(to_one_thread):.2f} (median; by round, sorted: "
            f"{', '.join(f'{x:.2f}' for x in to_one_thread)}; 80,000 / 88,000 is 0.91)",
        ),
        ("chDB Arrow insert ceiling", f"{ceil_spans:,.0f} spans/s, {ceil_events:,.0f} events/s"),
        (
            "end to end / ceiling",
            f"{span_rate / ceil_spans:.2f} spans, {event_rate / ceil_events:.2f} events",
        ),
        ("RSS idle / peak (with workers)", f"{idle / 1024:.0f} MiB / {peak / 1024:.0f} MiB"),
        # The rest of RSS is mapped files, chDB's 530 MiB library most of all (see uncache).
        (
            "anonymous memory idle / peak",
            f"{idle_anon / 1024:.0f} MiB / {peak_anon / 1024:.0f} MiB (RSS without mapped files)",
        ),
        ("PSS peak (shared pages once)", f"{peak_pss / 1024:.0f} MiB"),
        ("on disk", f"{span_bytes:.1f} bytes/span, {event_bytes:.1f} bytes/event"),
    ]
    scope = "whole server" if args.with_rules else "ingest alone: rules scheduler and alerts off"
    print(f"\ningest benchmark ({os.cpu_count()} cores, {args.clients} client threads, {scope})")
    for label, value in rows:
        print(f"  {label:<32} {value}")
    report("after")


if __name__ == "__main__":
    main()
