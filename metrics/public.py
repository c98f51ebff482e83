"""The metrics stage's public functions, for the console: KPI reports, trends, exports."""

from __future__ import annotations

import threading
from datetime import datetime
from typing import Any

from metrics.config import parse_kpis_config, parse_metrics_config
from metrics.definitions import KpiDef, kpi_defs
from metrics.exports import FORMATS, MONTH_END_FORMATS, KpiReport, build_report, table_xlsx
from metrics.kpi_cache import KpiPage, KpiPages
from metrics.kpis import compute_periods
from metrics.month_end import MonthEnd, month_end
from metrics.periods import KINDS, Period, last_completed, parse_at, series
from metrics.scheduler import next_due, recent_runs
from rxsight.config import Settings
from rxsight.runtime import Runtime
from rxsight.store import Store

__all__ = [
    "FORMATS",
    "MONTH_END_FORMATS",
    "MonthEnd",
    "KINDS",
    "KpiDef",
    "KpiPage",
    "KpiReport",
    "definitions",
    "export_schedules",
    "kpi_page",
    "month_end",
    "period_of",
    "report",
    "table_xlsx",
    "trend",
    "trend_periods",
]


def definitions() -> tuple[KpiDef, ...]:
    return kpi_defs()


def period_of(kind: str, at: str | None, as_of: datetime) -> Period:
    """The period named by `at` (2026-11, 2026-W47, 2026-11-20), else the last one ended by
    `as_of`. ValueError says what is wrong with either."""
    return parse_at(kind, at) if at else last_completed(kind, as_of)


def trend_periods(period: Period, count: int = 12) -> list[Period]:
    """The periods a trend covers, oldest first, ending with `period`."""
    return series(period, count)


def report(store: Store, settings: Settings, period: Period, as_of: datetime) -> KpiReport:
    """The period's rows beside the previous period's."""
    return build_report(store, settings, period, as_of)


def trend(
    store: Store, settings: Settings, period: Period, as_of: datetime, count: int = 12
) -> dict[tuple[str, tuple], list[float | None]]:
    """Each KPI row's value over the `count` periods ending with `period` (None where a
    period has no such row), oldest first: one run of each KPI file for all of them."""
    by_period = compute_periods(store, settings, trend_periods(period, count), as_of)
    keys = dict.fromkeys(r.key for rows in by_period for r in rows)
    values = [{r.key: r.value for r in rows} for rows in by_period]
    return {k: [v.get(k) for v in values] for k in keys}


_pages: dict[tuple[str, str], KpiPages] = {}
_pages_lock = threading.Lock()


def kpi_page(store: Store, settings: Settings, period: Period, as_of: datetime | None) -> KpiPage:
    """The KPI page's numbers: the period beside the previous one and the 12-period trend, as
    of `as_of` exactly (kept while the data and configuration are unchanged), or with None, as
    of an instant at most `metrics.kpis_ttl_s` ago (KpiPage.as_of says which)."""
    with _pages_lock:
        pages = _pages.get((store.dsn, store.database))
        if pages is None:
            ttl_s = parse_metrics_config(settings).kpis_ttl_s
            pages = _pages[(store.dsn, store.database)] = KpiPages(ttl_s)
    return pages.page(store, settings, period, as_of)


def export_schedules(runtime: Runtime, now: datetime) -> dict[str, Any]:
    """The configured scheduled exports with their next run, and the latest attempts."""
    config = parse_kpis_config(runtime.settings)
    schedules = [
        {
            "schedule": e.schedule_id,
            "every": e.every,
            "format": e.format,
            "dir": str(e.directory(runtime.settings)),
            "next_run": next_due(e, now),
        }
        for e in config.exports
    ]
    return {"schedules": schedules, "runs": recent_runs(runtime) if schedules else []}
