"""Open replenishments, rule status and (for admins) the audit log."""

from __future__ import annotations

from dataclasses import asdict

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, Response

import rules.public as rules_public
from rxsight import audit
from rxsight.auth import Principal
from rxsight.timeutil import utcnow
from web import data
from web.deps import ConsoleError, console_user, render, settings_of, store_of
from web.downloads import MAX_ROWS, csv_response, wants_csv
from web.timecontrol import time_view

router = APIRouter()

AUDIT_PAGE = 100
REPLENISHMENT_PAGE = 50
REPLENISHMENT_COLUMNS = (
    "correlation_id",
    "site",
    "item_id",
    "quantity",
    "priority",
    "po_numbers",
    "received",
    "ordered",
    "requested_at",
    "due_at",
    "late",
    "stage",
)
AUDIT_COLUMNS = ("seq", "at", "actor", "action", "object_type", "object_id", "detail")


@router.get("/replenishments", response_class=HTMLResponse)
def replenishments_page(
    request: Request,
    as_of: str | None = None,
    site: str = "",
    late: str = "",
    priority: str = "",
    item: str = "",
    page: int = 1,
    format: str = "",
    principal: Principal = Depends(console_user("viewer")),
) -> Response:
    tc = time_view(request, as_of, site=site or None)
    when = tc.when
    outcome = data.attempt(
        "Open replenishments",
        rules_public.open_replenishments,
        store_of(request),
        settings_of(request),
        when,
    )
    rows = outcome.value or []
    sites = sorted({r.site or "" for r in rows})
    priorities = sorted({r.priority or "routine" for r in rows})
    wanted_item = item.strip().lower()
    rows = [
        r
        for r in rows
        if (not site or (r.site or "") == site)
        and (late != "yes" or r.late)
        and (not priority or (r.priority or "routine") == priority)
        and (not wanted_item or str(r.item_id or "").lower().startswith(wanted_item))
    ]
    rows.sort(key=lambda r: (not r.late, r.requested_at or ""))
    if wants_csv(format):
        if outcome.error:
            raise ConsoleError(503, outcome.error)
        return csv_response(
            request, principal, "replenishments", REPLENISHMENT_COLUMNS, map(asdict, rows)
        )
    pages = max((len(rows) + REPLENISHMENT_PAGE - 1) // REPLENISHMENT_PAGE, 1)
    page = min(max(page, 1), pages)
    start = (page - 1) * REPLENISHMENT_PAGE
    shown = rows[start : start + REPLENISHMENT_PAGE]
    names = data.attempt("Names", data.names, store_of(request), [r.correlation_id for r in shown])
    return render(
        request,
        "replenishments.html",
        {
            "rows": shown,
            "names": names.value or data.NO_NAMES,
            "total": len(rows),
            "late_total": sum(1 for r in rows if r.late),
            "page": page,
            "pages": pages,
            "error": outcome.error,
            "as_of": as_of or "",
            "at": when or utcnow(),
            "sites": sites,
            "priorities": priorities,
            "f": {"site": site, "late": late, "priority": priority, "item": item},
            "tc": tc,
        },
        principal=principal,
    )


@router.get("/rules", response_class=HTMLResponse)
def rules_page(
    request: Request, principal: Principal = Depends(console_user("viewer"))
) -> HTMLResponse:
    outcome = data.attempt("Rule status", rules_public.rule_status, request.app.state.runtime)
    return render(
        request,
        "rules.html",
        {
            "rules": outcome.value or [],
            "error": outcome.error,
            "tc": time_view(request, None),
            "tc_now_only": True,
        },
        principal=principal,
    )


@router.get("/audit", response_class=HTMLResponse)
def audit_page(
    request: Request,
    actor: str = "",
    action: str = "",
    object_id: str = "",
    as_of: str | None = None,
    range: str = "",  # noqa: A002 - the time control's parameter name
    page: int = 1,
    format: str = "",
    principal: Principal = Depends(console_user("admin")),
) -> Response:
    page = max(page, 1)
    download = wants_csv(format)
    # The log as it stood at the instant (what was written by then), over the range before it.
    tc = time_view(request, as_of, range, refresh=False)
    outcome = data.attempt(
        "The audit log",
        audit.entries,
        store_of(request),
        actor=actor.strip(),
        action=action.strip(),
        object_id=object_id.strip(),
        limit=MAX_ROWS if download else AUDIT_PAGE,
        offset=0 if download else (page - 1) * AUDIT_PAGE,
        since=tc.since,
        until=tc.when,
    )
    rows, total = outcome.value or ([], 0)
    if download:
        if outcome.error:
            raise ConsoleError(503, outcome.error)
        return csv_response(request, principal, "audit", AUDIT_COLUMNS, rows)
    return render(
        request,
        "audit.html",
        {
            "rows": rows,
            "total": total,
            "page": page,
            "pages": max((total + AUDIT_PAGE - 1) // AUDIT_PAGE, 1),
            "error": outcome.error,
            "f": {"actor": actor, "action": action, "object_id": object_id},
            "tc": tc,
            "tc_ranges": True,
        },
        principal=principal,
    )
