"""Batch writer: sealed spool segments to ClickHouse, spans per segment, events per group."""

from __future__ import annotations

import hashlib
import json
import logging
import threading
import time
from collections import defaultdict
from collections.abc import Iterator

import pyarrow as pa
import pyarrow.compute as pc

from collector.spool import Segment, Spool
from collector.telemetry import IngestMetrics
from rxsight.backoff import Backoff
from rxsight.config import SpoolConfig
from rxsight.malloc import is_out_of_memory
from rxsight.store import SqlFiles, Store, StoreUnavailable
from rxsight.store.arrow import ipc_bytes, streams_table
from rxsight.stored import StoredBatch, StoredListener

log = logging.getLogger(__name__)
SQL = SqlFiles(__file__)
_POISON_ATTEMPTS = 5
# Sealed segments that have waited while the writer was busy are written together, up to this
# many spool bytes (about 50,000 events): under sustained load inserts grow, and with them
# what each insert costs is shared; beyond that the gain is small and the memory is not.
_GROUP_BYTES = 16 << 20


class BatchWriter:
    """Owns the only thread that writes spans and events to the store.

    A segment is removed from the spool only after every one of its tables is inserted; a
    crash in between replays the whole segment. Spans carry a content-derived dedup token
    (the same segment gives the same token); events are filtered by event_id against what
    is stored, which also drops an integration's own resends."""

    def __init__(
        self,
        spool: Spool,
        store: Store,
        config: SpoolConfig,
        metrics: IngestMetrics,
        on_stored: StoredListener | None = None,
    ) -> None:
        self.spool = spool
        self.on_stored = on_stored
        self.store = store
        self.config = config
        self.metrics = metrics
        self._stop = threading.Event()
        self._wake = threading.Event()
        self._thread: threading.Thread | None = None
        self._failures: dict[str, int] = defaultdict(int)
        self.healthy = True
        self.last_error: str | None = None
        self.lookup_bytes = store.bound_parameter_bytes

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="rxsight-writer", daemon=True)
        self._thread.start()

    def stop(self, drain_timeout_s: float = 10.0) -> None:
        self.spool.seal()
        deadline = time.monotonic() + drain_timeout_s
        while self.spool.sealed() and time.monotonic() < deadline and self.healthy:
            self._wake.set()
            time.sleep(0.05)
        self._stop.set()
        self._wake.set()
        if self._thread:
            self._thread.join(timeout=5)

    def _run(self) -> None:
        # After store failures: 0.2-0.4 s, doubling, up to 10-20 s.
        backoff = Backoff(initial=0.4, maximum=20.0)
        failures = 0
        alone = False  # after a failure, segments go one at a time until one is written
        while not self._stop.is_set():
            self.spool.seal_if_due(self.config.flush_interval_s)
            waiting = self.spool.sealed()
            if not waiting:
                self._wake.wait(0.05)
                self._wake.clear()
                continue
            group = waiting[:1] if alone else _group(waiting)
            try:
                rows = self.write_segments(group)
            except StoreUnavailable as exc:
                self._unhealthy(str(exc))
                failures += 1
                time.sleep(backoff.delay(failures))
                continue
            except Exception as exc:  # noqa: BLE001 - one bad segment must not stop ingest
                if is_out_of_memory(exc):
                    # Not the segment's fault: it is written once memory is free again.
                    log.warning("writing spool segments waits for memory: %s", exc)
                    self._unhealthy(f"out of memory: {exc}")
                    failures += 1
                    time.sleep(backoff.delay(failures))
                    continue
                if len(group) > 1:
                    # Which of them is bad is found by writing them one at a time.
                    log.warning("writing %d spool segments together failed: %s", len(group), exc)
                    self.metrics.write_errors.inc()
                    alone = True
                    continue
                [segment] = group
                self._failures[segment.name] += 1
                log.exception("writing spool segment %s failed", segment.name)
                self._unhealthy(f"segment {segment.name}: {exc}")
                if self._failures[segment.name] >= _POISON_ATTEMPTS:
                    where = self.spool.quarantine(segment)
                    self.metrics.quarantined.inc()
                    log.error("spool segment quarantined at %s", where)
                    # The fault was that segment's: writing the others says whether the
                    # store is healthy (with none left, nothing says it is not).
                    self.healthy = True
                time.sleep(backoff.delay(1))
                continue
            # Arrow's allocator keeps what a batch freed for the next one; under sustained load
            # that held a hundred MiB more than the next batch needs.
            pa.default_memory_pool().release_unused()
            for segment in group:
                self.spool.remove(segment)
                self._failures.pop(segment.name, None)
            self.healthy, self.last_error, failures, alone = True, None, 0, False
            if rows and self.on_stored is not None:
                # After the segments left the spool: a listener reading the store at once
                # sees every row of them.
                self.on_stored(StoredBatch(rows))

    def _unhealthy(self, message: str) -> None:
        self.healthy = False
        self.last_error = message
        self.metrics.write_errors.inc()

    def write_segment(self, segment: Segment) -> dict[str, int]:
        return self.write_segments([segment])

    def write_segments(self, segments: list[Segment]) -> dict[str, int]:
        """Every table of these segments into the store; they may be removed once it returns.
        Returns the rows inserted per table (duplicates left out).

        Spans go in one insert per segment under the segment's content-derived dedup token,
        so a replay after a crash repeats exactly those inserts. Events of all the segments
        go in one insert: they are filtered by event_id against what is stored, so grouping
        them differently on a replay cannot add a row, and a bigger insert costs less per
        event (every materialized view on business_events plans once per insert)."""
        events: list[memoryview] = []
        inserted: dict[str, int] = defaultdict(int)
        for segment in segments:
            streams: dict[str, list[memoryview]] = defaultdict(list)
            digests: dict[str, hashlib._Hash] = defaultdict(hashlib.sha256)
            for table, payload in self.spool.records(segment):
                if table == "business_events":
                    events.append(payload)
                else:
                    streams[table].append(payload)
                    digests[table].update(payload)
            for table, payloads in streams.items():
                token = f"{segment.name}:{digests[table].hexdigest()}"
                inserted[table] += self._insert(table, payloads, token)
        if events:
            inserted["business_events"] += self._insert(
                "business_events", self._only_new_events(events), None
            )
        return {table: n for table, n in inserted.items() if n}

    def _insert(
        self, table: str, streams: list[memoryview] | list[bytes], dedup_token: str | None
    ) -> int:
        if not streams:
            return 0
        started = time.perf_counter()
        rows = self.store.insert_arrow_streams(table, streams, dedup_token=dedup_token)
        if rows:
            self.metrics.insert_seconds.labels(table).observe(time.perf_counter() - started)
            self.metrics.rows_written.labels(table).inc(rows)
        return rows or 0

    def _only_new_events(self, streams: list[memoryview]) -> list[memoryview] | list[bytes]:
        """The streams of events not stored yet, each once: the streams themselves when all of
        them are new (the usual case), else one stream of the new ones."""
        data = streams_table(streams)
        # The table is ordered by (correlation_id, event_id), so naming the group's correlation
        # IDs reads only the granules (8,192 rows) that could hold them. IDs that sort after
        # everything stored (counters, time-ordered UUIDs) read next to nothing; random UUIDs
        # touch a granule each, most of a table of a few million events (bench/dedup.py).
        # The IDs go as one JSON list, or as several where a server limits how long a bound
        # parameter may be; each list reads its granules again. (All of them in one
        # Array(String) literal once stalled for 75-100 s, one events run in three, on chDB
        # 4.4; the JSON form has not.)
        correlation_ids = pc.unique(data.column("correlation_id")).sort().to_pylist()
        stored = {
            row[0]
            for ids in json_lists(correlation_ids, self.lookup_bytes)
            for row in self.store.query_rows(SQL["stored_event_ids"], {"correlation_ids": ids})
        }
        if not stored and pc.count_distinct(data.column("event_id")).as_py() == data.num_rows:
            return streams  # new events, each once: the usual case, decided in C
        seen: set[str] = set()
        keep = []
        for i, event_id in enumerate(data.column("event_id").to_pylist()):
            if event_id in stored or event_id in seen:
                continue
            seen.add(event_id)
            keep.append(i)
        duplicates = data.num_rows - len(keep)
        if duplicates:
            self.metrics.items.labels("events", "duplicate").inc(duplicates)
        if len(keep) == data.num_rows:
            return streams
        return [ipc_bytes(data.take(pa.array(keep, pa.int64())))] if keep else []


def json_lists(items: list[str], max_bytes: int | None) -> Iterator[str]:
    """`items` as consecutive JSON arrays of at most max_bytes of UTF-8 each (an item that
    alone is longer goes alone); all of them in one when max_bytes is None."""
    if max_bytes is None:
        yield from _json_list(items, max_bytes)
        return
    brackets = 2
    start, size = 0, brackets
    for end, item in enumerate(items):
        size += len(item) + 3  # its quotes and comma; escapes and UTF-8 are checked below
        if size > max_bytes and end > start:
            yield from _json_list(items[start:end], max_bytes)
            start, size = end, brackets + len(item) + 3
    if start < len(items):
        yield from _json_list(items[start:], max_bytes)


def _json_list(items: list[str], max_bytes: int | None) -> Iterator[str]:
    text = json.dumps(items, ensure_ascii=False, separators=(",", ":"))
    if max_bytes is not None and len(items) > 1 and len(text.encode()) > max_bytes:
        half = len(items) // 2
        yield from _json_list(items[:half], max_bytes)
        yield from _json_list(items[half:], max_bytes)
    else:
        yield text


def _group(waiting: list[Segment]) -> list[Segment]:
    """The oldest waiting segments, as many as fit in _GROUP_BYTES (always at least one)."""
    group, size = [waiting[0]], waiting[0].size
    for segment in waiting[1:]:
        size += segment.size
        if size > _GROUP_BYTES:
            break
        group.append(segment)
    return group
