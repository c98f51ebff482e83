"""The KPI page: each KPI of a period beside the previous one, 12-period trends, breakdowns,
downloads in every export format, scheduled exports; prints as a one-page summary."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse

import metrics.public as metrics_public
from rxsight.auth import Principal
from rxsight.timeutil import rfc3339, utcnow
from web import data
from web.deps import ConsoleError, console_user, render, settings_of, store_of
from web.sparkline import sparkline
from web.timecontrol import time_view

router = APIRouter()

# Breakdown sections, in order: the dimensions executives read first.
BREAKDOWNS = (
    ("site", "By site"),
    ("supplier_id", "By supplier"),
    ("flow", "By flow"),
    ("priority", "By priority"),
    ("tier", "By tier"),
    ("reason", "By reason"),
    ("family", "By exception family"),
)
UNIT_SUFFIX = {"hours": "h", "minutes": "min", "seconds": "s"}


def format_value(value: float | None, unit: str) -> str:
    if value is None:
        return "—"
    if unit == "ratio":
        return f"{value * 100:.1f} %"
    return f"{value:.2f} {UNIT_SUFFIX.get(unit, unit)}"


def format_change(change: float | None, unit: str) -> str:
    if change is None:
        return "—"
    if unit == "ratio":
        return f"{change * 100:+.1f} pp"
    return f"{change:+.2f} {UNIT_SUFFIX.get(unit, unit)}"


def _row_view(c: Any, d: Any) -> dict[str, Any]:
    r = c.row
    return {
        "kpi": r.kpi,
        "title": d.title,
        "unit": d.unit,
        "group": r.group[0][1] if r.group else "",
        "value": format_value(r.value, d.unit),
        "previous": format_value(c.previous.value if c.previous else None, d.unit),
        "change": format_change(c.change, d.unit),
        "direction": "" if not c.change else ("up" if c.change > 0 else "down"),
        "counts": (
            f"{_num(r.numerator)} / {_num(r.denominator)}" if r.denominator else f"n = {r.n}"
        ),
    }


def _num(x: float | None) -> str:
    return "—" if x is None else (f"{x:.0f}" if float(x).is_integer() else f"{x:.2f}")


@router.get("/kpis", response_class=HTMLResponse)
def kpis_page(
    request: Request,
    period: str = "month",
    at: str = "",
    as_of: str | None = None,
    principal: Principal = Depends(console_user("viewer")),
) -> HTMLResponse:
    tc = time_view(request, as_of, refresh=False)
    when = tc.at
    try:
        chosen = metrics_public.period_of(period, at.strip() or None, when)
    except ValueError as exc:
        raise ConsoleError(
            400, str(exc), hint="Pick a period and name it like 2026-11, 2026-W47 or 2026-11-20."
        ) from exc
    store, settings = store_of(request), settings_of(request)
    defs = {d.name: d for d in metrics_public.definitions()}
    # Without an as_of, the numbers of an instant up to metrics.kpis_ttl_s ago: the page says
    # which ("as of"); with one, exactly as of it.
    outcome = data.attempt("KPIs", metrics_public.kpi_page, store, settings, chosen, tc.when)
    page = outcome.value
    rows = page.report.rows if page else []
    series = page.trend if page else {}
    if page is not None:
        when = page.as_of
    labels = [p.label for p in metrics_public.trend_periods(chosen)]
    summary = []
    for name, d in defs.items():
        mine = [c for c in rows if c.row.kpi == name]
        system = next((c for c in mine if not c.row.group), None)
        view: dict[str, Any] = {"kpi": name, "title": d.title, "definition": d.definition}
        if system is not None:
            view.update(_row_view(system, d))
            values = series.get(system.row.key, [])
            view["trend"] = _trend_svg(values, labels, d.unit)
        else:
            # Only grouped rows: say where they are; nothing at all: say so.
            groups = sorted({c.row.group[0][0] for c in mine})
            view.update(value=None, groups=groups)
        summary.append(view)
    breakdowns = []
    for dim, heading in BREAKDOWNS:
        items = [
            _row_view(c, defs[c.row.kpi]) for c in rows if c.row.group and c.row.group[0][0] == dim
        ]
        for item in items:
            item["trend"] = _trend_svg(
                series.get((item["kpi"], ((dim, _typed(dim, item["group"])),)), []),
                labels,
                item["unit"],
            )
        if items:
            breakdowns.append({"dim": dim, "heading": heading, "rows": items})
    query = {"period": chosen.kind, "at": chosen.label}
    if as_of:
        query["as_of"] = rfc3339(when) or ""
    downloads = [
        (fmt.upper(), f"/api/kpis/export?{urlencode({**query, 'format': fmt})}")
        for fmt in metrics_public.FORMATS
    ]
    schedules = data.attempt(
        "Scheduled exports", metrics_public.export_schedules, request.app.state.runtime, utcnow()
    )
    return render(
        request,
        "kpis.html",
        {
            "period": chosen,
            "previous": chosen.previous(),
            "kinds": metrics_public.KINDS,
            "at": at,
            "as_of": as_of or "",
            "when": when,
            "summary": summary,
            "breakdowns": breakdowns,
            "downloads": downloads,
            "error": outcome.error,
            "schedules": schedules.value or {"schedules": [], "runs": []},
            "schedules_error": schedules.error,
            "earlier": f"/kpis?{urlencode({**query, 'at': chosen.previous().label})}",
            "later": f"/kpis?{urlencode({**query, 'at': chosen.following().label})}",
        },
        principal=principal,
    )


def _typed(dim: str, key: str) -> Any:
    return int(key) if dim == "tier" else key


def _trend_svg(values: list[float | None], labels: list[str], unit: str) -> Any:
    if not any(v is not None for v in values):
        return ""
    text = ", ".join(
        f"{label} {format_value(v, unit)}" for label, v in zip(labels, values, strict=False)
    )
    return sparkline(values, width=132, height=30, label=f"last 12 periods: {text}")
