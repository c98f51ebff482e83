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
from web.pages.overview import parse_as_of

router = APIRouter()

AUDIT_PAGE = 100
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
    format: str = "",
    principal: Principal = Depends(console_user("viewer")),
) -> Response:
    when = parse_as_of(as_of)
    outcome = data.attempt(
        "Open replenishments",
        rules_public.open_replenishments,
        store_of(request),
        settings_of(request),
        when,
    )
    rows = outcome.value or []
    sites = sorted({r.site or "" for r in rows})
    if site:
        rows = [r for r in rows if (r.site or "") == site]
    if late == "yes":
        rows = [r for r in rows if r.late]
    rows.sort(key=lambda r: (not r.late, r.requested_at or ""))
    if wants_csv(format):
        if outcome.error:
            raise ConsoleError(503, outcome.error)
        return csv_response(
            request, principal, "replenishments", REPLENISHMENT_COLUMNS, map(asdict, rows)
        )
    return render(
        request,
        "replenishments.html",
        {
            "rows": rows,
            "error": outcome.error,
            "as_of": as_of or "",
            "at": when or utcnow(),
            "sites": sites,
            "site": site,
            "late": late,
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
        {"rules": outcome.value or [], "error": outcome.error},
        principal=principal,
    )


@router.get("/audit", response_class=HTMLResponse)
def audit_page(
    request: Request,
    actor: str = "",
    action: str = "",
    object_id: str = "",
    page: int = 1,
    format: str = "",
    principal: Principal = Depends(console_user("admin")),
) -> Response:
    page = max(page, 1)
    download = wants_csv(format)
    outcome = data.attempt(
        "The audit log",
        audit.entries,
        store_of(request),
        actor=actor.strip(),
        action=action.strip(),
        object_id=object_id.strip(),
        limit=MAX_ROWS if download else AUDIT_PAGE,
        offset=0 if download else (page - 1) * AUDIT_PAGE,
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
        },
        principal=principal,
    )
