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
    download = wants_csv(format)
    page = max(page, 1)
    outcome = data.attempt(
        "Open replenishments",
        rules_public.replenishments_page,
        store_of(request),
        settings_of(request),
        when,
        site=site,
        priority=priority,
        item=item,
        late_only=late == "yes",
        limit=MAX_ROWS if download else REPLENISHMENT_PAGE,
        offset=0 if download else (page - 1) * REPLENISHMENT_PAGE,
    )
    found = outcome.value
    rows = found.rows if found else []
    if download:
        if outcome.error:
            raise ConsoleError(503, outcome.error)
        return csv_response(
            request, principal, "replenishments", REPLENISHMENT_COLUMNS, map(asdict, rows)
        )
    total = found.total if found else 0
    pages = max((total + REPLENISHMENT_PAGE - 1) // REPLENISHMENT_PAGE, 1)
    names = data.attempt("Names", data.names, store_of(request), [r.correlation_id for r in rows])
    return render(
        request,
        "replenishments.html",
        {
            "rows": rows,
            "names": names.value or data.NO_NAMES,
            "total": total,
            "late_total": found.late_total if found else 0,
            "page": min(page, pages),
            "pages": pages,
            "error": outcome.error,
            "as_of": as_of or "",
            "at": when or utcnow(),
            "sites": found.sites if found else [],
            "priorities": found.priorities if found else [],
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
