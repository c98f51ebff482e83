"""Flows pages: each integration flow against its SLA tier, 24 h sparklines, failing spans."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, Response

import rules.public as rules_public
from rxsight.auth import Principal
from rxsight.timeutil import as_utc, utcnow
from web import data
from web.deps import ConsoleError, console_user, render, settings_of, store_of
from web.downloads import csv_response, wants_csv
from web.sparkline import sparkline
from web.timecontrol import time_view
from web.views import flow_view, unlisted_flow_view

router = APIRouter()
FLOW_COLUMNS = (
    "flow",
    "tier",
    "owner",
    "status",
    "volume",
    "errors",
    "error_rate",
    "p95_s",
    "last_seen",
)


def _hours(as_of: datetime) -> list[datetime]:
    last = as_utc(as_of).replace(minute=0, second=0, microsecond=0)
    return [last - timedelta(hours=23 - i) for i in range(24)]


def _series(rows: list[dict[str, Any]], hours: list[datetime]) -> dict[str, Any]:
    by_hour = {as_utc(r["hour"]): r for r in rows}
    spans = [int(by_hour[h]["spans"]) if h in by_hour else 0 for h in hours]
    errors = [int(by_hour[h]["errors"]) if h in by_hour else 0 for h in hours]
    p95 = [float(by_hour[h]["p95_ms"]) if h in by_hour else None for h in hours]
    return {
        "volume": sparkline(
            spans,
            label=f"spans per hour, last 24 h: {', '.join(map(str, spans))}",
            marks=[e > 0 for e in errors],
        ),
        "p95": sparkline(
            p95,
            label="p95 ms per hour, last 24 h: "
            + ", ".join("-" if v is None else f"{v:.0f}" for v in p95),
        ),
        "total": sum(spans),
        "errors": sum(errors),
    }


def _flow_rows(
    request: Request, when: datetime | None, only: str = ""
) -> tuple[list[dict], str | None, datetime]:
    """Every flow's row, or only the one named `only` (a flow's page: its series alone)."""
    store, settings = store_of(request), settings_of(request)
    as_of = when or utcnow()
    flows = data.attempt("Flow status", rules_public.flows, store, settings, when)
    hours = _hours(as_of)
    by_flow = data.attempt("Hourly span counts", data.flow_hours, store, as_of, only)
    series = by_flow.value or {}
    rows = [flow_view(f) for f in (flows.value or []) if not only or f.flow == only]
    known = {r["flow"] for r in rows}
    objectives = {o.tier: o for o in rules_public.tier_objective_list(settings)}
    # Flows that sent spans in the last 24 h but that the rules stage did not list.
    for name in sorted(set(series) - known):
        tier = settings.config.flows.get(name).tier if name in settings.config.flows else None
        rows.append(unlisted_flow_view(name, tier, objectives[tier or 3]))
    for r in rows:
        r["series"] = _series(series.get(r["flow"], []), hours)
        cfg = settings.config.flows.get(r["flow"])
        if r["owner"] is None and cfg is not None:
            r["owner"] = cfg.owner
    rows.sort(key=lambda f: (f["ok"], f["tier"] or 9, f["flow"]))
    return rows, flows.error or by_flow.error, as_of


@router.get("/flows", response_class=HTMLResponse)
def flows_page(
    request: Request,
    as_of: str | None = None,
    format: str = "",
    principal: Principal = Depends(console_user("viewer")),
) -> Response:
    tc = time_view(request, as_of)
    rows, error, at = _flow_rows(request, tc.when)
    if wants_csv(format):
        if error:
            raise ConsoleError(503, error)
        return csv_response(request, principal, "flows", FLOW_COLUMNS, rows)
    return render(
        request,
        "flows.html",
        {
            "flows": rows,
            "error": error,
            "as_of": as_of or "",
            "at": at,
            "tiers": rules_public.tier_objective_list(settings_of(request)),
            "tc": tc,
        },
        principal=principal,
    )


@router.get("/flows/{flow:path}", response_class=HTMLResponse)
def flow_page(
    request: Request,
    flow: str,
    as_of: str | None = None,
    principal: Principal = Depends(console_user("viewer")),
) -> HTMLResponse:
    tc = time_view(request, as_of)
    rows, error, at = _flow_rows(request, tc.when, only=flow)
    row = next((r for r in rows if r["flow"] == flow), None)
    if row is None:
        raise ConsoleError(
            404,
            f"No flow named {flow!r} has sent spans.",
            hint="Flows are named by the span attribute integration.flow, else the service "
            "name; see the flows page for the ones known.",
        )
    failing = data.attempt(
        "Recent failing spans",
        data.failing_spans,
        store_of(request),
        flow,
        at,
        row["objective"].p95_ms,
    )
    breaches = data.attempt("Breach history", data.flow_breaches, store_of(request), flow, at)
    episodes = breaches.value or []
    ongoing = next((e for e in episodes if e["cleared"] is None), None)
    return render(
        request,
        "flow.html",
        {
            "f": row,
            "error": error,
            "spans": failing.value or [],
            "spans_error": failing.error,
            "breaches": episodes,
            "breaches_error": breaches.error,
            "breaching_since": ongoing["since"] if ongoing and not row["ok"] else None,
            "as_of": as_of or "",
            "at": at,
            "tc": tc,
        },
        principal=principal,
    )
