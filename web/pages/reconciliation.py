"""The month-end reconciliation page: every goods receipt of a month, what the dock received
beside what the ERP booked and the GL journaled, the differences first; CSV and XLSX."""

from __future__ import annotations

from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse

import metrics.public as metrics_public
from rxsight.auth import Principal
from rxsight.timeutil import rfc3339
from web import data
from web.deps import ConsoleError, console_user, render, settings_of, store_of
from web.timecontrol import time_view

router = APIRouter()


@router.get("/reconciliation", response_class=HTMLResponse)
def month_end_page(
    request: Request,
    month: str = "",
    as_of: str | None = None,
    principal: Principal = Depends(console_user("viewer")),
) -> HTMLResponse:
    tc = time_view(request, as_of, refresh=False)
    when = tc.at
    try:
        chosen = metrics_public.period_of("month", month.strip() or None, when)
    except ValueError as exc:
        raise ConsoleError(400, str(exc), hint="Name the month like 2026-11.") from exc
    outcome = data.attempt(
        "The month's receipts",
        metrics_public.month_end,
        store_of(request),
        settings_of(request),
        chosen,
        when,
    )
    query = {"month": chosen.label}
    if as_of:
        query["as_of"] = rfc3339(when) or ""
    downloads = [
        (fmt.upper(), f"/api/reconciliation/month-end?{urlencode({**query, 'format': fmt})}")
        for fmt in metrics_public.MONTH_END_FORMATS
    ]
    result = outcome.value
    return render(
        request,
        "reconciliation.html",
        {
            "month": chosen,
            "as_of": as_of or "",
            "when": when,
            "rows": result.rows if result else [],
            "differing": result.differing if result else 0,
            "downloads": downloads,
            "error": outcome.error,
            "earlier": f"/reconciliation?{urlencode({**query, 'month': chosen.previous().label})}",
            "later": f"/reconciliation?{urlencode({**query, 'month': chosen.following().label})}",
        },
        principal=principal,
    )
