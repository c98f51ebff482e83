"""The alerts stage's public functions, for its HTTP API, the console and the CLI.

Reads and changes go through here, so the API and the console do the same thing (validation,
authorization, audit entry, waking the dispatcher) whichever door a person uses. The doors
check the role a route needs; the functions that change something take the principal and
ask rxsight.authz about the very silence or receiver (rxsight.authz.Refused when not)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

from alerts.config import from_settings
from alerts.matchers import MatcherError
from alerts.outbox import SQL as OUTBOX_SQL
from alerts.route import RouteMatch, compile_tree
from alerts.route import routes_test as _routes_test
from alerts.service import AlertsService
from alerts.silence import SilenceError, pinned_owners
from rxsight import audit
from rxsight.authz import Action, Principal, Resource, check
from rxsight.runtime import Runtime
from rxsight.timeutil import jsonable, utcnow

__all__ = [
    "AlertsUnavailable",
    "MatcherError",
    "RouteMatch",
    "SilenceError",
    "alert_board",
    "alerts",
    "create_silence",
    "deliveries",
    "expire_silence",
    "receiver_resource",
    "replay_dead_letter",
    "routes_test",
    "service_of",
    "silences",
    "update_silence",
]


class AlertsUnavailable(RuntimeError):
    """The alerts stage is not part of this server."""


def service_of(runtime: Runtime) -> AlertsService:
    service = runtime.alerts
    if not isinstance(service, AlertsService):
        raise AlertsUnavailable("the alerts stage is not running")
    return service


# ---------------------------------------------------------------------- reading
def alerts(runtime: Runtime) -> list[dict[str, Any]]:
    """Every alert with its state (firing, suppressed, resolved), receivers and muting."""
    return service_of(runtime).dispatcher.snapshot()


def alert_board(runtime: Runtime, show: int) -> tuple[dict[str, int], list[dict[str, Any]]]:
    """How many alerts are firing, suppressed and resolved, and the `show` oldest of each
    state (as `alerts` gives them): what a page shows without describing every alert."""
    return service_of(runtime).dispatcher.board(show)


def silences(runtime: Runtime, state: str | None = None) -> list[dict[str, Any]]:
    now = utcnow()
    out = [s.as_json(now) for s in service_of(runtime).silences.all()]
    return [s for s in out if not state or s["status"]["state"] == state]


def deliveries(
    runtime: Runtime,
    *,
    status: str = "",
    receiver: str = "",
    since: datetime | None = None,
    limit: int = 100,
) -> list[dict[str, Any]]:
    """Notifications (newest first) with every attempt; `status` pending, delivered or dead."""
    svc = service_of(runtime)
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
    return [
        jsonable(
            {
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
        )
        for r in rows
    ]


def routes_test(runtime: Runtime, labels: Mapping[str, str]) -> list[RouteMatch]:
    """`amtool config routes test`: the receivers a label set reaches, in order, with the
    group key each would use. Works whether or not this process runs the dispatcher."""
    try:
        cfg = service_of(runtime).config
    except AlertsUnavailable:
        cfg = from_settings(runtime.settings)
    return _routes_test(compile_tree(cfg), labels)


# ---------------------------------------------------------------------- changing
# Every change asks rxsight.authz here, whichever door (API, console, CLI) it came through:
# Refused when the person may not; an owner-scoped operator changes only silences pinned
# to its owner and replays only dead letters of receivers serving it.
def create_silence(runtime: Runtime, body: Mapping[str, Any], who: Principal) -> dict[str, Any]:
    """SilenceError when the body is not a valid silence (the message names the field)."""
    svc = service_of(runtime)
    check(who, Action.SILENCE_CREATE, Resource.silence("", pinned_owners(body["matchers"])))
    data = dict(body)
    if data.pop("createdBy", None) not in (None, who.name):
        raise SilenceError(f"createdBy: a silence is created by the caller ({who.name})")
    out = svc.silences.create(data, who.name).as_json()
    audit.record(svc.store, who.name, "create", "silence", out["id"], out)
    svc.dispatcher.poke()
    return out


def update_silence(
    runtime: Runtime, silence_id: str, body: Mapping[str, Any], who: Principal
) -> dict[str, Any]:
    """KeyError for an unknown silence, SilenceError for an invalid change."""
    svc = service_of(runtime)
    _check_silence(svc, who, Action.SILENCE_UPDATE, silence_id)
    if body.get("matchers") is not None:
        changed = Resource.silence(silence_id, pinned_owners(body["matchers"]))
        check(who, Action.SILENCE_UPDATE, changed)
    out = svc.silences.update(silence_id, body, who.name).as_json()
    audit.record(svc.store, who.name, "update", "silence", silence_id, out)
    svc.dispatcher.poke()
    return out


def expire_silence(runtime: Runtime, silence_id: str, who: Principal) -> dict[str, Any]:
    """End a silence now; KeyError for an unknown one."""
    svc = service_of(runtime)
    _check_silence(svc, who, Action.SILENCE_EXPIRE, silence_id)
    out = svc.silences.expire(silence_id, who.name).as_json()
    audit.record(svc.store, who.name, "expire", "silence", silence_id, out)
    svc.dispatcher.poke()
    return out


def _check_silence(svc: AlertsService, who: Principal, action: Action, silence_id: str) -> None:
    silence = svc.silences.get(silence_id)
    if silence is None:
        raise KeyError(silence_id)
    matchers = [m.as_json() for m in silence.matchers]
    check(who, action, Resource.silence(silence_id, pinned_owners(matchers)))


def receiver_resource(runtime: Runtime, receiver_name: str) -> Resource:
    """A receiver as authorization sees it: confined to the owner it serves, if any."""
    cfg = service_of(runtime).config
    receiver = next((r for r in cfg.receivers if r.name == receiver_name), None)
    return Resource.receiver(receiver_name, receiver.owner if receiver else None)


def replay_dead_letter(runtime: Runtime, notification_id: str, who: Principal) -> dict[str, Any]:
    """Send a dead letter again (same webhook-id); KeyError when unknown, ValueError when it
    is not dead."""
    svc = service_of(runtime)
    found = svc.store.query(OUTBOX_SQL["notification_get"], {"id": notification_id})
    if not found:
        raise KeyError(notification_id)
    check(who, Action.DEAD_LETTER_REPLAY, receiver_resource(runtime, found[0]["receiver"]))
    n = svc.outbox.replay(notification_id, who.name)
    return {"id": n.notification_id, "status": n.status, "receiver": n.receiver}
