"""KPI rows for a period as of an instant (DESIGN 7a): each KPI from its one SQL file."""

from __future__ import annotations

import re
from collections.abc import Collection, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime
from functools import cache
from typing import Any

from metrics.definitions import DIMENSIONS, kpi_defs, sql_files
from metrics.facts import EPOCH, INVOICE_ENTITY, thresholds_digest, watermark
from metrics.periods import Period
from rules import public as rules_public
from rxsight.config import Settings
from rxsight.store import SqlFiles, Store
from rxsight.timeutil import as_utc

SQL = SqlFiles(__file__)
_PARAM = re.compile(r"\{(\w+):")


@dataclass(frozen=True)
class KpiRow:
    kpi: str
    group: tuple[tuple[str, str | int], ...]  # () = the whole system, else one (dimension, key)
    value: float
    numerator: float | None = None
    denominator: float | None = None
    n: int | None = None

    def as_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"kpi": self.kpi, "group": dict(self.group), "value": self.value}
        if self.denominator is not None:
            out["numerator"] = _count(self.numerator)
            out["denominator"] = _count(self.denominator)
        else:
            out["n"] = self.n
        return out

    @property
    def key(self) -> tuple[str, tuple[tuple[str, str | int], ...]]:
        return self.kpi, self.group


def _count(x: float | None) -> float | int | None:
    return int(x) if x is not None and float(x).is_integer() else x


def _ch(dt: datetime) -> str:
    return as_utc(dt).strftime("%Y-%m-%d %H:%M:%S.%f")[:-3]


Bounds = tuple[datetime, datetime]


def compute(
    store: Store, settings: Settings, start: datetime, end: datetime, as_of: datetime
) -> list[KpiRow]:
    """Every KPI row of [start, end) as of `as_of` (site rows on the same bounds), in
    kpis.yaml order; rows whose denominator or n is 0 are left out."""
    return compute_many(store, settings, [(start, end)], as_of)[0]


def compute_periods(
    store: Store, settings: Settings, periods: Sequence[Period], as_of: datetime
) -> list[list[KpiRow]]:
    """The rows of each calendar period: system-wide and non-site rows on UTC's calendar,
    each site's rows on its own time zone's (`sites.<site>.timezone`)."""
    zoned = {s: c.timezone for s, c in settings.config.sites.items() if c.timezone != "UTC"}
    site_bounds = {s: [p.bounds(zone) for p in periods] for s, zone in zoned.items()}
    return compute_many(store, settings, [p.bounds() for p in periods], as_of, site_bounds)


def compute_many(
    store: Store,
    settings: Settings,
    bounds: Sequence[Bounds],
    as_of: datetime,
    site_bounds: dict[str, list[Bounds]] | None = None,
    kpis: Collection[str] | None = None,
) -> list[list[KpiRow]]:
    """The rows of several periods at once: each SQL file runs once for all of them (a
    12-period trend costs about what one period does). `site_bounds` gives a site its own
    bounds per period for the rows grouped by site. `kpis`: only these KPIs' rows, and only
    the SQL files that answer them run."""
    params = kept_params(store, settings, bounds, as_of, site_bounds)

    def rows_of(name: str) -> list[tuple[int, KpiRow]]:
        bound = params
        if "findings_run" in SQL[name]:
            bound = {**params, **findings_params(store, settings, as_of, params)}
        return run_file(store, name, bound)

    # The engine runs each of these queries on about one core; two at a time keep both
    # cores of a small machine busy. The file that waits for the rules' evaluation first.
    names = sorted(sql_files(kpis), key=lambda name: "findings_run" not in SQL[name])
    out: list[list[KpiRow]] = [[] for _ in bounds]
    for rows in _threads().map(rows_of, names):
        for period, row in rows:
            if kpis is None or row.kpi in kpis:
                out[period - 1].append(row)
    order = {d.name: i for i, d in enumerate(kpi_defs())}
    return [sorted(rows, key=lambda r: (order[r.kpi], _group_order(r.group))) for rows in out]


@cache
def _threads() -> ThreadPoolExecutor:
    return ThreadPoolExecutor(2, thread_name_prefix="kpis")


def query_params(
    settings: Settings,
    bounds: Sequence[Bounds],
    as_of: datetime,
    site_bounds: dict[str, list[Bounds]] | None = None,
) -> dict[str, Any]:
    """Every parameter a KPI SQL file may name, for these periods as of `as_of`, but the
    findings (findings_params)."""
    zones = site_bounds or {}
    return {
        **rules_public.query_params(settings, as_of),
        "starts": [_ch(b[0]) for b in bounds],
        "ends": [_ch(b[1]) for b in bounds],
        "site_names": list(zones),
        "site_starts": [[_ch(b[0]) for b in zones[s]] for s in zones],
        "site_ends": [[_ch(b[1]) for b in zones[s]] for s in zones],
        "as_of": _ch(as_of),
        "registered_flows": list(settings.config.flows),
    }


def kept_params(
    store: Store,
    settings: Settings,
    bounds: Sequence[Bounds],
    as_of: datetime,
    site_bounds: dict[str, list[Bounds]] | None = None,
) -> dict[str, Any]:
    """query_params with what the kept facts are read by: the refresh watermark and the
    thresholds the invoices' kept outcomes hold under."""
    return {
        **query_params(settings, bounds, as_of, site_bounds),
        "since": watermark(store),
        "thresholds": thresholds_digest(settings),
    }


def findings_params(
    store: Store, settings: Settings, as_of: datetime, params: dict[str, Any]
) -> dict[str, Any]:
    """The unmatched_invoice findings as of `as_of` that invoices.sql cannot take from the kept
    invoice rows (kept_params), evaluated by the rules: only the invoices of the periods that
    the rules must judge, every invoice before the first refresh."""
    po_numbers = None
    if params["since"] != EPOCH:
        if store.query_value(SQL["invoices_all_kept"], _bound("invoices_all_kept", params)):
            return {"evaluated": 1, "findings_run": ""}
        to_judge = _bound("invoices_to_judge", params)
        po_numbers = store.query_value(SQL["invoices_to_judge"], to_judge)
        if not po_numbers:
            return {"evaluated": 1, "findings_run": ""}
    run_id = rules_public.stored_findings(
        store, settings, as_of, "unmatched_invoice", INVOICE_ENTITY, po_numbers=po_numbers
    )
    return {"evaluated": 1, "findings_run": run_id}


def run_file(store: Store, name: str, params: dict[str, Any]) -> list[tuple[int, KpiRow]]:
    """One KPI SQL file's rows with their period's number (1-based), binding only the
    parameters the file names."""
    out = []
    rows = store.query_rows(SQL[name], _bound(name, params))
    for period, kpi, dim, key, numerator, denominator, value, n in rows:
        group: tuple[tuple[str, str | int], ...] = ()
        if dim:
            group = ((dim, int(key) if dim == "tier" else key),)
        if value != value:  # NaN: a rate
            if not denominator:
                continue
            row = KpiRow(kpi, group, numerator / denominator, numerator, denominator)
        elif n:
            row = KpiRow(kpi, group, float(value), n=int(n))
        else:
            continue
        out.append((int(period), row))
    return out


def _bound(name: str, params: dict[str, Any]) -> dict[str, Any]:
    return {k: params[k] for k in set(_PARAM.findall(SQL[name]))}


def _group_order(group: tuple[tuple[str, str | int], ...]) -> tuple[int, str]:
    if not group:
        return 0, ""
    dim, key = group[0]
    return DIMENSIONS.index(dim), str(key)


@dataclass(frozen=True)
class Compared:
    """A row of a period beside the same KPI and group of the period before."""

    row: KpiRow
    previous: KpiRow | None

    @property
    def change(self) -> float | None:
        return None if self.previous is None else self.row.value - self.previous.value


def with_previous(current: list[KpiRow], previous: list[KpiRow]) -> list[Compared]:
    before = {r.key: r for r in previous}
    return [Compared(r, before.get(r.key)) for r in current]
