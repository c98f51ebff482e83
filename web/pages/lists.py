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
from web.timecontrol import time_view

router = APIRouter()

AUDIT_PAGE = 100
REPLENISHMENT_PAGE = 50


@router.get("/replenishments", response_class=HTMLResponse)
def replenishments_page(
    request: Request,
    as_of: str | None = None,
    site: str = "",
    late: str = "",
    priority: str = "",
    item: str = "",
    page: int = 1,
    principal: Principal = Depends(console_user("viewer")),
) -> HTMLResponse:
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
    sites = sorted({r.get("site") or "" for r in rows})
    priorities = sorted({r.get("priority") or "routine" for r in rows})
    wanted_item = item.strip().lower()
    rows = [
        r
        for r in rows
        if (not site or (r.get("site") or "") == site)
        and (late != "yes" or r.get("late"))
        and (not priority or (r.get("priority") or "routine") == priority)
        and (not wanted_item or str(r.get("item_id") or "").lower().startswith(wanted_item))
    ]
    rows.sort(key=lambda r: (not r.get("late"), str(r.get("requested_at") or "")))
    pages = max((len(rows) + REPLENISHMENT_PAGE - 1) // REPLENISHMENT_PAGE, 1)
    page = min(max(page, 1), pages)
    start = (page - 1) * REPLENISHMENT_PAGE
    shown = rows[start : start + REPLENISHMENT_PAGE]
    names = data.attempt(
        "Names", data.names, store_of(request), [r["correlation_id"] for r in shown]
    )
    return render(
        request,
        "replenishments.html",
        {
            "rows": shown,
            "names": names.value or data.NO_NAMES,
            "total": len(rows),
            "late_total": sum(1 for r in rows if r.get("late")),
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
