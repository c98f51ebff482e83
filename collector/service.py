"""The collector pipeline: decode and validate (worker processes), spool durably, write."""

from __future__ import annotations

import logging
import multiprocessing
import os
import threading
from collections import Counter
from collections.abc import Iterable
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from typing import Any

from prometheus_client import CollectorRegistry
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily

from collector.decode import (
    SIGNAL_TABLES,
    Decoded,
    Decoder,
    decode_in_worker,
    init_worker,
    worker_ready,
)
from collector.spool import Spool, SpoolFull
from collector.telemetry import CallbackCollector, IngestMetrics
from collector.writer import BatchWriter
from rxsight.auth import Principal
from rxsight.config import Settings
from rxsight.store import Store

__all__ = ["Collector", "IngestResult", "SpoolFull"]
log = logging.getLogger(__name__)


@dataclass
class IngestResult:
    accepted: int = 0
    rejected: list[dict[str, Any]] = field(default_factory=list)  # [{"index", "error"}]
    rejected_count: int = 0
    message: str = ""


class Collector:
    """Decoding OTLP and validating events is pure Python and CPU-bound, so it runs in a pool
    of worker processes (`ingest.decode_workers`); this process keeps the HTTP/gRPC front,
    the spool and the writer's inserts, which chDB runs on its own threads."""

    def __init__(self, settings: Settings, store: Store, registry: CollectorRegistry) -> None:
        cfg = settings.config.ingest
        self.config = cfg
        self.spool = Spool(settings.spool_dir, max_bytes=cfg.spool.max_bytes, fsync=cfg.spool.fsync)
        self.metrics = IngestMetrics(registry)
        self.writer = BatchWriter(self.spool, store, cfg.spool, self.metrics)
        self.phi_counts: Counter[str] = Counter()
        self._decoder = Decoder(cfg)
        self._workers = cfg.decode_workers if cfg.decode_workers >= 0 else (os.cpu_count() or 1)
        self._pool: ProcessPoolExecutor | None = None
        self._pool_lock = threading.Lock()
        registry.register(CallbackCollector(self._gauges))

    def start(self) -> None:
        if self._workers:
            self._pool = self._new_pool()
        self.writer.start()

    def stop(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=False, cancel_futures=True)
        self.writer.stop()

    def _new_pool(self) -> ProcessPoolExecutor:
        # spawn, not fork: this process holds chDB and threads that must not be forked.
        pool = ProcessPoolExecutor(
            max_workers=self._workers,
            mp_context=multiprocessing.get_context("spawn"),
            initializer=init_worker,
            initargs=(self.config.model_dump_json(),),
        )
        # Start every worker now: their imports take seconds, which must not land on the first
        # requests (start() runs before the server reports ready).
        waits = [pool.submit(worker_ready) for _ in range(self._workers)]
        if not all(w.result(timeout=120) for w in waits):
            raise RuntimeError("a decode worker failed to initialise")
        return pool

    def _gauges(self) -> Iterable[GaugeMetricFamily | CounterMetricFamily]:
        depth = GaugeMetricFamily("rxsight_spool_bytes", "Bytes accepted but not yet written")
        depth.add_metric([], self.spool.depth_bytes)
        yield depth
        segments = GaugeMetricFamily("rxsight_spool_segments", "Sealed segments awaiting write")
        segments.add_metric([], len(self.spool.sealed()))
        yield segments
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

    def _decode(
        self, signal: str, body: bytes, content_type: str, principal: Principal | None
    ) -> Decoded:
        sources = principal.source_systems if principal else ()
        name = principal.name if principal else ""
        pool = self._pool
        if pool is None:
            return self._decoder.decode(signal, body, content_type, sources, name)
        try:
            return pool.submit(decode_in_worker, signal, body, content_type, sources, name).result()
        except BrokenProcessPool:
            # A worker died (killed, out of memory): replace the pool, decode this one here.
            log.error("decode worker pool broke; restarting it")
            with self._pool_lock:
                if self._pool is pool:
                    self._pool = self._new_pool()
            return self._decoder.decode(signal, body, content_type, sources, name)

    def ingest(
        self, signal: str, body: bytes, content_type: str, principal: Principal | None
    ) -> IngestResult:
        """Decode, validate and spool one request body; returns once it is durable.

        signal: "spans", "logs" or "events". Raises OtlpDecodeError / BodyError /
        UnsupportedMediaType when nothing in the body can be read, SpoolFull when full."""
        decoded = self._decode(signal, body, content_type, principal)
        self.phi_counts.update(decoded.phi)
        if decoded.payload is not None:
            self.spool.append(SIGNAL_TABLES[signal], decoded.payload, decoded.accepted)
        self.metrics.items.labels(signal, "accepted").inc(decoded.accepted)
        self.metrics.items.labels(signal, "rejected").inc(decoded.rejected_count)
        if decoded.ignored:
            self.metrics.items.labels(signal, "ignored").inc(decoded.ignored)
        return IngestResult(
            accepted=decoded.accepted,
            rejected=decoded.rejected,
            rejected_count=decoded.rejected_count,
            message=decoded.message,
        )
