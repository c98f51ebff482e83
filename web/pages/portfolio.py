"""The portfolio page (DESIGN 5.8): every flow and source system for the quarterly sprawl
review, with its governance status; downloadable as CSV and XLSX."""

from __future__ import annotations

from collections import Counter

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, Response

import rules.public as rules_public
from rxsight.auth import Principal
from rxsight.timeutil import rfc3339
from web import data
from web.deps import ConsoleError, console_user, render, settings_of, store_of
from web.downloads import csv_response, wants_csv, wants_xlsx, xlsx_response
from web.timecontrol import time_view

router = APIRouter()
KINDS = {"": "Flows and source systems", "flow": "Flows", "source_system": "Source systems"}


def _days(text: str) -> float:
    if not text.strip():
        return rules_public.PORTFOLIO_DEFAULT_DAYS
    try:
        days = float(text)
    except ValueError:
        days = -1.0
    if not 0 < days <= rules_public.PORTFOLIO_MAX_DAYS:
        raise ConsoleError(
            400,
            f"days: {text!r} is not a number of days from 1 to {rules_public.PORTFOLIO_MAX_DAYS}",
            hint="A quarter is 91 days, the default.",
        )
    return days


@router.get("/portfolio", response_class=HTMLResponse)
def portfolio_page(
    request: Request,
    as_of: str | None = None,
    days: str = "",
    kind: str = "",
    format: str = "",
    principal: Principal = Depends(console_user("viewer")),
) -> Response:
    tc = time_view(request, as_of, refresh=False)
    period_days = _days(days)
    if kind not in KINDS:
        raise ConsoleError(400, f"kind: {kind!r} is not one of flow, source_system")
    store, settings = store_of(request), settings_of(request)
    outcome = data.attempt("Portfolio", rules_public.portfolio, store, settings, tc.at, period_days)
    found = outcome.value
    entries = [e for e in (found.entries if found else []) if not kind or e.kind == kind]
    if wants_csv(format) or wants_xlsx(format):
        if outcome.error or found is None:
            raise ConsoleError(503, outcome.error or "the portfolio could not be read")
        rows = [e.row() for e in entries]
        if wants_csv(format):
            return csv_response(
                request, principal, "portfolio", rules_public.PORTFOLIO_COLUMNS, rows
            )
        about = [
            ("as of", rfc3339(found.as_of) or ""),
            ("period", f"{rfc3339(found.start)} to {rfc3339(found.as_of)} ({found.days:g} days)"),
            ("status", "the governance finding as of the instant (24 h window), else ok"),
        ]
        return xlsx_response(
            request, principal, "portfolio", rules_public.PORTFOLIO_COLUMNS, rows, about
        )
    counts = Counter(e.status for e in entries)
    return render(
        request,
        "portfolio.html",
        {
            "entries": entries,
            "found": found,
            "error": outcome.error,
            "counts": counts,
            "registered": sum(1 for e in entries if e.registered),
            "kinds": KINDS,
            "kind": kind,
            "days": days or f"{rules_public.PORTFOLIO_DEFAULT_DAYS:g}",
            "tc": tc,
        },
        principal=principal,
    )
