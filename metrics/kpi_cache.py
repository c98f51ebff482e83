"""KPI results kept for the console's KPI page (its period beside the previous one and a
12-period trend: one run of each KPI file, a second or more at a million transactions).

- An explicit as_of: the result is a function of the data, the configuration and as_of, so it
  is kept and reused while the data mark (sql/data_mark.sql: every insert into a table the KPIs
  derive from moves it) and the configuration are unchanged. Exact.
- No as_of (now): the page shows the latest result of that period computed as of an instant at
  most `metrics.kpis_ttl_s` old (as /metrics does) and says "as of HH:MM"; an older one is
  shown once more while a background thread computes it again as of now."""

from __future__ import annotations

import hashlib
import logging
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass
from datetime import datetime

import orjson

from metrics.exports import KpiReport
from metrics.kpis import compute_periods, with_previous
from metrics.periods import Period, series
from rules import public as rules_public
from rxsight.config import Settings
from rxsight.store import SqlFiles, Store
from rxsight.timeutil import utcnow

log = logging.getLogger(__name__)
SQL = SqlFiles(__file__)
TREND_PERIODS = 12
_EXACT_KEPT = 32  # results kept for explicit instants, the least recently used dropped first

Trend = dict[tuple[str, tuple], list[float | None]]


@dataclass(frozen=True)
class KpiPage:
    as_of: datetime
    report: KpiReport
    trend: Trend  # each KPI row's values over the TREND_PERIODS periods ending with the period


def compute_page(store: Store, settings: Settings, period: Period, as_of: datetime) -> KpiPage:
    """The page's numbers from the KPI files, uncached: the trend's last two periods are the
    report's."""
    periods = series(period, TREND_PERIODS)
    by_period = compute_periods(store, settings, periods, as_of)
    before, current = by_period[-2], by_period[-1]
    report = KpiReport(period, as_of, with_previous(current, before), before)
    keys = dict.fromkeys(r.key for rows in by_period for r in rows)
    values = [{r.key: r.value for r in rows} for rows in by_period]
    return KpiPage(as_of, report, {k: [v.get(k) for v in values] for k in keys})


class KpiPages:
    """The kept results of one store (the app keeps one of these)."""

    def __init__(self, ttl_s: float) -> None:
        self.ttl_s = ttl_s
        self._lock = threading.Lock()
        self._exact: OrderedDict[tuple, KpiPage] = OrderedDict()
        self._latest: dict[tuple[str, str], tuple[float, KpiPage]] = {}
        self._refreshing: dict[tuple[str, str], threading.Thread] = {}

    def page(
        self, store: Store, settings: Settings, period: Period, as_of: datetime | None
    ) -> KpiPage:
        if as_of is not None:
            return self._exact_page(store, settings, period, as_of)
        return self._latest_page(store, settings, period)

    def _exact_page(
        self, store: Store, settings: Settings, period: Period, as_of: datetime
    ) -> KpiPage:
        key = (period.kind, period.label, as_of, data_mark(store), config_digest(settings))
        with self._lock:
            kept = self._exact.get(key)
            if kept is not None:
                self._exact.move_to_end(key)
                return kept
        fresh = compute_page(store, settings, period, as_of)
        with self._lock:
            self._exact[key] = fresh
            while len(self._exact) > _EXACT_KEPT:
                self._exact.popitem(last=False)
        return fresh

    def _latest_page(self, store: Store, settings: Settings, period: Period) -> KpiPage:
        key = (period.kind, period.label)
        with self._lock:
            kept = self._latest.get(key)
        if kept is None:
            return self._compute_latest(store, settings, period)
        computed, page = kept
        if time.monotonic() - computed >= self.ttl_s:
            self._refresh_in_background(store, settings, period)
        return page

    def _compute_latest(self, store: Store, settings: Settings, period: Period) -> KpiPage:
        started = time.monotonic()
        page = compute_page(store, settings, period, utcnow())
        with self._lock:
            self._latest[(period.kind, period.label)] = (started, page)
        return page

    def _refresh_in_background(self, store: Store, settings: Settings, period: Period) -> None:
        key = (period.kind, period.label)

        def run() -> None:
            try:
                self._compute_latest(store, settings, period)
            except Exception:  # noqa: BLE001 - the page keeps showing the previous result
                log.exception("computing the KPI page of %s failed", period.label)
            finally:
                with self._lock:
                    self._refreshing.pop(key, None)

        with self._lock:
            if key in self._refreshing:
                return
            thread = self._refreshing[key] = threading.Thread(
                target=run, name="kpi-page", daemon=True
            )
        thread.start()

    def settle(self, timeout_s: float = 60) -> None:
        """Wait for the background computations running now (before the store closes)."""
        with self._lock:
            running = list(self._refreshing.values())
        for thread in running:
            thread.join(timeout_s)


def data_mark(store: Store) -> str:
    return str(store.query_value(SQL["data_mark"]))


def config_digest(settings: Settings) -> str:
    """What the KPIs read from the configuration: the rules' parameters (thresholds, tiers,
    flows), the sites' time zones and the registered flows."""
    params = {
        k: v for k, v in rules_public.query_params(settings, utcnow()).items() if k != "as_of"
    }
    sites = {s: c.timezone for s, c in settings.config.sites.items()}
    text = orjson.dumps([params, sites, list(settings.config.flows)], default=str)
    return hashlib.sha256(text).hexdigest()
