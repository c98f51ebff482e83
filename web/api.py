"""Read API: /api/transactions/{correlation_id}, /api/search and the audit log (admins)."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Path, Query, Request

from rxsight import audit
from rxsight.auth import Principal, require
from rxsight.openapi import error_responses
from web.api_models import AuditPage, AuditVerification, SearchResults, Transaction
from web.transactions import search, transaction

router = APIRouter(prefix="/api", tags=["read"], responses=error_responses(401, 403))


@router.get(
    "/transactions/{correlation_id}",
    operation_id="getTransaction",
    summary="Events (each once) and spans of one transaction, in time order; "
    "linked_events: other transactions' events sharing its PO, receipt or "
    "invoice number",
)
def get_transaction(
    request: Request,
    correlation_id: str = Path(max_length=256),
    _: Principal = Depends(require("viewer")),
) -> Transaction:
    return transaction(request.app.state.store, correlation_id)


@router.get(
    "/search",
    operation_id="searchTransactions",
    summary="Find transactions by correlation ID, PO, invoice or receipt",
)
def get_search(
    request: Request,
    q: str = Query(min_length=1, max_length=256),
    _: Principal = Depends(require("viewer")),
) -> SearchResults:
    return {"q": q, "results": search(request.app.state.store, q)}


@router.get(
    "/audit", operation_id="listAuditEntries", summary="The audit log, newest first (admins)"
)
def get_audit(
    request: Request,
    actor: str = Query("", max_length=256),
    action: str = Query("", max_length=256),
    object_type: str = Query("", max_length=256),
    object_id: str = Query("", max_length=1024),
    limit: int = Query(100, ge=1, le=1000),
    offset: int = Query(0, ge=0),
    _: Principal = Depends(require("admin")),
) -> AuditPage:
    rows, total = audit.entries(
        request.app.state.store,
        actor=actor,
        action=action,
        object_type=object_type,
        object_id=object_id,
        limit=limit,
        offset=offset,
    )
    return {"items": [audit.as_json(r) for r in rows], "total": total}


@router.get(
    "/audit/verify",
    operation_id="verifyAuditChain",
    summary="Check the audit log's hash chain (admins)",
)
def get_audit_verify(
    request: Request,
    anchor: str | None = Query(None, max_length=200, description="SEQ:HASH from a past check"),
    _: Principal = Depends(require("admin")),
) -> AuditVerification:
    return audit.verify(request.app.state.store, anchor).as_json()
