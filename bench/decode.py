"""Decode benchmark: CPU time per span and per event of the collector's decode path.

    .venv/bin/python bench/decode.py [--spans 100000] [--events 50000] [--repeat 3]

Decoding is what bounds ingest throughput, and timing it alone gives a steadier figure than
bench/ingest.py can. Builds the same request bodies bench/ingest.py sends (1,000 OTLP
protobuf spans or 500 JSON events per request) and runs them through
collector.decode.Decoder in this process, as a decode worker does (the garbage collector
set as collector.workers leaves it), timed with process CPU time. Prints µs
per item and items per CPU-second, the best of --repeat passes (another process on the
machine can only make a pass slower). Prints figures; asserts nothing.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from bench.ingest import event_requests, span_requests  # noqa: E402
from collector.decode import Decoder  # noqa: E402
from rxsight.config import IngestConfig  # noqa: E402
from rxsight.malloc import collect_less_often  # noqa: E402


def cpu_seconds(decoder: Decoder, signal: str, bodies: list[bytes], ctype: str) -> float:
    started = time.process_time()
    for body in bodies:
        decoder.decode(signal, body, ctype)
    return time.process_time() - started


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--spans", type=int, default=100_000)
    ap.add_argument("--events", type=int, default=50_000)
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()

    cases = (
        ("spans", span_requests(args.spans, 1000), "application/x-protobuf", 1000),
        ("events", event_requests(args.events, 500), "application/json", 500),
    )
    collect_less_often()  # as a decode worker does (collector.workers): these are its figures
    print(f"decode benchmark ({os.cpu_count()} cores, best of {args.repeat} passes)")
    for signal, bodies, ctype, per_request in cases:
        # A fresh decoder per pass: its PHI verdict caches start cold, as in a new worker.
        best = min(
            cpu_seconds(Decoder(IngestConfig()), signal, bodies, ctype) for _ in range(args.repeat)
        )
        n = len(bodies) * per_request
        print(f"  {signal:<7} {best / n * 1e6:6.2f} µs per item  {n / best:9,.0f} per CPU-second")


if __name__ == "__main__":
    main()
