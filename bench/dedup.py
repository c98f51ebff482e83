"""Duplicate-check benchmark: what the writer's event_id check costs as business_events grows.

    .venv/bin/python bench/dedup.py [--sizes 1000000,4000000,8000000] [--group 50000]

Before it inserts a group of events, the collector's writer asks the store which event IDs
are already stored for the group's correlation IDs (collector.writer, the primary-key
lookup of collector/sql/stored_event_ids.sql). This fills business_events in a temporary
chDB directory to each of --sizes rows, three events per correlation ID, and times that
check (BatchWriter._only_new_events, the writer's own code) for one group of --group new
events. Two kinds of correlation ID: sequential ones (as bench/ingest.py sends, and as IDs
derived from a counter or a time-ordered UUID look), whose new IDs sort after every stored
one; and random UUIDs, whose new IDs fall between stored ones all over the key. Prints
milliseconds per group and µs per event, the best of 3. Prints figures; asserts nothing.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
import uuid
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

import pyarrow as pa  # noqa: E402
from prometheus_client import CollectorRegistry  # noqa: E402

from bench.machine import report  # noqa: E402
from collector.spool import Spool  # noqa: E402
from collector.telemetry import IngestMetrics  # noqa: E402
from collector.writer import BatchWriter  # noqa: E402
from rxsight.app import migrate_store  # noqa: E402
from rxsight.config import SpoolConfig  # noqa: E402
from rxsight.store import Store  # noqa: E402

# Stored rows: no materialized view on business_events takes a po.acknowledged event without
# a PO number, so filling the table costs only the table itself.
_FILL = """
INSERT INTO business_events (event_id, event_type, occurred_at, received_at, correlation_id,
    source_system)
SELECT concat('stored-', toString(number + {first:UInt64})), 'po.acknowledged', now64(3),
    now64(3), {correlation_id}, 'erp'
FROM numbers({rows:UInt64})
"""
_SEQUENTIAL = "concat('corr-', leftPad(toString(intDiv(number + {first:UInt64}, 3)), 10, '0'))"
_RANDOM = "toString(reinterpretAsUUID(sipHash128(intDiv(number + {first:UInt64}, 3))))"


def new_group(kind: str, size: int, first_id: int) -> pa.Table:
    """`size` new events, three per correlation ID: the columns the check reads."""
    if kind == "sequential":
        transactions = [f"corr-{first_id + t:010d}" for t in range(size // 3 + 1)]
    else:
        transactions = [str(uuid.uuid4()) for _ in range(size // 3 + 1)]
    ids = [transactions[i // 3] for i in range(size)]
    return pa.table(
        {
            "event_id": [f"new-{uuid.uuid4()}" for _ in range(size)],
            "correlation_id": ids,
        }
    )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", default="1000000,4000000,8000000")
    ap.add_argument("--group", type=int, default=50_000)
    args = ap.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]

    print(f"duplicate check of one group of {args.group:,} new events (best of 3)")
    report("before")
    for kind, correlation_id in (("sequential", _SEQUENTIAL), ("random", _RANDOM)):
        with tempfile.TemporaryDirectory(prefix="rxsight-bench-dedup-") as tmp:
            store = Store(f"chdb://{tmp}/data", database="bench_dedup")
            migrate_store(store)
            spool = Spool(Path(tmp) / "spool", max_bytes=1 << 20)
            writer = BatchWriter(spool, store, SpoolConfig(), IngestMetrics(CollectorRegistry()))
            fill = _FILL.replace("{correlation_id}", correlation_id)
            stored = 0
            for size in sizes:
                while stored < size:
                    rows = min(1_000_000, size - stored)
                    store.command(fill, {"first": stored, "rows": rows})
                    stored += rows
                group = new_group(kind, args.group, stored // 3 + 1)
                best = float("inf")
                for _ in range(3):
                    started = time.perf_counter()
                    kept = writer._only_new_events(group)
                    best = min(best, time.perf_counter() - started)
                print(
                    f"  {kind:<10} correlation IDs, {stored:>11,} events stored: "
                    f"{best * 1e3:7.1f} ms per group, {best / args.group * 1e6:6.2f} µs per event"
                    f" ({kept.num_rows:,} of {group.num_rows:,} kept as new)"
                )
            store.close()
    report("after")


if __name__ == "__main__":
    main()
