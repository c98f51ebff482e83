"""Business series on /metrics, read at scrape time: flows against their SLA tier, the oldest
open exception per family and site, the KPIs of the current month; label sets bounded."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterator
from datetime import datetime
from typing import Any

from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from metrics.config import MetricsConfig
from metrics.definitions import kpi_defs
from metrics.kpis import KpiRow, compute_periods
from metrics.periods import containing
from rules import public as rules_public
from rxsight.runtime import Runtime
from rxsight.store import SqlFiles
from rxsight.timeutil import as_utc, parse_rfc3339, utcnow

log = logging.getLogger(__name__)
SQL = SqlFiles(__file__)


class _Cached:
    """A value read at most every `ttl_s` (a scrape every few seconds must not recompute
    KPIs); a failed read keeps the last value and is logged, so the scrape still answers."""

    def __init__(self, ttl_s: float, read: Callable[[], Any], empty: Any) -> None:
        self.ttl_s, self.read, self.value = ttl_s, read, empty
        self._at = -1e18
        self._lock = threading.Lock()

    def get(self) -> Any:
        with self._lock:
            if time.monotonic() - self._at >= self.ttl_s:
                try:
                    self.value = self.read()
                    self._at = time.monotonic()
                except Exception:  # noqa: BLE001 - a scrape must not fail because the store did
                    log.warning("business metrics unavailable", exc_info=True)
            return self.value


class BusinessMetrics(Collector):
    def __init__(self, runtime: Runtime, config: MetricsConfig) -> None:
        self.runtime = runtime
        self.limit = config.max_series_per_metric
        self.dropped: dict[str, int] = {}
        self._flows = _Cached(config.flows_ttl_s, self._read_flows, [])
        self._oldest = _Cached(config.flows_ttl_s, self._read_oldest, [])
        self._kpis = _Cached(config.kpis_ttl_s, self._read_kpis, [])

    def _read_flows(self) -> list[rules_public.FlowStatus]:
        return rules_public.flows(self.runtime.store, self.runtime.settings)

    def _read_oldest(self) -> list[tuple[str, str, datetime]]:
        return [tuple(r) for r in self.runtime.store.query_rows(SQL["oldest_open_exceptions"])]

    def _read_kpis(self) -> list[KpiRow]:
        now = utcnow()
        return compute_periods(
            self.runtime.store, self.runtime.settings, [containing("month", now)], now
        )[0]

    def _bounded(self, family: GaugeMetricFamily, rows: list[tuple[list[str], float]]) -> None:
        """At most `limit` label sets per metric (the first ones, in a stable order); the
        rest are counted in rxsight_metrics_series_dropped_total."""
        rows = sorted(rows)
        for labels, value in rows[: self.limit]:
            family.add_metric(labels, value)
        if len(rows) > self.limit:
            self.dropped[family.name] = len(rows) - self.limit

    def collect(self) -> Iterator[Any]:
        now = utcnow()
        flows = self._flows.get()
        ok = GaugeMetricFamily(
            "rxsight_flow_sla_ok",
            "1 when the flow meets its tier over the SLA window, 0 when it breaches",
            labels=["flow", "tier"],
        )
        p95 = GaugeMetricFamily(
            "rxsight_flow_p95_seconds",
            "Span duration p95 over the SLA window",
            labels=["flow", "tier"],
        )
        errors = GaugeMetricFamily(
            "rxsight_flow_error_ratio",
            "Share of spans in error over the SLA window",
            labels=["flow", "tier"],
        )
        age = GaugeMetricFamily(
            "rxsight_flow_last_span_age_seconds",
            "Seconds since the flow's latest span started",
            labels=["flow", "tier"],
        )
        seen = [f for f in flows if f.status != "never_seen"]
        self._bounded(ok, [([f.flow, str(f.tier)], float(f.status == "ok")) for f in seen])
        self._bounded(p95, [([f.flow, str(f.tier)], f.p95_s) for f in seen if f.p95_s is not None])
        self._bounded(
            errors,
            [([f.flow, str(f.tier)], f.error_rate) for f in seen if f.error_rate is not None],
        )
        self._bounded(
            age,
            [
                ([f.flow, str(f.tier)], (now - _instant(f.last_seen)).total_seconds())
                for f in seen
                if f.last_seen
            ],
        )
        yield from (ok, p95, errors, age)
        oldest = GaugeMetricFamily(
            "rxsight_exception_oldest_open_age_seconds",
            "Age of the oldest open exception's condition, by family and site",
            labels=["family", "site"],
        )
        self._bounded(
            oldest,
            [
                ([fam, site], (now - as_utc(since)).total_seconds())
                for fam, site, since in self._oldest.get()
            ],
        )
        yield oldest
        kpi = GaugeMetricFamily(
            "rxsight_kpi",
            "KPIs of the current calendar month (UTC; sites on their own calendar), as in "
            "GET /api/kpis: ratios 0-1, durations in the KPI's unit",
            labels=["kpi", "unit", "dimension", "group"],
        )
        units = {d.name: d.unit for d in kpi_defs()}
        self._bounded(
            kpi,
            [
                (
                    [
                        r.kpi,
                        units[r.kpi],
                        r.group[0][0] if r.group else "",
                        str(r.group[0][1]) if r.group else "",
                    ],
                    r.value,
                )
                for r in self._kpis.get()
            ],
        )
        yield kpi
        dropped = GaugeMetricFamily(
            "rxsight_metrics_series_dropped",
            "Label sets left out of a metric beyond metrics.max_series_per_metric, last scrape",
            labels=["metric"],
        )
        for name, n in sorted(self.dropped.items()):
            dropped.add_metric([name], n)
        yield dropped


def _instant(value: Any) -> datetime:
    return as_utc(value) if isinstance(value, datetime) else parse_rfc3339(value)
