"""Read API: /api/transactions/{correlation_id} and /api/search."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, HTTPException, Query, Request

from rxsight.auth import Principal, require
from web.transactions import search, transaction

router = APIRouter(prefix="/api", tags=["read"])


@router.get(
    "/transactions/{correlation_id}",
    summary="Events (each once) and spans of one transaction, in time order; "
    "linked_events: other transactions' events sharing its PO, receipt or "
    "invoice number",
)
def get_transaction(
    correlation_id: str, request: Request, _: Principal = Depends(require("viewer"))
) -> dict[str, Any]:
    if len(correlation_id) > 256:
        raise HTTPException(422, "correlation_id: longer than 256 characters")
    return transaction(request.app.state.store, correlation_id)


@router.get("/search", summary="Find transactions by correlation ID, PO, invoice or receipt")
def get_search(
    request: Request,
    q: str = Query(min_length=1, max_length=256),
    _: Principal = Depends(require("viewer")),
) -> dict[str, Any]:
    return {"q": q, "results": search(request.app.state.store, q)}
