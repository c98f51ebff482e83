"""The collector pipeline: decode and validate (worker processes), spool durably, write."""

from __future__ import annotations

import logging
import os
import threading
import time
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from prometheus_client import CollectorRegistry
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily

from collector.decode import SIGNAL_TABLES, Decoded, Decoder
from collector.inflight import InFlight
from collector.ratelimit import RateLimiter, Throttled
from collector.replays import RecentRequests
from collector.resends import ResentEvents, Verdicts
from collector.spool import Spool, SpoolFull
from collector.telemetry import CallbackCollector, IngestMetrics
from collector.workers import DecodePool, WorkerUnavailable
from collector.writer import BatchWriter
from rxsight.auth import Principal
from rxsight.config import Settings
from rxsight.store import Store
from rxsight.stored import StoredListener

__all__ = ["Collector", "IngestResult", "SpoolFull"]
log = logging.getLogger(__name__)


@dataclass
class IngestResult:
    accepted: int = 0
    rejected: list[dict[str, Any]] = field(default_factory=list)  # [{"index", "error"}]
    rejected_count: int = 0
    message: str = ""
    duplicates: int = 0  # events sent before with the same content


class Collector:
    """Decoding OTLP and validating events is pure Python and CPU-bound. Requests arriving
    one at a time are decoded here; once decodes overlap, a pool of worker processes
    (`ingest.decode_workers`) starts in the background and takes over, and it is retired
    after `ingest.decode_idle_s` without work, so an idle rxsight carries no workers. This
    process keeps the HTTP/gRPC front, the spool and the writer, whose inserts chDB runs on
    its own threads."""

    def __init__(
        self,
        settings: Settings,
        store: Store,
        registry: CollectorRegistry,
        on_stored: StoredListener | None = None,
    ) -> None:
        cfg = settings.config.ingest
        self.config = cfg
        self.spool = Spool(
            settings.spool_dir,
            max_bytes=cfg.spool.max_bytes,
            segment_rows=cfg.spool.batch_rows,
            fsync=cfg.spool.fsync,
        )
        self.metrics = IngestMetrics(registry)
        self.inflight = InFlight(cfg.max_inflight_bytes)
        self.writer = BatchWriter(self.spool, store, cfg.spool, self.metrics, on_stored)
        self.phi_counts: Counter[str] = Counter()
        self.recent_spans: RecentRequests[IngestResult] = RecentRequests()
        self.rate_limiter = RateLimiter(
            cfg.rate_limit, {t.name: t.rate_limit for t in cfg.tokens if t.rate_limit}
        )
        self.retention = settings.config.retention
        self._decoder = Decoder(cfg, self.retention)
        self.resends = ResentEvents(store)
        self._workers = cfg.decode_workers if cfg.decode_workers >= 0 else (os.cpu_count() or 1)
        self._pool: DecodePool | None = None
        self._pool_starting = False
        self._pool_used = 0.0
        self._inline = 0
        self._lock = threading.Lock()
        self._stopped = threading.Event()
        registry.register(CallbackCollector(self._gauges))

    def start(self) -> None:
        self.writer.start()
        if self._workers:
            threading.Thread(
                target=self._retire_idle_pool, name="rxsight-decode-reaper", daemon=True
            ).start()

    def stop(self) -> None:
        self._stopped.set()
        with self._lock:
            pool, self._pool = self._pool, None
        if pool is not None:
            pool.close(timeout_s=2)
        self.writer.stop()

    @property
    def decode_workers_running(self) -> int:
        return self._workers if self._pool is not None else 0

    def _start_pool(self) -> None:
        try:
            pool: DecodePool | None = DecodePool(
                self._workers, self.config, retention=self.retention
            )
        except Exception:  # noqa: BLE001 - decoding inline still works
            log.exception("decode workers failed to start; decoding in-process")
            pool = None
        with self._lock:
            self._pool_starting = False
            if pool is not None and not self._stopped.is_set():
                self._pool, self._pool_used = pool, time.monotonic()
                pool = None
        if pool is not None:
            pool.close()

    def _retire_idle_pool(self) -> None:
        while not self._stopped.wait(1.0):
            with self._lock:
                pool = self._pool
                if pool is None or time.monotonic() - self._pool_used < self.config.decode_idle_s:
                    continue
                self._pool = None
            pool.close()

    def _decode(
        self, signal: str, body: bytes, content_type: str, principal: Principal | None
    ) -> Decoded:
        sources = principal.source_systems if principal else ()
        name = principal.name if principal else ""
        pool = self._pool
        if pool is not None:
            self._pool_used = time.monotonic()
            try:
                return pool.decode(signal, body, content_type, sources, name)
            except WorkerUnavailable as exc:
                # A worker died, or the pool was retired under us: decode this one here.
                if exc.died:
                    log.error("%s; the workers restart when load returns", exc)
                with self._lock:
                    if self._pool is pool:
                        self._pool = None
                threading.Thread(target=pool.close, name="rxsight-decode-stop").start()
                if exc.out_of_memory:
                    raise MemoryError(str(exc)) from None
        with self._lock:
            self._inline += 1
            overlap = self._inline > 1
            if overlap and self._workers and self._pool is None and not self._pool_starting:
                self._pool_starting = True
                threading.Thread(
                    target=self._start_pool, name="rxsight-decode-pool", daemon=True
                ).start()
        try:
            return self._decoder.decode(signal, body, content_type, sources, name)
        finally:
            with self._lock:
                self._inline -= 1

    def _gauges(self) -> Iterable[GaugeMetricFamily | CounterMetricFamily]:
        depth = GaugeMetricFamily("rxsight_spool_bytes", "Bytes accepted but not yet written")
        depth.add_metric([], self.spool.depth_bytes)
        yield depth
        segments = GaugeMetricFamily("rxsight_spool_segments", "Sealed segments awaiting write")
        segments.add_metric([], len(self.spool.sealed()))
        yield segments
        workers = GaugeMetricFamily("rxsight_decode_workers", "Decode worker processes running")
        workers.add_metric([], self.decode_workers_running)
        yield workers
        healthy = GaugeMetricFamily("rxsight_store_writable", "1 when the last write succeeded")
        healthy.add_metric([], 1 if self.writer.healthy else 0)
        yield healthy
        phi = CounterMetricFamily(
            "rxsight_phi_redactions",
            "Attribute values redacted or keys dropped at ingest",
            labels=["kind"],
        )
        for kind, n in sorted(self.phi_counts.items()):
            phi.add_metric([kind], n)
        yield phi

    def admit(self, principal: Principal) -> None:
        """Take one request from an ingest token's rate limit; raises Throttled past it.
        Only integrations' tokens are limited: the admin token and loopback callers are
        the operator's own."""
        if principal.role != "ingest" or principal.via != "token":
            return
        try:
            self.rate_limiter.take(principal.name)
        except Throttled:
            self.metrics.throttled.labels(principal.name).inc()
            raise

    def ingest(
        self, signal: str, body: bytes, content_type: str, principal: Principal | None
    ) -> IngestResult:
        """Decode, validate and spool one request body; returns once it is durable.

        signal: "spans", "logs" or "events". Raises OtlpDecodeError / BodyError /
        UnsupportedMediaType when nothing in the body can be read, SpoolFull when full,
        LargerThanSpool when this one request could never fit."""
        replay = None
        if signal == "spans":
            replay = RecentRequests.key(principal.name if principal else "", content_type, body)
            answered = self.recent_spans.answer_for(replay)
            if answered is not None:
                # The same body again: its answer was lost on the way. Stored already.
                self.metrics.items.labels(signal, "duplicate").inc(answered.accepted)
                return answered
        decoded = self._decode(signal, body, content_type, principal)
        self.phi_counts.update(decoded.phi)
        verdicts, claimed = Verdicts(), []
        if decoded.events:
            verdicts, claimed = self.resends.claim(decoded.events, datetime.now(UTC))
        if decoded.payload is not None:
            # Duplicates and conflicts go to the spool with the rest (cutting them out would
            # cost a rewrite of the batch): the writer keeps the first version of an event_id.
            try:
                self.spool.append(SIGNAL_TABLES[signal], decoded.payload, decoded.accepted)
            except BaseException:
                self.resends.release(claimed)
                raise
        result = IngestResult(
            accepted=decoded.accepted,
            rejected=decoded.rejected,
            rejected_count=decoded.rejected_count,
            message=decoded.message,
        )
        if verdicts:
            _answer_resends(result, verdicts, signal)
        self.metrics.items.labels(signal, "accepted").inc(result.accepted)
        self.metrics.items.labels(signal, "rejected").inc(result.rejected_count)
        if decoded.ignored:
            self.metrics.items.labels(signal, "ignored").inc(decoded.ignored)
        if replay is not None:
            self.recent_spans.remember(replay, result)
        return result


def _answer_resends(result: IngestResult, verdicts: Verdicts, signal: str) -> None:
    """Duplicates leave the accepted count for their own; conflicts join the rejections.
    OTLP has no word for a duplicate: a retried log record is simply accepted again."""
    conflicts = [{"index": i, "error": e} for i, e in sorted(verdicts.conflicts.items())]
    result.rejected = sorted([*result.rejected, *conflicts], key=lambda r: r["index"])
    result.rejected_count += len(conflicts)
    result.accepted -= len(conflicts)
    if signal == "events":
        result.duplicates = len(verdicts.duplicates)
        result.accepted -= result.duplicates
    else:
        result.message = "; ".join(
            f"log record {r['index']}: {r['error']}" for r in result.rejected[:10]
        )
