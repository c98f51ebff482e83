"""HTTP API of the alerts stage: alerts, silences, deliveries, dead letters, test, reload."""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, HTTPException, Query, Request
from fastapi.responses import JSONResponse
from pydantic import AfterValidator, BaseModel, ConfigDict, Field, WithJsonSchema

from alerts import public
from alerts.api_models import (
    Alerts,
    AlertsConfigView,
    DeadLetters,
    Deliveries,
    ReloadAnswer,
    Replayed,
    RoutesTestAnswer,
    Silence,
    TestSent,
)
from alerts.service import AlertsService
from alerts.silence import SilenceError
from rxsight.auth import Principal, enforce, require
from rxsight.authz import Action
from rxsight.model import QueryInstant
from rxsight.openapi import error_responses
from rxsight.runtime import Runtime

router = APIRouter(prefix="/api", tags=["alerts"], responses=error_responses(401, 403, 503))
# A label name, as a validated dict key: a bad one is a 422 in the shape the OpenAPI
# document gives (FastAPI's validation error), with its place in the body.
_LABEL_NAME = r"^[a-zA-Z_][a-zA-Z0-9_]*$"


def _label_name(name: str) -> str:
    if not re.fullmatch(_LABEL_NAME, name):
        raise ValueError(f"{name!r} is not a label name ([a-zA-Z_][a-zA-Z0-9_]*)")
    return name


LabelName = Annotated[
    str, AfterValidator(_label_name), WithJsonSchema({"type": "string", "pattern": _LABEL_NAME})
]


def _runtime(request: Request) -> Runtime:
    return request.app.state.runtime


def _service(request: Request) -> AlertsService:
    try:
        return public.service_of(_runtime(request))
    except public.AlertsUnavailable as exc:
        raise HTTPException(503, str(exc)) from None


class MatcherIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str
    value: str
    isRegex: bool = False
    isEqual: bool = True


class SilenceIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    matchers: list[MatcherIn | str] = Field(
        description='{"name","value","isRegex","isEqual"} or \'site="A"\' style strings'
    )
    startsAt: str | None = Field(default=None, description="RFC 3339; default now")
    endsAt: str = Field(description="RFC 3339")
    comment: str
    createdBy: str | None = Field(
        default=None, description="the signed-in caller; any other name is refused"
    )


class SilenceUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    matchers: list[MatcherIn | str] | None = None
    startsAt: str | None = None
    endsAt: str | None = None
    comment: str | None = None


class TestIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    receiver: str


def _body(model: BaseModel) -> dict[str, Any]:
    data = model.model_dump(exclude_none=True)
    if "matchers" in data:
        data["matchers"] = [m if isinstance(m, str) else m for m in data["matchers"]]
    return data


# ---------------------------------------------------------------------- alerts
@router.get(
    "/alerts",
    operation_id="listAlerts",
    summary="Alerts with their state: firing, suppressed or resolved",
)
def list_alerts(
    request: Request,
    state: Literal["firing", "suppressed", "resolved"] | None = None,
    receiver: str | None = None,
    owner: str | None = None,
    family: str | None = None,
    _: Principal = Depends(require("viewer")),
) -> Alerts:
    _service(request)
    alerts = public.alerts(_runtime(request))
    if state:
        alerts = [a for a in alerts if a["status"]["state"] == state]
    if receiver:
        alerts = [a for a in alerts if receiver in a["receivers"]]
    if owner:
        alerts = [a for a in alerts if a["labels"].get("owner") == owner]
    if family:
        alerts = [a for a in alerts if a["labels"].get("family") == family]
    return {"alerts": alerts, "count": len(alerts)}


@router.get(
    "/alerts/config",
    operation_id="getAlertsConfig",
    summary="Receivers, routing tree and the last reload result",
)
def alerts_config(request: Request, _: Principal = Depends(require("viewer"))) -> AlertsConfigView:
    svc = _service(request)
    cfg = svc.config
    return {
        "receivers": [
            {
                "name": r.name,
                "owner": r.owner,
                "webhooks": [{"url": w.url, "format": w.format} for w in r.webhooks],
                "email": [{"to": list(e.to), "smarthost": e.smarthost} for e in r.email],
            }
            for r in cfg.receivers
        ],
        "route": cfg.route.model_dump(by_alias=True, exclude_defaults=True) if cfg.route else None,
        "inhibit_rules": [r.model_dump() for r in cfg.inhibit_rules],
        "last_reload_error": svc.last_reload_error,
        "dispatcher_error": svc.dispatcher.last_error,
    }


@router.post(
    "/alerts/reload",
    operation_id="reloadAlertsConfig",
    response_model=ReloadAnswer,
    responses={400: {"model": ReloadAnswer, "description": "The new configuration was refused"}},
    summary="Reload the alerts section of the config file",
)
def reload_config(request: Request, who: Principal = Depends(require("admin"))) -> JSONResponse:
    enforce(who, Action.CONFIG_RELOAD)
    problems = _service(request).reload(who.name)
    if problems:
        return JSONResponse(
            {"status": "rejected; the previous configuration stays active", "problems": problems},
            status_code=400,
        )
    return JSONResponse({"status": "reloaded"})


@router.post(
    "/alerts/test",
    operation_id="sendTestAlert",
    responses=error_responses(404),
    status_code=202,
    summary="Send a test alert to a receiver",
)
def send_test(
    body: TestIn, request: Request, who: Principal = Depends(require("operator"))
) -> TestSent:
    svc = _service(request)
    enforce(who, Action.TEST_ALERT, public.receiver_resource(_runtime(request), body.receiver))
    try:
        ids = svc.send_test(body.receiver, who.name)
    except KeyError:
        raise HTTPException(404, f"no receiver named {body.receiver!r}") from None
    return {"receiver": body.receiver, "notification_ids": ids}


class RoutesTestIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    labels: dict[LabelName, str] = Field(description='the alert\'s labels, e.g. {"family": "x"}')


@router.post(
    "/alerts/routes/test",
    operation_id="testAlertRoutes",
    summary="Which receivers a label set reaches, in order, with each group key (amtool's "
    "`config routes test`)",
)
def routes_test(
    body: RoutesTestIn, request: Request, _: Principal = Depends(require("viewer"))
) -> RoutesTestAnswer:
    matches = public.routes_test(_runtime(request), body.labels)
    return {
        "receivers": [m.receiver for m in matches],
        "routes": [
            {
                "receiver": m.receiver,
                "groupKey": m.group_key,
                "groupLabels": m.group_labels,
                "route": m.route_id,
            }
            for m in matches
        ],
    }


# ---------------------------------------------------------------------- silences
@router.get("/silences", operation_id="listSilences", summary="Silences (pending, active, expired)")
def list_silences(
    request: Request,
    state: Literal["pending", "active", "expired"] | None = None,
    _: Principal = Depends(require("viewer")),
) -> list[Silence]:
    _service(request)
    return public.silences(_runtime(request), state)


@router.get(
    "/silences/{silence_id}",
    operation_id="getSilence",
    responses=error_responses(404),
    summary="One silence",
)
def get_silence(
    silence_id: str, request: Request, _: Principal = Depends(require("viewer"))
) -> Silence:
    silence = _service(request).silences.get(silence_id)
    if silence is None:
        raise HTTPException(404, f"no silence {silence_id}")
    return silence.as_json()


@router.post(
    "/silences",
    operation_id="createSilence",
    responses=error_responses(400),
    status_code=201,
    summary="Create a silence",
)
def create_silence(
    body: SilenceIn, request: Request, who: Principal = Depends(require("operator"))
) -> Silence:
    _service(request)
    try:
        return public.create_silence(_runtime(request), _body(body), who)
    except SilenceError as exc:
        raise HTTPException(400, str(exc)) from None


@router.put(
    "/silences/{silence_id}",
    operation_id="updateSilence",
    responses=error_responses(400, 404),
    summary="Change a silence (matchers, window, comment)",
)
def update_silence(
    silence_id: str,
    body: SilenceUpdate,
    request: Request,
    who: Principal = Depends(require("operator")),
) -> Silence:
    _service(request)
    try:
        return public.update_silence(_runtime(request), silence_id, _body(body), who)
    except KeyError:
        raise HTTPException(404, f"no silence {silence_id}") from None
    except SilenceError as exc:
        raise HTTPException(400, str(exc)) from None


@router.delete(
    "/silences/{silence_id}",
    operation_id="expireSilence",
    responses=error_responses(404),
    summary="Expire a silence now",
)
def expire_silence(
    silence_id: str, request: Request, who: Principal = Depends(require("operator"))
) -> Silence:
    _service(request)
    try:
        return public.expire_silence(_runtime(request), silence_id, who)
    except KeyError:
        raise HTTPException(404, f"no silence {silence_id}") from None


# ---------------------------------------------------------------------- deliveries
@router.get(
    "/deliveries", operation_id="listDeliveries", summary="Notifications and every delivery attempt"
)
def list_deliveries(
    request: Request,
    status: Literal["pending", "delivered", "dead"] | None = None,
    receiver: str | None = None,
    since: QueryInstant | None = Query(None, description="RFC 3339; default 7 days ago"),
    limit: int = Query(100, ge=1, le=1000),
    _: Principal = Depends(require("viewer")),
) -> Deliveries:
    _service(request)
    items = public.deliveries(
        _runtime(request), status=status or "", receiver=receiver or "", since=since, limit=limit
    )
    return {"deliveries": items, "count": len(items)}


@router.get(
    "/dead-letters",
    operation_id="listDeadLetters",
    summary="Notifications that exhausted their attempts",
)
def list_dead_letters(
    request: Request,
    receiver: str | None = None,
    limit: int = Query(100, ge=1, le=1000),
    _: Principal = Depends(require("viewer")),
) -> DeadLetters:
    _service(request)
    items = public.deliveries(
        _runtime(request), status="dead", receiver=receiver or "", limit=limit
    )
    return {"dead_letters": items, "count": len(items)}


@router.post(
    "/dead-letters/{notification_id}/replay",
    operation_id="replayDeadLetter",
    responses=error_responses(404, 409),
    status_code=202,
    summary="Send a dead letter again (same webhook-id, fresh attempts)",
)
def replay_dead_letter(
    notification_id: str, request: Request, who: Principal = Depends(require("operator"))
) -> Replayed:
    _service(request)
    try:
        return public.replay_dead_letter(_runtime(request), notification_id, who)
    except KeyError:
        raise HTTPException(404, f"no notification {notification_id}") from None
    except ValueError as exc:
        raise HTTPException(409, str(exc)) from None
