"""Ingest health for the overview: totals, rates, rejects and spool depth, from /metrics."""

from __future__ import annotations

import threading
import time
from collections import deque
from dataclasses import dataclass, field
from typing import Any

from prometheus_client import CollectorRegistry

# Rates are differences between two readings of the counters; keep a few minutes of them.
_WINDOW_S = 300.0
_MIN_SPAN_S = 5.0


@dataclass
class IngestReading:
    at: float
    items: dict[tuple[str, str], float]  # (signal, outcome) -> total
    requests: dict[str, float]  # status -> total
    spool_bytes: float | None = None
    spool_segments: float | None = None
    store_writable: float | None = None
    write_errors: float = 0.0


@dataclass
class IngestSampler:
    """Lives on app.state; each overview refresh adds a reading and compares with the
    oldest one still in the window."""

    readings: deque[IngestReading] = field(default_factory=lambda: deque(maxlen=512))
    lock: threading.Lock = field(default_factory=threading.Lock)


# Only these: a full collect() would also run other stages' scrape-time collectors, some of
# which query the store (open exceptions by label) and cost far more than this page may.
COUNTERS = (
    "rxsight_ingest_items",
    "rxsight_ingest_requests",
    "rxsight_store_write_errors",
)


def read_registry(registry: CollectorRegistry, collector: Any = None) -> IngestReading:
    """The ingest counters from the registry; spool and writer state from the collector
    object on app.state (read by attribute: the console does not import the collector)."""
    reading = IngestReading(at=time.monotonic(), items={}, requests={})
    names = [n + suffix for n in COUNTERS for suffix in ("", "_total")]
    for family in registry.restricted_registry(names).collect():
        for sample in family.samples:
            name, labels, value = sample.name, sample.labels, sample.value
            if name == "rxsight_ingest_items_total":
                key = (labels.get("signal", ""), labels.get("outcome", ""))
                reading.items[key] = reading.items.get(key, 0.0) + value
            elif name == "rxsight_ingest_requests_total":
                status = labels.get("status", "")
                reading.requests[status] = reading.requests.get(status, 0.0) + value
            elif name == "rxsight_store_write_errors_total":
                reading.write_errors += value
    spool = getattr(collector, "spool", None)
    writer = getattr(collector, "writer", None)
    if spool is not None:
        reading.spool_bytes = float(getattr(spool, "depth_bytes", 0) or 0)
        sealed = getattr(spool, "sealed", None)
        reading.spool_segments = float(len(sealed())) if callable(sealed) else None
    if writer is not None:
        reading.store_writable = 1.0 if getattr(writer, "healthy", True) else 0.0
    return reading


def ingest_health(app_state: Any, spool_max_bytes: int) -> dict[str, Any]:
    """Per signal: accepted / rejected totals and per-minute rates; the spool; the writer."""
    registry: CollectorRegistry | None = getattr(app_state, "registry", None)
    if registry is None:
        return {"available": False}
    sampler: IngestSampler | None = getattr(app_state, "console_ingest_sampler", None)
    if sampler is None:
        sampler = IngestSampler()
        app_state.console_ingest_sampler = sampler
    now = read_registry(registry, getattr(app_state, "collector", None))
    with sampler.lock:
        while sampler.readings and now.at - sampler.readings[0].at > _WINDOW_S:
            sampler.readings.popleft()
        base = sampler.readings[0] if sampler.readings else None
        sampler.readings.append(now)
    span = (now.at - base.at) if base else 0.0
    signals = sorted({s for s, _ in now.items})
    rows = []
    for signal in signals:
        row: dict[str, Any] = {"signal": signal}
        for outcome in ("accepted", "rejected", "duplicate"):
            total = now.items.get((signal, outcome), 0.0)
            row[outcome] = int(total)
            if base is not None and span >= _MIN_SPAN_S:
                before = base.items.get((signal, outcome), 0.0)
                row[f"{outcome}_per_min"] = (total - before) * 60.0 / span
            else:
                row[f"{outcome}_per_min"] = None
        rows.append(row)
    failed = sum(v for k, v in now.requests.items() if k and not k.startswith("2") and k != "OK")
    spool_pct = (
        (now.spool_bytes or 0) / spool_max_bytes * 100 if spool_max_bytes and now.spool_bytes else 0
    )
    return {
        "available": True,
        "signals": rows,
        "failed_requests": int(failed),
        "spool_bytes": int(now.spool_bytes or 0),
        "spool_segments": int(now.spool_segments or 0),
        "spool_max_bytes": spool_max_bytes,
        "spool_pct": spool_pct,
        "store_writable": now.store_writable != 0,
        "write_errors": int(now.write_errors),
        "rate_window_s": span if span >= _MIN_SPAN_S else None,
    }
