"""Exceptions pages: the filtered, sorted, paged list; one exception with history and actions."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, Response

import rules.public as rules_public
from rxsight import audit
from rxsight.auth import Principal
from rxsight.authz import Action, Resource, authorize
from web import data
from web.deps import ConsoleError, console_user, render, settings_of, store_of
from web.downloads import MAX_ROWS, csv_response, wants_csv
from web.timecontrol import time_view
from web.views import ENTITY_FIELDS, details_of, entity_label, flow_view, invoice_lines, search_key

router = APIRouter()

PAGE_SIZE = 50
# "active" = open or acknowledged: what still needs someone.
STATUSES = ("active", "open", "acknowledged", "resolved")
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
    as_of: str | None = None,
    range: str = "",  # noqa: A002 - the time control's parameter name
    q: str = "",
    sort: str = "age",
    due: str = "",
    assignee: str = "",
    priority: str = "",
    supplier: str = "",
    item: str = "",
    flow: str = "",
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
    # "started within" is the time control's range before its instant (`age` is the
    # parameter older links carry).
    tc = time_view(request, as_of, range or age, site=site or None)
    if sort not in SORTS:
        problems.append(f"sort: {sort!r} is not one of {', '.join(SORTS)}")
        sort = "age"
    config = request.app.state.settings.config
    assignable = config.assignees()
    if assignee == "me":
        # My items: assigned to me or to a team I am in.
        assigned_to: list[str] | None = [principal.name, *config.teams_of(principal.name)]
    elif assignee == "nobody":
        assigned_to = [""]
    elif assignee:
        assigned_to = [assignee]
    else:
        assigned_to = None
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
        since=tc.since,
        as_of=tc.when,
        q=q.strip() or None,
        sort=sort,
        # A download carries every matching exception, not one page of them.
        limit=MAX_ROWS if download else PAGE_SIZE,
        offset=0 if download else (page - 1) * PAGE_SIZE,
        due=due or None,
        sla=sla_clock(request),
        assignees=assigned_to,
        priority=priority or None,
        supplier=supplier.strip() or None,
        item=item.strip() or None,
        flow=flow or None,
        count_cap=rules_public.COUNT_CAP,
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
    facets = data.attempt("Filter choices", data.exception_facets, store, family)
    if facets.value is not None:
        # Every built-in family can be chosen, whether or not it has exceptions yet.
        seen = facets.value["families"]
        builtin = [f.name for f in rules_public.family_list()]
        facets.value["families"] = builtin + [f for f in seen if f not in builtin]
        # And every reason of the chosen family (of every family when none is chosen).
        reasons = [
            r
            for f in rules_public.family_list()
            if not family or f.name == family
            for r in f.reasons
        ]
        reasons.extend(facets.value["reasons"])
        facets.value["reasons"] = list(dict.fromkeys(reasons))
    names = data.attempt(
        "Names",
        data.names,
        store,
        [r.get("correlation_id") for r in rows],
        [("supplier", r.get("supplier_id")) for r in rows],
    )
    # Past the cap the count is "more than COUNT_CAP": the pager offers a next page while
    # this one is full.
    capped = total > rules_public.COUNT_CAP
    total = min(total, rules_public.COUNT_CAP)
    pages = max((total + PAGE_SIZE - 1) // PAGE_SIZE, 1)
    context = {
        "rows": [
            {**r, "entity": entity_label(r), "url": exception_url(r["exception_id"])} for r in rows
        ],
        "total": total,
        "total_capped": capped,
        "full_page": len(rows) == PAGE_SIZE,
        "names": names.value or data.NO_NAMES,
        "page": page,
        "pages": pages,
        "page_size": PAGE_SIZE,
        "error": outcome.error,
        "problems": problems,
        "facets": facets.value or data.NO_FACETS,
        "f": {
            "family": family,
            "reason": reason,
            "site": site,
            "owner": owner,
            "status": status,
            "q": q,
            "sort": sort,
            "due": due,
            "assignee": assignee,
            "priority": priority,
            "supplier": supplier,
            "item": item,
            "flow": flow,
        },
        "assignees": assignable,
        "may_bulk": principal.can("operator"),
        "due_states": DUE_LABELS,
        "statuses": STATUSES,
        "tc": tc,
        "tc_ranges": True,
        "tc_ranges_any": "started any time",
        "sorts": SORTS,
    }
    return render(request, "exceptions.html", context, principal=principal)


_STORE_TIME = re.compile(r"^\d{4}-\d{2}-\d{2}[ T]\d{2}:\d{2}:\d{2}(\.\d+)?Z?$")


def store_instant(value: Any) -> datetime | None:
    """A time the rules stage wrote into a finding's details ("2026-11-30 22:30:32.688",
    UTC, down to nanoseconds), so the page can show it in the site's zone."""
    if not isinstance(value, str) or not _STORE_TIME.match(value):
        return None
    head, _, frac = value.removesuffix("Z").replace("T", " ").partition(".")
    return datetime.fromisoformat(f"{head}.{(frac + '000000')[:6]}").replace(tzinfo=UTC)


def _flow_now(
    request: Request, exc: dict[str, Any], as_of: datetime | None
) -> dict[str, Any] | None:
    """An SLA breach's flow as it is now (or at the instant looked at): the summary holds
    the figures at opening."""
    if exc.get("family") != "sla_breach" or not exc.get("flow"):
        return None
    found = data.attempt(
        "Flow status", rules_public.flows, store_of(request), request.app.state.settings, as_of
    )
    row = next((f for f in found.value or [] if f.flow == exc["flow"]), None)
    return flow_view(row) if row else None


@router.get("/exceptions/{exception_id:path}", response_class=HTMLResponse)
def exception_detail(
    request: Request,
    exception_id: str,
    as_of: str | None = None,
    principal: Principal = Depends(console_user("viewer")),
) -> HTMLResponse:
    store = store_of(request)
    # The exception as it stood at the instant: its state, history and SLA clock then.
    tc = time_view(request, as_of, refresh=False)
    found = data.attempt("The exception", rules_public.get_exception, store, exception_id, tc.when)
    if found.error:
        raise ConsoleError(503, found.error)
    exc = found.value
    if exc is None and tc.when is not None:
        raise ConsoleError(
            404,
            f"Exception {exception_id!r} did not exist yet as of {tc.local}.",
            hint="Look at a later instant, or at now.",
        )
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
            until=tc.when,
        )
    clock = sla_clock(request).clock(exc, tc.at)
    names = data.attempt(
        "Names",
        data.names,
        store,
        [exc.get("correlation_id")],
        [("supplier", exc.get("supplier_id"))],
    )
    details = details_of(exc)
    tolerance = rules_public.price_tolerance(settings_of(request), exc.get("site") or None)
    lines = invoice_lines(exc, details, tolerance)
    if lines is not None:
        details = {k: v for k, v in details.items() if k != "lines"}
    details = {k: store_instant(v) or v for k, v in details.items()}
    context = {
        "exc": exc,
        "clock": clock,
        "time_details": [k for k, v in details.items() if isinstance(v, datetime)],
        "flow_now": _flow_now(request, exc, tc.when),
        "names": names.value or data.NO_NAMES,
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
        "assignees": request.app.state.settings.config.assignees(),
        "action_url": exception_url(exception_id) + "/actions",
        "tc": tc,
    }
    return render(request, "exception.html", context, principal=principal)
