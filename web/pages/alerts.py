"""Alerts page: active alerts, silences (create, expire), deliveries, dead letters (replay).

The alerts stage publishes an HTTP API, not Python functions, so the console calls that API
in-process (ASGI, no network) as the signed-in user: the API checks the role and the CSRF
token and writes the audit entry under the user's name, exactly as for any other client."""

from __future__ import annotations

from datetime import timedelta
from typing import Any
from urllib.parse import quote

import httpx
from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, Response

from rxsight.auth import CSRF_HEADER, Authenticator, Principal
from rxsight.timeutil import rfc3339, utcnow
from web.deps import console_user, redirect, render

router = APIRouter()

SILENCE_HOURS = (1, 2, 4, 8, 24, 72)


async def _api(
    request: Request,
    principal: Principal,
    method: str,
    path: str,
    *,
    params: dict[str, Any] | None = None,
    body: Any = None,
) -> tuple[int, Any]:
    headers = {}
    for name in ("cookie", "authorization"):
        if request.headers.get(name):
            headers[name] = request.headers[name]
    if method != "GET" and principal.via == "session":
        auth: Authenticator = request.app.state.auth
        # The console form's own token was checked already; the API checks it again.
        headers[CSRF_HEADER] = auth.csrf_token(principal)
    transport = httpx.ASGITransport(app=request.app)
    async with httpx.AsyncClient(transport=transport, base_url="http://console") as client:
        answer = await client.request(method, path, params=params, json=body, headers=headers)
    try:
        data = answer.json()
    except ValueError:
        data = answer.text
    return answer.status_code, data


def _error(status: int, data: Any, what: str) -> str | None:
    if status < 400:
        return None
    detail = data.get("detail") if isinstance(data, dict) else data
    if status == 404 and detail == "Not Found":
        return f"{what}: the alerts stage is not part of this server."
    return f"{what}: {detail}"


@router.get("/alerts", response_class=HTMLResponse)
async def alerts_page(
    request: Request,
    matchers: str = "",
    show: int = 25,
    principal: Principal = Depends(console_user("viewer")),
) -> HTMLResponse:
    errors = []
    status, alerts = await _api(request, principal, "GET", "/api/alerts")
    errors.append(_error(status, alerts, "Alerts"))
    status, silences = await _api(request, principal, "GET", "/api/silences")
    errors.append(_error(status, silences, "Silences"))
    status, deliveries = await _api(
        request, principal, "GET", "/api/deliveries", params={"limit": 50}
    )
    errors.append(_error(status, deliveries, "Deliveries"))
    status, dead = await _api(request, principal, "GET", "/api/dead-letters")
    errors.append(_error(status, dead, "Dead letters"))
    alert_rows = alerts.get("alerts", []) if isinstance(alerts, dict) else []
    silence_rows = silences if isinstance(silences, list) else []
    context = {
        "errors": [e for e in errors if e],
        "firing": [a for a in alert_rows if a["status"]["state"] == "firing"],
        "suppressed": [a for a in alert_rows if a["status"]["state"] == "suppressed"],
        "resolved_count": sum(1 for a in alert_rows if a["status"]["state"] == "resolved"),
        "silences": [s for s in silence_rows if s["status"]["state"] != "expired"],
        "expired": [s for s in silence_rows if s["status"]["state"] == "expired"][-20:],
        "deliveries": deliveries.get("deliveries", []) if isinstance(deliveries, dict) else [],
        "dead": dead.get("dead_letters", []) if isinstance(dead, dict) else [],
        "prefill": matchers,
        "show": min(max(show, 1), 500),
        "hours": SILENCE_HOURS,
        "silence_matchers": silence_matchers,
    }
    return render(request, "alerts.html", context, principal=principal)


def silence_matchers(labels: dict[str, str]) -> str:
    """The labels that make a useful silence for one alert, as `name="value"` text."""
    keys = ("family", "reason", "site", "flow", "owner")
    return ", ".join(f'{k}="{labels[k]}"' for k in keys if labels.get(k))


@router.post("/alerts/silences")
async def create_silence(
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
    status, data = await _api(request, principal, "POST", "/api/silences", body=body)
    problem = _error(status, data, "The silence was not created")
    if problem:
        return redirect("/alerts?matchers=" + quote(matchers), error=problem)
    return redirect("/alerts", flash=f"Silence created until {body['endsAt']}.")


@router.post("/alerts/silences/{silence_id}/expire")
async def expire_silence(
    request: Request, silence_id: str, principal: Principal = Depends(console_user("operator"))
) -> Response:
    status, data = await _api(
        request, principal, "DELETE", f"/api/silences/{quote(silence_id, safe='')}"
    )
    problem = _error(status, data, "The silence was not expired")
    return (
        redirect("/alerts", error=problem)
        if problem
        else redirect("/alerts", flash="Silence expired.")
    )


@router.post("/alerts/dead-letters/{notification_id}/replay")
async def replay_dead_letter(
    request: Request,
    notification_id: str,
    principal: Principal = Depends(console_user("operator")),
) -> Response:
    status, data = await _api(
        request,
        principal,
        "POST",
        f"/api/dead-letters/{quote(notification_id, safe='')}/replay",
    )
    problem = _error(status, data, "The notification was not replayed")
    return (
        redirect("/alerts", error=problem)
        if problem
        else redirect("/alerts", flash=f"Notification {notification_id} queued again.")
    )
