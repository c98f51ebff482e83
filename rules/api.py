"""HTTP API of the rules stage: evaluation, exceptions and their actions, replenishments, flows,
the portfolio catalog."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Body, Depends, HTTPException, Query, Request
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel, ConfigDict, Field

from rules import lifecycle, public
from rules.api_models import (
    BulkOutcome,
    Evaluation,
    ExceptionAudit,
    ExceptionDetail,
    ExceptionPage,
    ExceptionState,
    Flows,
    OpenReplenishments,
    Portfolio,
    Rules,
)
from rules.service import RulesService
from rxsight import audit
from rxsight.auth import Principal, enforce, require
from rxsight.authz import Action, Refused
from rxsight.model import QueryInstant
from rxsight.openapi import error_responses
from rxsight.runtime import Runtime
from rxsight.timeutil import rfc3339, utcnow

router = APIRouter(prefix="/api", tags=["rules"], responses=error_responses(401, 403))


def _runtime(request: Request) -> Runtime:
    return request.app.state.runtime


def _service(request: Request) -> RulesService:
    svc = _runtime(request).rules
    if not isinstance(svc, RulesService):
        raise HTTPException(503, "the rules stage is not running")
    return svc


@router.post(
    "/rules/evaluate",
    operation_id="evaluateRules",
    responses=error_responses(503),
    summary="Evaluate every rule as of an instant",
)
def evaluate(
    request: Request,
    as_of: QueryInstant | None = Query(None, description="RFC 3339; default now"),
    persist: bool = Query(False, description="open/resolve exceptions from the findings"),
    principal: Principal = Depends(require("viewer")),
) -> Evaluation:
    if persist:
        enforce(principal, Action.RULES_PERSIST)
    when = as_of or utcnow()
    result = _service(request).evaluate(when, persist_findings=persist)
    if persist:
        audit.record(
            _runtime(request).store,
            principal.name,
            "rules.evaluate_persist",
            "rules",
            "evaluate",
            {
                "as_of": rfc3339(result.as_of),
                "findings": len(result.findings),
                "failed_rules": sorted(result.failed_rules),
            },
        )
    return {
        "as_of": rfc3339(result.as_of),
        "persisted": persist,
        "duration_s": round(result.duration_s, 4),
        "findings": [f.as_json() for f in result.findings],
        "errors": [{"rule_id": r.rule_id, "error": r.error} for r in result.runs if r.error],
    }


@router.get(
    "/rules",
    operation_id="listRules",
    summary="Each rule: last run, duration, findings, last error",
)
def list_rules(request: Request, _: Principal = Depends(require("viewer"))) -> Rules:
    return {"rules": public.rule_status(_runtime(request))}


@router.get(
    "/exceptions",
    operation_id="listExceptions",
    response_model_exclude_unset=True,
    summary="Exceptions (current state), oldest first",
)
def exceptions(
    request: Request,
    family: str | None = None,
    reason: str | None = None,
    status: str | None = Query(None, description="open, acknowledged, resolved or active"),
    site: str | None = None,
    owner: str | None = None,
    since: QueryInstant | None = Query(
        None, description="RFC 3339: only conditions true since then"
    ),
    q: str | None = None,
    assignee: list[str] | None = Query(
        None, description='assigned to any of these users or teams ("" = nobody)'
    ),
    priority: str | None = Query(None, description="a request's priority: stat, urgent, routine"),
    supplier: str | None = Query(None, description="supplier ID prefix, any case"),
    item: str | None = Query(None, description="item ID (e.g. NDC) prefix, any case"),
    flow: str | None = None,
    as_of: QueryInstant | None = Query(
        None, description="RFC 3339: each exception as it stood then (default now)"
    ),
    sort: str = Query("age", pattern="^(age|recent|severity|due)$"),
    due: str | None = Query(
        None,
        pattern="^(" + "|".join(public.DUE_STATES) + ")$",
        description="SLA clock state: " + ", ".join(public.DUE_STATES),
    ),
    limit: int = Query(50, ge=1, le=1000),
    offset: int = Query(0, ge=0),
    _: Principal = Depends(require("viewer")),
) -> ExceptionPage:
    rt = _runtime(request)
    items, total = public.list_exceptions(
        rt.store,
        family=family,
        reason=reason,
        status=status,
        site=site,
        owner=owner,
        since=since,
        q=q,
        sort=sort,
        limit=limit,
        offset=offset,
        due=due,
        sla=public.sla_clock(rt.settings),
        assignees=assignee,
        priority=priority,
        supplier=supplier,
        item=item,
        flow=flow,
        as_of=as_of,
        count_cap=public.COUNT_CAP,
    )
    return {
        "items": items,
        "total": min(total, public.COUNT_CAP),
        "total_capped": total > public.COUNT_CAP,
        "limit": limit,
        "offset": offset,
    }


class ActionBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    comment: str | None = Field(default=None, max_length=10_000)
    assignee: str | None = Field(default=None, max_length=256)


def _invalid(exc: public.InvalidField, value: Any) -> RequestValidationError:
    """A field wrong for the whole request: the 422 shape FastAPI gives its own validation
    errors, with the field's place in the body."""
    return RequestValidationError(
        [{"type": "value_error", "loc": ("body", exc.field), "msg": exc.reason, "input": value}]
    )


def _act(
    request: Request, exception_id: str, action: str, body: ActionBody | None, who: Principal
) -> dict[str, Any]:
    body = body or ActionBody()
    rt = _runtime(request)
    try:
        return public.act_as(
            rt.store,
            rt.settings,
            who,
            exception_id,
            action,
            comment=body.comment,
            assignee=body.assignee,
        )
    except public.InvalidField as exc:
        raise _invalid(exc, getattr(body, exc.field, None)) from None
    except KeyError:
        raise HTTPException(404, f"no exception {exception_id!r}") from None
    except Refused as exc:
        raise HTTPException(exc.decision.status, exc.decision.reason) from None
    except ValueError as exc:
        raise HTTPException(409, str(exc)) from None


class BulkBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    exception_ids: list[str] = Field(min_length=1, max_length=public.MAX_BULK)
    action: str = Field(description="ack, assign, comment, resolve or reopen")
    comment: str | None = Field(default=None, max_length=10_000)
    assignee: str | None = Field(default=None, max_length=256)


@router.post(
    "/exceptions/bulk",
    operation_id="actOnExceptions",
    response_model_exclude_unset=True,
    summary="One action on a selection of exceptions (each authorized and audit-logged)",
)
def exceptions_bulk(
    request: Request, body: BulkBody, principal: Principal = Depends(require("operator"))
) -> BulkOutcome:
    """Each exception gets its own result: one refused (owner scope), unknown or not in a
    state the action applies to does not stop the others. A wrong field is a 422."""
    rt = _runtime(request)
    try:
        outcomes = public.act_on_many(
            rt.store,
            rt.settings,
            principal,
            body.exception_ids,
            body.action,
            comment=body.comment,
            assignee=body.assignee,
        )
    except public.InvalidField as exc:
        raise _invalid(exc, getattr(body, exc.field, None)) from None
    results = [o.as_json() for o in outcomes]
    return {"done": sum(r["ok"] for r in results), "results": results}


def _action_route(action: str) -> None:
    def handler(
        request: Request,
        exception_id: str,
        body: ActionBody | None = Body(None),
        principal: Principal = Depends(require("operator")),
    ) -> ExceptionState:
        return _act(request, exception_id, action, body, principal)

    handler.__name__ = f"exception_{action}"
    router.add_api_route(
        f"/exceptions/{{exception_id:path}}/{action}",
        handler,
        methods=["POST"],
        operation_id=f"{action}Exception",
        response_model_exclude_unset=True,
        responses=error_responses(404, 409),
        summary=f"{action.capitalize()} an exception (audit-logged)",
    )


for _action in lifecycle.ACTIONS:
    _action_route(_action)


@router.get(
    "/exceptions/{exception_id:path}/audit",
    operation_id="getExceptionAudit",
    summary="People's changes to one exception, oldest first (admins, as in the console)",
)
def exception_audit(
    request: Request, exception_id: str, _: Principal = Depends(require("admin"))
) -> ExceptionAudit:
    rows, _total = audit.entries(
        _runtime(request).store,
        object_type="exception",
        object_id=exception_id,
        limit=10_000,
    )
    return {"items": [audit.as_json(r) for r in reversed(rows)]}


@router.get(
    "/exceptions/{exception_id:path}",
    operation_id="getException",
    response_model_exclude_unset=True,
    responses=error_responses(404),
    summary="One exception with its full history",
)
def exception_detail(
    request: Request, exception_id: str, _: Principal = Depends(require("viewer"))
) -> ExceptionDetail:
    rt = _runtime(request)
    found = public.get_exception(rt.store, exception_id)
    if found is None:
        raise HTTPException(404, f"no exception {exception_id!r}")
    return {**found, **public.sla_clock(rt.settings).clock(found, utcnow()).as_json()}


@router.get(
    "/replenishments/open",
    operation_id="listOpenReplenishments",
    summary="Every open replenishment request, late or not",
)
def replenishments_open(
    request: Request,
    as_of: QueryInstant | None = Query(None, description="RFC 3339; default now"),
    _: Principal = Depends(require("viewer")),
) -> OpenReplenishments:
    rt = _runtime(request)
    when = as_of or utcnow()
    items = public.open_replenishments(rt.store, rt.settings, when)
    return {"as_of": rfc3339(when), "items": items}


@router.get(
    "/flows",
    operation_id="listFlows",
    summary="Each flow: tier, volume, error rate, p95, last seen, status",
)
def flows(
    request: Request,
    as_of: QueryInstant | None = Query(None, description="RFC 3339; default now"),
    _: Principal = Depends(require("viewer")),
) -> Flows:
    rt = _runtime(request)
    when = as_of or utcnow()
    return {"as_of": rfc3339(when), "flows": public.flows(rt.store, rt.settings, when)}


@router.get(
    "/portfolio",
    operation_id="getPortfolio",
    summary="Every flow and source system: owner, tier, registered, first / last seen, and over "
    "the period volume, error rate, correlation coverage, API versions; governance status",
)
def portfolio(
    request: Request,
    as_of: QueryInstant | None = Query(None, description="RFC 3339; default now"),
    days: float = Query(
        public.PORTFOLIO_DEFAULT_DAYS,
        gt=0,
        le=public.PORTFOLIO_MAX_DAYS,
        description="The review period before as_of, in days (a quarter by default)",
    ),
    _: Principal = Depends(require("viewer")),
) -> Portfolio:
    rt = _runtime(request)
    found = public.portfolio(rt.store, rt.settings, as_of or utcnow(), days)
    return {
        "as_of": rfc3339(found.as_of),
        "from": rfc3339(found.start),
        "days": found.days,
        "entries": found.entries,
    }
