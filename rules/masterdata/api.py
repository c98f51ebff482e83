"""HTTP API of the crosswalk: load a file of one kind (admin), search what is in force, an
entity's history."""

from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter, Depends, HTTPException, Query, Request
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from rules.masterdata import crosswalk
from rules.masterdata.api_models import Entities, EntityHistory, LoadAnswer
from rules.masterdata.rows import KINDS, FileRefused, read_file
from rxsight.auth import Principal, enforce, require
from rxsight.authz import Action, Resource
from rxsight.model import QueryInstant
from rxsight.openapi import ErrorBody, error_responses
from rxsight.runtime import Runtime
from rxsight.timeutil import rfc3339

router = APIRouter(prefix="/masterdata", tags=["masterdata"], responses=error_responses(401, 403))
Kind = Literal["items", "suppliers", "sites", "cost_centers"]
MAX_FILE_BYTES = 32 << 20


def _runtime(request: Request) -> Runtime:
    return request.app.state.runtime


# The file's bytes, whatever Content-Type says: CSV (a header row) or YAML, told apart by the
# `filename` or the first line. Documented as one binary body: client generators take that.
_FILE_BODY = {"type": "string", "format": "binary", "description": "a CSV or YAML file"}


@router.put(
    "/{kind}",
    operation_id="loadMasterdata",
    summary="Load crosswalk versions of one kind from a CSV or YAML body (admin)",
    response_model=LoadAnswer,
    response_model_exclude_unset=True,
    responses={
        400: {
            "model": LoadAnswer | ErrorBody,
            "description": "nothing loaded: the file, or every row of it, refused",
        },
        413: {"model": ErrorBody, "description": "the file is too large"},
    },
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {"application/octet-stream": {"schema": _FILE_BODY}},
        }
    },
)
async def load(
    request: Request,
    kind: Kind,
    filename: str | None = Query(None, description="named in errors and the audit log"),
    dry_run: bool = Query(False, description="validate only; store nothing"),
    principal: Principal = Depends(require("viewer")),
) -> Any:
    enforce(principal, Action.MASTERDATA_LOAD, Resource("masterdata", kind))
    body = await request.body()
    source = (filename or f"{kind} (request body)")[:256]
    if len(body) > MAX_FILE_BYTES:
        raise HTTPException(413, f"{source}: larger than {MAX_FILE_BYTES >> 20} MiB")
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise HTTPException(400, f"{source}: not UTF-8 (byte {exc.start})") from None
    return await run_in_threadpool(_load, _runtime(request), kind, source, text, dry_run, principal)


def _load(
    runtime: Runtime, kind: str, source: str, text: str, dry_run: bool, principal: Principal
) -> Any:
    store = runtime.store
    try:
        parsed = read_file(KINDS[kind], source, text, crosswalk.db_now(store))
    except FileRefused as exc:
        raise HTTPException(400, str(exc)) from None
    if dry_run:
        result: dict[str, Any] = {
            "kind": kind,
            "source": source,
            "dry_run": True,
            "valid": len(parsed.versions),
            "rejected": [e.as_json() for e in parsed.rejected],
        }
        return result
    loaded = crosswalk.load(store, KINDS[kind], parsed, source=source, actor=principal.name)
    out = {**loaded.as_json(), "kind": kind}
    if loaded.versions == 0:
        shown = "; ".join(str(e) for e in parsed.rejected[:20])
        more = f" (and {len(parsed.rejected) - 20} more)" if len(parsed.rejected) > 20 else ""
        out["detail"] = f"no row loaded: {shown}{more}"
        return JSONResponse(out, status_code=400)
    return out


@router.get(
    "/{kind}",
    operation_id="searchMasterdata",
    response_model_exclude_unset=True,
    summary="Crosswalk entities in force at an instant, searched",
)
def search(
    request: Request,
    kind: Kind,
    q: str = Query("", max_length=256, description="part of an id, name or identifier"),
    as_of: QueryInstant | None = Query(None, description="RFC 3339; default now"),
    limit: int = Query(200, ge=1, le=5000),
    _: Principal = Depends(require("viewer")),
) -> Entities:
    store = _runtime(request).store
    when = as_of or crosswalk.db_now(store)
    return {
        "kind": kind,
        "as_of": rfc3339(when),
        "entities": crosswalk.search(store, KINDS[kind], q, when, limit),
    }


@router.get(
    "/{kind}/{canonical_id}",
    operation_id="getMasterdataEntity",
    response_model_exclude_unset=True,
    summary="Every version of one crosswalk entity",
    responses={404: {"model": ErrorBody, "description": "no such entity in the crosswalk"}},
)
def history(
    request: Request, kind: Kind, canonical_id: str, _: Principal = Depends(require("viewer"))
) -> EntityHistory:
    versions = crosswalk.history(_runtime(request).store, KINDS[kind], canonical_id)
    if not versions:
        raise HTTPException(404, f"no {kind} {canonical_id!r} in the crosswalk")
    return {"kind": kind, "id": canonical_id, "versions": versions}
