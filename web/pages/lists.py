"""Open replenishments, rule status and (for admins) the audit log."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse

import rules.public as rules_public
from rxsight import audit
from rxsight.auth import Principal
from rxsight.timeutil import utcnow
from web import data
from web.deps import console_user, render, settings_of, store_of
from web.pages.overview import parse_as_of

router = APIRouter()

AUDIT_PAGE = 100


@router.get("/replenishments", response_class=HTMLResponse)
def replenishments_page(
    request: Request,
    as_of: str | None = None,
    site: str = "",
    late: str = "",
    principal: Principal = Depends(console_user("viewer")),
) -> HTMLResponse:
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
    principal: Principal = Depends(console_user("admin")),
) -> HTMLResponse:
    page = max(page, 1)
    outcome = data.attempt(
        "The audit log",
        audit.entries,
        store_of(request),
        actor=actor.strip(),
        action=action.strip(),
        object_id=object_id.strip(),
        limit=AUDIT_PAGE,
        offset=(page - 1) * AUDIT_PAGE,
    )
    rows, total = outcome.value or ([], 0)
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
