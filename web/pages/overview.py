"""Overview page: open exceptions by family and site, SLA status per flow, ingest health."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse

import rules.public as rules_public
from rxsight.auth import Principal
from rxsight.timeutil import utcnow
from web import data
from web.deps import console_user, render, settings_of, store_of
from web.health import ingest_health
from web.timecontrol import time_view
from web.views import flow_view

router = APIRouter()


def _overview_context(request: Request, principal: Principal, as_of: str | None) -> dict[str, Any]:
    store, settings = store_of(request), settings_of(request)
    tc = time_view(request, as_of, refresh=False)  # the live part refreshes itself
    when = tc.when
    summary = data.attempt(
        "The exception summary", data.exception_summary, store, principal.owner, when
    )
    flows = data.attempt("Flow status", rules_public.flows, store, settings, when)
    families: dict[str, dict[str, Any]] = {}
    sites: set[str] = set()
    totals = {"open": 0, "acknowledged": 0, "mine": 0, "oldest_since": None}
    for row in summary.value or []:
        fam = families.setdefault(
            row["family"], {"family": row["family"], "open": 0, "oldest_since": None, "sites": {}}
        )
        fam["open"] += row["open"]
        fam["sites"][row["site"]] = row
        sites.add(row["site"])
        if fam["oldest_since"] is None or row["oldest_since"] < fam["oldest_since"]:
            fam["oldest_since"] = row["oldest_since"]
        totals["open"] += row["open"]
        totals["acknowledged"] += row["acknowledged"]
        totals["mine"] += row["mine"]
        if totals["oldest_since"] is None or row["oldest_since"] < totals["oldest_since"]:
            totals["oldest_since"] = row["oldest_since"]
    builtin = [f.name for f in rules_public.family_list()]
    ordered = [families[f] for f in builtin if f in families]
    ordered += [families[f] for f in sorted(families) if f not in builtin]
    flow_rows = [flow_view(f) for f in (flows.value or [])]
    flow_rows.sort(key=lambda f: (f["ok"], f["tier"] or 9, f["flow"]))
    return {
        "as_of": as_of or "",
        "as_of_dt": when,
        "tc": tc,
        "age_now": when or utcnow(),
        "families": ordered,
        "sites": sorted(sites, key=lambda s: (s == "", s)),
        "totals": totals,
        "summary_error": summary.error,
        "flows": flow_rows,
        "flows_error": flows.error,
        "breaching": sum(1 for f in flow_rows if not f["ok"]),
        "ingest": ingest_health(request.app.state, settings.config.ingest.spool.max_bytes),
        "refreshed_at": utcnow(),
    }


@router.get("/", response_class=HTMLResponse)
def overview(
    request: Request,
    as_of: str | None = None,
    principal: Principal = Depends(console_user("viewer")),
) -> HTMLResponse:
    return render(
        request, "overview.html", _overview_context(request, principal, as_of), principal=principal
    )


@router.get("/overview/live", response_class=HTMLResponse)
def overview_live(
    request: Request,
    as_of: str | None = None,
    principal: Principal = Depends(console_user("viewer")),
) -> HTMLResponse:
    """The refreshing part of the overview, swapped in place by htmx."""
    return render(
        request,
        "partials/overview_live.html",
        _overview_context(request, principal, as_of),
        principal=principal,
    )
