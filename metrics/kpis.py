"""KPI rows for a period as of an instant (DESIGN 7a): each KPI from its one SQL file."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from metrics.definitions import DIMENSIONS, kpi_defs
from metrics.periods import Period
from rules import public as rules_public
from rxsight.config import Settings
from rxsight.store import SqlFiles, Store
from rxsight.timeutil import as_utc

SQL = SqlFiles(__file__)
_PARAM = re.compile(r"\{(\w+):")
# The KPI files whose rows are grouped by site: for a calendar period they are asked again
# with each site's own local midnights (DESIGN 7a).
_SITE_GROUPED = ("replenishment", "receipt_posting")


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


def compute(
    store: Store,
    settings: Settings,
    start: datetime,
    end: datetime,
    as_of: datetime,
    *,
    files: Iterable[str] | None = None,
) -> list[KpiRow]:
    """Every KPI row of [start, end) as of `as_of`, in kpis.yaml order; rows whose
    denominator or n is 0 are left out."""
    wanted = set(files) if files is not None else None
    rules_params = rules_public.query_params(settings, as_of)
    base = {
        **rules_params,
        "start": _ch(start),
        "end": _ch(end),
        "as_of": _ch(as_of),
        "registered_flows": list(settings.config.flows),
    }
    rows: list[KpiRow] = []
    for name in dict.fromkeys(d.sql for d in kpi_defs()):
        if wanted is not None and name not in wanted:
            continue
        params = dict(base)
        if name == "invoices":
            found = rules_public.findings_as_of(store, settings, as_of, "unmatched_invoice")
            params["evaluated"] = 1
            params["finding_keys"] = [f"{f['supplier_id']}/{f['invoice_number']}" for f in found]
            params["finding_reasons"] = [f["reason"] for f in found]
        rows.extend(run_file(store, name, params))
    order = {d.name: i for i, d in enumerate(kpi_defs())}
    return sorted(rows, key=lambda r: (order[r.kpi], _group_order(r.group)))


def run_file(store: Store, name: str, params: dict[str, Any]) -> list[KpiRow]:
    """One KPI SQL file's rows, binding only the parameters it names."""
    sql = SQL[name]
    bound = {k: params[k] for k in set(_PARAM.findall(sql))}
    out = []
    for kpi, dim, key, numerator, denominator, value, n in store.query_rows(sql, bound):
        group: tuple[tuple[str, str | int], ...] = ()
        if dim:
            group = ((dim, int(key) if dim == "tier" else key),)
        if value != value:  # NaN: a rate
            if not denominator:
                continue
            out.append(KpiRow(kpi, group, numerator / denominator, numerator, denominator))
        elif n:
            out.append(KpiRow(kpi, group, float(value), n=int(n)))
    return out


def _group_order(group: tuple[tuple[str, str | int], ...]) -> tuple[int, str]:
    if not group:
        return 0, ""
    dim, key = group[0]
    return DIMENSIONS.index(dim), str(key)


def compute_period(
    store: Store, settings: Settings, period: Period, as_of: datetime
) -> list[KpiRow]:
    """The rows of a calendar period: system-wide and non-site rows on UTC's calendar, each
    site's rows on its own time zone's (`sites.<site>.timezone`)."""
    start, end = period.bounds("UTC")
    rows = compute(store, settings, start, end, as_of)
    zones: dict[str, list[str]] = {}
    for site, conf in settings.config.sites.items():
        if conf.timezone != "UTC":
            zones.setdefault(conf.timezone, []).append(site)
    for zone, sites in zones.items():
        z_start, z_end = period.bounds(zone)
        local = compute(store, settings, z_start, z_end, as_of, files=_SITE_GROUPED)
        theirs = {("site", s) for s in sites}
        rows = [r for r in rows if not (r.group and r.group[0] in theirs)]
        rows.extend(r for r in local if r.group and r.group[0] in theirs)
    order = {d.name: i for i, d in enumerate(kpi_defs())}
    return sorted(rows, key=lambda r: (order[r.kpi], _group_order(r.group)))


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
