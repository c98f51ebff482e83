"""Exceptions pages: the filtered, sorted, paged list; one exception with history and actions."""

from __future__ import annotations

from datetime import timedelta
from typing import Any
from urllib.parse import quote

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, Response

import rules.public as rules_public
from rxsight import audit
from rxsight.auth import Principal
from rxsight.authz import Action, Resource, authorize
from rxsight.timeutil import utcnow
from web import data
from web.deps import ConsoleError, console_user, redirect, render, settings_of, store_of
from web.downloads import MAX_ROWS, csv_response, wants_csv
from web.views import ENTITY_FIELDS, details_of, entity_label, invoice_lines, search_key

router = APIRouter()

PAGE_SIZE = 50
# "active" = open or acknowledged: what still needs someone.
STATUSES = ("active", "open", "acknowledged", "resolved")
# Age filter: exceptions whose condition started within this long (rules.list_exceptions
# filters `since >= now - age`).
AGES = {
    "1h": timedelta(hours=1),
    "4h": timedelta(hours=4),
    "24h": timedelta(days=1),
    "72h": timedelta(days=3),
    "7d": timedelta(days=7),
}
# The orders rules.list_exceptions offers.
SORTS = {
    "due": "SLA due first",
    "age": "oldest first",
    "recent": "recently changed first",
    "severity": "most severe first",
}
EXCEPTION_COLUMNS = (
    "exception_id",
    "family",
    "reason",
    "status",
    "severity",
    "owner",
    "assignee",
    "site",
    "flow",
    "entity",
    "since",
    "opened_at",
    "at",
    "summary",
)
# The SLA clock's states, as the filter offers them.
DUE_LABELS = {
    "overdue": "overdue",
    "due_soon": "due soon",
    "on_time": "on time",
    "met": "met",
    "none": "no SLA",
}
ACTION_DONE = {
    "ack": "Acknowledged.",
    "assign": "Assigned.",
    "comment": "Comment added.",
    "resolve": "Resolved.",
    "reopen": "Reopened.",
}


def sla_clock(request: Request) -> rules_public.SlaClock:
    return rules_public.sla_clock(request.app.state.settings)


def exception_url(exception_id: str) -> str:
    return "/exceptions/" + quote(exception_id, safe="")


def may_act(principal: Principal, exc: dict[str, Any]) -> tuple[bool, str | None]:
    """The kernel's decision, with its reason worded for the page."""
    resource = Resource.exception(exc["exception_id"], exc.get("owner"))
    decision = authorize(principal, Action.EXCEPTION_ACT, resource)
    if decision:
        return True, None
    return False, decision.reason[:1].upper() + decision.reason[1:] + "."


@router.get("/exceptions", response_class=HTMLResponse)
def exceptions_list(
    request: Request,
    family: str = "",
    reason: str = "",
    site: str = "",
    owner: str | None = None,
    status: str = "active",
    age: str = "",
    q: str = "",
    sort: str = "age",
    due: str = "",
    page: int = 1,
    format: str = "",
    principal: Principal = Depends(console_user("viewer")),
) -> Response:
    store = store_of(request)
    download = wants_csv(format)
    problems = []
    if due and due not in rules_public.DUE_STATES:
        problems.append(f"due: {due!r} is not one of {', '.join(rules_public.DUE_STATES)}")
        due = ""
    if status and status not in STATUSES and status != "any":
        problems.append(f"status: {status!r} is not one of {', '.join(STATUSES)}")
        status = "active"
    if age and age not in AGES:
        problems.append(f"age: {age!r} is not one of {', '.join(AGES)}")
        age = ""
    if sort not in SORTS:
        problems.append(f"sort: {sort!r} is not one of {', '.join(SORTS)}")
        sort = "age"
    page = max(page, 1)
    # A user with an owner scope sees that owner's exceptions unless they ask for all.
    if owner is None:
        owner = principal.owner or "all"
    owner_filter = None if owner in ("all", "") else owner
    outcome = data.attempt(
        "The exception list",
        rules_public.list_exceptions,
        store,
        family=family or None,
        reason=reason or None,
        status=None if status in ("any", "") else status,
        site=site or None,
        owner=owner_filter,
        since=(utcnow() - AGES[age]) if age else None,
        q=q.strip() or None,
        sort=sort,
        # A download carries every matching exception, not one page of them.
        limit=MAX_ROWS if download else PAGE_SIZE,
        offset=0 if download else (page - 1) * PAGE_SIZE,
        due=due or None,
        sla=sla_clock(request),
    )
    if download and outcome.error:
        raise ConsoleError(503, outcome.error)
    rows, total = outcome.value if outcome.value is not None else ([], 0)
    if download:
        return csv_response(
            request,
            principal,
            "exceptions",
            EXCEPTION_COLUMNS,
            ({**r, "entity": entity_label(r)} for r in rows),
        )
    facets = data.attempt("Filter choices", data.exception_facets, store)
    if facets.value is not None:
        # Every built-in family can be chosen, whether or not it has exceptions yet.
        seen = facets.value["families"]
        builtin = [f.name for f in rules_public.family_list()]
        facets.value["families"] = builtin + [f for f in seen if f not in builtin]
    pages = max((total + PAGE_SIZE - 1) // PAGE_SIZE, 1)
    context = {
        "rows": [
            {**r, "entity": entity_label(r), "url": exception_url(r["exception_id"])} for r in rows
        ],
        "total": total,
        "page": page,
        "pages": pages,
        "page_size": PAGE_SIZE,
        "error": outcome.error,
        "problems": problems,
        "facets": facets.value or {"families": [], "reasons": [], "sites": [], "owners": []},
        "f": {
            "family": family,
            "reason": reason,
            "site": site,
            "owner": owner,
            "status": status,
            "age": age,
            "q": q,
            "sort": sort,
            "due": due,
        },
        "due_states": DUE_LABELS,
        "statuses": STATUSES,
        "ages": AGES,
        "sorts": SORTS,
    }
    return render(request, "exceptions.html", context, principal=principal)


@router.get("/exceptions/{exception_id:path}", response_class=HTMLResponse)
def exception_detail(
    request: Request,
    exception_id: str,
    principal: Principal = Depends(console_user("viewer")),
) -> HTMLResponse:
    store = store_of(request)
    found = data.attempt("The exception", rules_public.get_exception, store, exception_id)
    if found.error:
        raise ConsoleError(503, found.error)
    exc = found.value
    if exc is None:
        raise ConsoleError(
            404,
            f"No exception with id {exception_id!r}.",
            hint="It may have been mistyped; find it from the exceptions list.",
        )
    allowed, why_not = may_act(principal, exc)
    history = list(exc.get("history") or [])
    audit_rows = None
    if principal.can("admin"):
        audit_rows = data.attempt(
            "The audit log",
            audit.entries,
            store,
            actor="",
            action="",
            object_id=exception_id,
            limit=50,
            offset=0,
        )
    users = sorted(u.username for u in request.app.state.settings.config.users)
    clock = sla_clock(request).clock(exc, utcnow())
    details = details_of(exc)
    tolerance = rules_public.price_tolerance(settings_of(request), exc.get("site") or None)
    lines = invoice_lines(exc, details, tolerance)
    if lines is not None:
        details = {k: v for k, v in details.items() if k != "lines"}
    context = {
        "exc": exc,
        "clock": clock,
        "entity": entity_label(exc),
        "details": details,
        "invoice_lines": lines,
        "entity_fields": [
            (label, key, exc.get(key)) for key, label in ENTITY_FIELDS if exc.get(key)
        ],
        "timeline_q": search_key(exc),
        "history": history,
        "comments": [h for h in history if h.get("comment")],
        "may_act": allowed,
        "why_not": why_not,
        "audit": audit_rows.value[0] if audit_rows and audit_rows.value else None,
        "audit_error": audit_rows.error if audit_rows else None,
        "users": users,
        "action_url": exception_url(exception_id) + "/actions",
    }
    return render(request, "exception.html", context, principal=principal)


@router.post("/exceptions/{exception_id:path}/actions")
def exception_action(
    request: Request,
    exception_id: str,
    action: str = Form(...),
    comment: str = Form(""),
    assignee: str = Form(""),
    principal: Principal = Depends(console_user("operator")),
) -> Response:
    store = store_of(request)
    back = exception_url(exception_id)
    if action not in rules_public.ACTIONS:
        choices = ", ".join(rules_public.ACTIONS)
        raise ConsoleError(400, f"action: {action!r} is not one of {choices}")
    found = data.attempt("The exception", rules_public.get_exception, store, exception_id)
    if found.error:
        raise ConsoleError(503, found.error)
    if found.value is None:
        raise ConsoleError(404, f"No exception with id {exception_id!r}.")
    allowed, why_not = may_act(principal, found.value)
    if not allowed:
        raise ConsoleError(403, why_not or "not allowed")
    comment = comment.strip()
    assignee = assignee.strip()
    if action == "comment" and not comment:
        return redirect(back, error="Write a comment before adding it.")
    if action == "resolve" and not comment:
        return redirect(back, error="Say what was done before resolving.")
    if action == "assign" and not assignee:
        return redirect(back, error="Choose who to assign it to.")
    try:
        rules_public.act(
            store,
            exception_id,
            action,
            principal.name,
            comment=comment or None,
            assignee=assignee or None,
        )
    except KeyError as exc:
        raise ConsoleError(404, f"No exception with id {exception_id!r}.") from exc
    except ValueError as exc:
        return redirect(back, error=f"Could not {action}: {exc}")
    return redirect(back, flash=ACTION_DONE[action])
