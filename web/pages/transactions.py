"""Transaction pages: search by correlation ID, PO, invoice or receipt; one timeline."""

from __future__ import annotations

from functools import cache
from urllib.parse import quote

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

import rules.public as rules_public
from rxsight.auth import Principal
from rxsight.store import StoreUnavailable
from web import data, timeline
from web.deps import ConsoleError, console_user, render, settings_of, store_of
from web.pages.exceptions import exception_url
from web.timecontrol import time_view
from web.transactions import search, transaction
from web.ui import time_query
from web.views import entity_label

router = APIRouter()

# The transaction that starts a chain is the one to show when a key names several.
ORIGIN_TYPES = ("replenishment.requested", "po.created")


def _pick(results: list[dict]) -> str | None:
    ids = {r["correlation_id"] for r in results}
    if len(ids) == 1:
        return next(iter(ids))
    for etype in ORIGIN_TYPES:
        origins = {r["correlation_id"] for r in results if etype in (r.get("event_types") or [])}
        if len(origins) == 1:
            return next(iter(origins))
    return None


@router.get("/transactions", response_class=HTMLResponse)
def transactions_search(
    request: Request,
    q: str = "",
    as_of: str | None = None,
    principal: Principal = Depends(console_user("viewer")),
) -> Response:
    q = q.strip()
    tc = time_view(request, as_of, refresh=False)
    results: list[dict] = []
    if q:
        if len(q) > 256:
            raise ConsoleError(400, "The search text is longer than 256 characters.")
        try:
            results = search(store_of(request), q, tc.when)
        except StoreUnavailable as exc:
            raise ConsoleError(503, f"The store cannot be read right now: {exc}") from exc
        chosen = _pick(results)
        if chosen is not None and request.query_params.get("list") is None:
            return RedirectResponse(
                f"/transactions/{quote(chosen, safe='')}?q={quote(q, safe='')}"
                + time_query(request, "&"),
                status_code=303,
            )
    context = {"q": q, "results": results, "tc": tc}
    return render(request, "transactions.html", context, principal=principal)


@router.get("/transactions/{correlation_id:path}", response_class=HTMLResponse)
def transaction_page(
    request: Request,
    correlation_id: str,
    q: str = "",
    as_of: str | None = None,
    principal: Principal = Depends(console_user("viewer")),
) -> HTMLResponse:
    if len(correlation_id) > 256:
        raise ConsoleError(400, "The correlation ID is longer than 256 characters.")
    store = store_of(request)
    # The transaction as it stood at the instant: what had happened by then.
    tc = time_view(request, as_of, refresh=False)
    try:
        tx = transaction(store, correlation_id, tc.when)
    except StoreUnavailable as exc:
        raise ConsoleError(503, f"The store cannot be read right now: {exc}") from exc
    if not tx["events"] and not tx["spans"]:
        if tc.when is not None:
            raise ConsoleError(
                404,
                f"Nothing had happened to correlation ID {correlation_id!r} as of {tc.local}.",
                hint="Look at a later instant, or at now.",
            )
        raise ConsoleError(
            404,
            f"Nothing is stored for correlation ID {correlation_id!r}.",
            hint="Search by PO, invoice or receipt number instead, or check that the systems "
            "send this correlation ID.",
        )
    settings = settings_of(request)
    view = timeline.build(tx, cache(lambda site: rules_public.price_tolerance(settings, site)))
    exceptions = data.attempt(
        "Exceptions for this transaction",
        data.transaction_exceptions,
        store,
        correlation_id,
        view.keys["po_number"],
        view.keys["invoice_number"],
        view.keys["receipt_id"],
        tc.when,
    )
    timeline.with_open_exceptions(view, exceptions.value or [])
    names = data.attempt("Names", data.names, store, [correlation_id])
    exc_rows = [
        {**e, "entity": entity_label(e), "url": exception_url(e["exception_id"])}
        for e in exceptions.value or []
    ]
    return render(
        request,
        "transaction.html",
        {
            "tx": view,
            "q": q,
            "exceptions": exc_rows,
            "exceptions_error": exceptions.error,
            "tc": tc,
            "names": {k: v for kind in names.value.values() for k, v in kind.items()}
            if names.value
            else {},
        },
        principal=principal,
    )
