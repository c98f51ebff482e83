"""Alerts page: active alerts, silences (create, expire), deliveries, dead letters (replay).

It reads and acts through the alerts stage's public functions (alerts.public), the same ones
its HTTP API calls, so validation and the audit entry are the same at both doors."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any, TypeVar
from urllib.parse import quote

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, Response

import alerts.public as alerts_public
from rxsight.auth import Principal
from rxsight.authz import Refused
from rxsight.runtime import Runtime
from rxsight.timeutil import rfc3339, utcnow
from web.deps import ConsoleError, console_user, redirect, render
from web.downloads import MAX_ROWS, csv_response
from web.timecontrol import time_view

router = APIRouter()

SILENCE_HOURS = (1, 2, 4, 8, 24, 72)
T = TypeVar("T")
UNAVAILABLE = "the alerts stage is not part of this server."
DELIVERY_COLUMNS = (
    "id",
    "status",
    "receiver",
    "target",
    "format",
    "alert_status",
    "firing",
    "resolved",
    "group_key",
    "created_at",
    "updated_at",
    "attempt_count",
    "last_outcome",
    "last_error",
)


def _runtime(request: Request) -> Runtime:
    return request.app.state.runtime


def _read(what: str, errors: list[str], fn: Callable[..., T], *args: Any, **kw: Any) -> T | None:
    try:
        return fn(*args, **kw)
    except Exception as exc:  # noqa: BLE001 - one failing panel must not take the page down
        errors.append(f"{what} could not be read: {exc}")
    return None


@router.get("/alerts", response_class=HTMLResponse)
def alerts_page(
    request: Request,
    matchers: str = "",
    show: int = 25,
    principal: Principal = Depends(console_user("viewer")),
) -> HTMLResponse:
    runtime = _runtime(request)
    errors: list[str] = []
    show = min(max(show, 1), 500)
    counts: dict[str, int] = {}
    alert_rows: list[dict[str, Any]] = []
    silence_rows: list[dict[str, Any]] = []
    deliveries: list[dict[str, Any]] = []
    dead: list[dict[str, Any]] = []
    try:
        alerts_public.service_of(runtime)
    except alerts_public.AlertsUnavailable:
        errors.append(f"Alerts: {UNAVAILABLE}")
    else:
        board = _read("Alerts", errors, alerts_public.alert_board, runtime, show)
        counts, alert_rows = board or ({}, [])
        silence_rows = _read("Silences", errors, alerts_public.silences, runtime) or []
        deliveries = _read("Deliveries", errors, alerts_public.deliveries, runtime, limit=50) or []
        dead = _read("Dead letters", errors, alerts_public.deliveries, runtime, status="dead") or []
    context = {
        "errors": errors,
        # The `show` oldest of each state, and how many there are.
        "firing": [a for a in alert_rows if a["status"]["state"] == "firing"],
        "suppressed": [a for a in alert_rows if a["status"]["state"] == "suppressed"],
        "firing_count": counts.get("firing", 0),
        "suppressed_count": counts.get("suppressed", 0),
        "resolved_count": counts.get("resolved", 0),
        "silences": [s for s in silence_rows if s["status"]["state"] != "expired"],
        "expired": [s for s in silence_rows if s["status"]["state"] == "expired"][-20:],
        "deliveries": deliveries,
        "dead": dead,
        "prefill": matchers,
        "show": show,
        "hours": SILENCE_HOURS,
        "silence_matchers": silence_matchers,
    }
    context |= {"tc": time_view(request, None), "tc_now_only": True}
    return render(request, "alerts.html", context, principal=principal)


@router.get("/alerts/deliveries.csv")
def deliveries_csv(
    request: Request, principal: Principal = Depends(console_user("viewer"))
) -> Response:
    """The deliveries of the last 7 days (the page shows the newest), one row each."""
    try:
        rows = alerts_public.deliveries(_runtime(request), limit=MAX_ROWS)
    except alerts_public.AlertsUnavailable:
        raise ConsoleError(404, f"Alerts: {UNAVAILABLE}") from None
    for r in rows:
        last = (r.get("history") or [{}])[-1]
        r.update(
            attempt_count=r.get("attempts"),
            last_outcome=last.get("outcome"),
            last_error=last.get("error"),
        )
    return csv_response(request, principal, "deliveries", DELIVERY_COLUMNS, rows)


def silence_matchers(labels: dict[str, str]) -> str:
    """The labels that make a useful silence for one alert, as `name="value"` text."""
    keys = ("family", "reason", "site", "flow", "owner")
    return ", ".join(f'{k}="{labels[k]}"' for k in keys if labels.get(k))


def _act(what: str, fn: Callable[..., Any], *args: Any) -> str | None:
    """None when done, else the reason for the person who asked."""
    try:
        fn(*args)
    except alerts_public.AlertsUnavailable:
        return f"{what}: {UNAVAILABLE}"
    except KeyError as exc:
        return f"{what}: {exc.args[0]} no longer exists."
    except ValueError as exc:  # SilenceError, MatcherError, a notification that is not dead
        return f"{what}: {exc}"
    except Refused as exc:  # rxsight.authz said no: its reason, as the API gives it
        return f"{what}: {exc}"
    return None


@router.post("/alerts/silences")
def create_silence(
    request: Request,
    matchers: str = Form(""),
    hours: float = Form(4),
    comment: str = Form(""),
    principal: Principal = Depends(console_user("operator")),
) -> Response:
    items = [m.strip() for m in matchers.replace("\n", ",").split(",") if m.strip()]
    if not items:
        return redirect("/alerts", error='Give at least one matcher, e.g. site="lakeside".')
    if not comment.strip():
        return redirect(
            "/alerts?matchers=" + quote(matchers), error="Say why you are silencing these alerts."
        )
    now = utcnow()
    body = {
        "matchers": items,
        "startsAt": rfc3339(now),
        "endsAt": rfc3339(now + timedelta(hours=hours)),
        "comment": comment.strip(),
    }
    problem = _act(
        "The silence was not created",
        alerts_public.create_silence,
        _runtime(request),
        body,
        principal,
    )
    if problem:
        return redirect("/alerts?matchers=" + quote(matchers), error=problem)
    return redirect("/alerts", flash=f"Silence created until {body['endsAt']}.")


@router.post("/alerts/silences/{silence_id}/expire")
def expire_silence(
    request: Request, silence_id: str, principal: Principal = Depends(console_user("operator"))
) -> Response:
    problem = _act(
        "The silence was not expired",
        alerts_public.expire_silence,
        _runtime(request),
        silence_id,
        principal,
    )
    return (
        redirect("/alerts", error=problem)
        if problem
        else redirect("/alerts", flash="Silence expired.")
    )


@router.post("/alerts/dead-letters/{notification_id}/replay")
def replay_dead_letter(
    request: Request,
    notification_id: str,
    principal: Principal = Depends(console_user("operator")),
) -> Response:
    problem = _act(
        "The notification was not replayed",
        alerts_public.replay_dead_letter,
        _runtime(request),
        notification_id,
        principal,
    )
    return (
        redirect("/alerts", error=problem)
        if problem
        else redirect("/alerts", flash=f"Notification {notification_id} queued again.")
    )
