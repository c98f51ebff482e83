"""HTTP API of the alerts stage: alerts, silences, deliveries, dead letters, test, reload."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any, Literal

from fastapi import APIRouter, Depends, HTTPException, Query, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field

from alerts.outbox import SQL as OUTBOX_SQL
from alerts.service import AlertsService
from alerts.silence import SilenceError, pinned_owners
from rxsight import audit
from rxsight.auth import Principal, enforce, require
from rxsight.authz import Action, Resource
from rxsight.model import QueryInstant
from rxsight.timeutil import jsonable, utcnow

router = APIRouter(prefix="/api", tags=["alerts"])


def _service(request: Request) -> AlertsService:
    service = request.app.state.runtime.stages.get("alerts")
    if service is None:
        raise HTTPException(503, "the alerts stage is not running")
    return service


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
@router.get("/alerts", summary="Alerts with their state: firing, suppressed or resolved")
def list_alerts(
    request: Request,
    state: Literal["firing", "suppressed", "resolved"] | None = None,
    receiver: str | None = None,
    owner: str | None = None,
    family: str | None = None,
    _: Principal = Depends(require("viewer")),
) -> dict[str, Any]:
    alerts = _service(request).dispatcher.snapshot()
    if state:
        alerts = [a for a in alerts if a["status"]["state"] == state]
    if receiver:
        alerts = [a for a in alerts if receiver in a["receivers"]]
    if owner:
        alerts = [a for a in alerts if a["labels"].get("owner") == owner]
    if family:
        alerts = [a for a in alerts if a["labels"].get("family") == family]
    return {"alerts": alerts, "count": len(alerts)}


@router.get("/alerts/config", summary="Receivers, routing tree and the last reload result")
def alerts_config(request: Request, _: Principal = Depends(require("viewer"))) -> dict[str, Any]:
    svc = _service(request)
    cfg = svc.config
    return {
        "receivers": [
            {
                "name": r.name,
                "owner": r.owner,
                "webhooks": [{"url": w.url, "format": w.format} for w in r.webhooks],
            }
            for r in cfg.receivers
        ],
        "route": cfg.route.model_dump(by_alias=True, exclude_defaults=True) if cfg.route else None,
        "inhibit_rules": [r.model_dump() for r in cfg.inhibit_rules],
        "last_reload_error": svc.last_reload_error,
        "dispatcher_error": svc.dispatcher.last_error,
    }


@router.post("/alerts/reload", summary="Reload the alerts section of the config file")
def reload_config(request: Request, who: Principal = Depends(require("admin"))) -> JSONResponse:
    enforce(who, Action.CONFIG_RELOAD)
    problems = _service(request).reload(who.name)
    if problems:
        return JSONResponse(
            {"status": "rejected; the previous configuration stays active", "problems": problems},
            status_code=400,
        )
    return JSONResponse({"status": "reloaded"})


@router.post("/alerts/test", status_code=202, summary="Send a test alert to a receiver")
def send_test(
    body: TestIn, request: Request, who: Principal = Depends(require("operator"))
) -> dict[str, Any]:
    svc = _service(request)
    _enforce_for_receiver(svc, who, Action.TEST_ALERT, body.receiver)
    try:
        ids = svc.send_test(body.receiver, who.name)
    except KeyError:
        raise HTTPException(404, f"no receiver named {body.receiver!r}") from None
    return {"receiver": body.receiver, "notification_ids": ids}


def _enforce_for_receiver(
    svc: AlertsService, who: Principal, action: Action, receiver_name: str
) -> None:
    receiver = next((r for r in svc.config.receivers if r.name == receiver_name), None)
    enforce(who, action, Resource.receiver(receiver_name, receiver.owner if receiver else None))


# ---------------------------------------------------------------------- silences
@router.get("/silences", summary="Silences (pending, active, expired)")
def list_silences(
    request: Request,
    state: Literal["pending", "active", "expired"] | None = None,
    _: Principal = Depends(require("viewer")),
) -> list[dict[str, Any]]:
    now = utcnow()
    out = [s.as_json(now) for s in _service(request).silences.all()]
    return [s for s in out if not state or s["status"]["state"] == state]


@router.get("/silences/{silence_id}", summary="One silence")
def get_silence(
    silence_id: str, request: Request, _: Principal = Depends(require("viewer"))
) -> dict[str, Any]:
    silence = _service(request).silences.get(silence_id)
    if silence is None:
        raise HTTPException(404, f"no silence {silence_id}")
    return silence.as_json()


@router.post("/silences", status_code=201, summary="Create a silence")
def create_silence(
    body: SilenceIn, request: Request, who: Principal = Depends(require("operator"))
) -> dict[str, Any]:
    svc = _service(request)
    data = _body(body)
    enforce(who, Action.SILENCE_CREATE, Resource.silence("", pinned_owners(data["matchers"])))
    if data.pop("createdBy", who.name) != who.name:
        raise HTTPException(
            400, f"createdBy: a silence is created by the caller ({who.name}); leave it out"
        )
    try:
        silence = svc.silences.create(data, who.name)
    except SilenceError as exc:
        raise HTTPException(400, str(exc)) from None
    out = silence.as_json()
    audit.record(svc.store, who.name, "create", "silence", silence.id, out)
    svc.dispatcher.poke()
    return out


@router.put("/silences/{silence_id}", summary="Change a silence (matchers, window, comment)")
def update_silence(
    silence_id: str,
    body: SilenceUpdate,
    request: Request,
    who: Principal = Depends(require("operator")),
) -> dict[str, Any]:
    svc = _service(request)
    _enforce_on_silence(svc, who, Action.SILENCE_UPDATE, silence_id)
    data = _body(body)
    if "matchers" in data:
        changed = Resource.silence(silence_id, pinned_owners(data["matchers"]))
        enforce(who, Action.SILENCE_UPDATE, changed)
    try:
        silence = svc.silences.update(silence_id, data, who.name)
    except KeyError:
        raise HTTPException(404, f"no silence {silence_id}") from None
    except SilenceError as exc:
        raise HTTPException(400, str(exc)) from None
    out = silence.as_json()
    audit.record(svc.store, who.name, "update", "silence", silence.id, out)
    svc.dispatcher.poke()
    return out


@router.delete("/silences/{silence_id}", summary="Expire a silence now")
def expire_silence(
    silence_id: str, request: Request, who: Principal = Depends(require("operator"))
) -> dict[str, Any]:
    svc = _service(request)
    _enforce_on_silence(svc, who, Action.SILENCE_EXPIRE, silence_id)
    try:
        silence = svc.silences.expire(silence_id, who.name)
    except KeyError:
        raise HTTPException(404, f"no silence {silence_id}") from None
    out = silence.as_json()
    audit.record(svc.store, who.name, "expire", "silence", silence.id, out)
    svc.dispatcher.poke()
    return out


def _enforce_on_silence(svc: AlertsService, who: Principal, action: Action, silence_id: str):
    silence = svc.silences.get(silence_id)
    if silence is None:
        raise HTTPException(404, f"no silence {silence_id}")
    matchers = [m.as_json() for m in silence.matchers]
    enforce(who, action, Resource.silence(silence_id, pinned_owners(matchers)))


# ---------------------------------------------------------------------- deliveries
def _notifications(
    svc: AlertsService, status: str, receiver: str, since: datetime | None, limit: int
) -> list[dict[str, Any]]:
    start = since or utcnow() - timedelta(days=7)
    rows = svc.store.query(
        OUTBOX_SQL["notifications_list"],
        {"since": start, "status": status, "receiver": receiver, "limit": limit},
    )
    ids = [r["notification_id"] for r in rows]
    attempts: dict[str, list[dict[str, Any]]] = {}
    if ids:
        for a in svc.store.query(OUTBOX_SQL["attempts_for"], {"ids": ids}):
            attempts.setdefault(a["notification_id"], []).append(
                {
                    "attempt": a["attempt"],
                    "at": a["at"],
                    "status_code": a["status_code"] or None,
                    "latency_ms": round(a["latency_ms"], 3),
                    "outcome": a["outcome"],
                    "error": a["error"] or None,
                }
            )
    out = []
    for r in rows:
        item = {
            "id": r["notification_id"],
            "webhook_id": r["notification_id"],
            "status": r["status"],
            "receiver": r["receiver"],
            "target": r["target_url"],
            "format": r["format"],
            "group_key": r["group_key"],
            "alert_status": r["alert_status"],
            "firing": list(r["firing"]),
            "resolved": list(r["resolved"]),
            "created_at": r["created_at"],
            "updated_at": r["at"],
            "attempts": r["attempts"],
            "next_attempt_at": r["next_attempt_at"] if r["status"] == "pending" else None,
            "last_error": r["last_error"] or None,
            "history": attempts.get(r["notification_id"], []),
        }
        out.append(jsonable(item))
    return out


@router.get("/deliveries", summary="Notifications and every delivery attempt")
def list_deliveries(
    request: Request,
    status: Literal["pending", "delivered", "dead"] | None = None,
    receiver: str | None = None,
    since: QueryInstant | None = Query(None, description="RFC 3339; default 7 days ago"),
    limit: int = Query(100, ge=1, le=1000),
    _: Principal = Depends(require("viewer")),
) -> dict[str, Any]:
    items = _notifications(_service(request), status or "", receiver or "", since, limit)
    return {"deliveries": items, "count": len(items)}


@router.get("/dead-letters", summary="Notifications that exhausted their attempts")
def list_dead_letters(
    request: Request,
    receiver: str | None = None,
    limit: int = Query(100, ge=1, le=1000),
    _: Principal = Depends(require("viewer")),
) -> dict[str, Any]:
    items = _notifications(_service(request), "dead", receiver or "", None, limit)
    return {"dead_letters": items, "count": len(items)}


@router.post(
    "/dead-letters/{notification_id}/replay",
    status_code=202,
    summary="Send a dead letter again (same webhook-id, fresh attempts)",
)
def replay_dead_letter(
    notification_id: str, request: Request, who: Principal = Depends(require("operator"))
) -> dict[str, Any]:
    svc = _service(request)
    found = svc.store.query(OUTBOX_SQL["notification_get"], {"id": notification_id})
    if not found:
        raise HTTPException(404, f"no notification {notification_id}")
    _enforce_for_receiver(svc, who, Action.DEAD_LETTER_REPLAY, found[0]["receiver"])
    try:
        n = svc.outbox.replay(notification_id, who.name)
    except KeyError:
        raise HTTPException(404, f"no notification {notification_id}") from None
    except ValueError as exc:
        raise HTTPException(409, str(exc)) from None
    return {"id": n.notification_id, "status": n.status, "receiver": n.receiver}
