"""Console dependencies: who is signed in, role checks with HTML errors, rendering a page."""

from __future__ import annotations

import base64
import json
from collections.abc import Awaitable, Callable
from functools import partial
from typing import Any
from urllib.parse import quote

from fastapi import HTTPException, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from rxsight.auth import Authenticator, Principal, principal_of, require
from rxsight.config import Settings
from rxsight.store import Store
from rxsight.timeutil import utcnow
from web import ui


class ConsoleError(Exception):
    """A console request that cannot be served; rendered as an HTML page (or fragment)."""

    def __init__(self, status: int, message: str, *, hint: str | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.hint = hint


class SignInRequired(Exception):
    """No session: the browser is sent to the sign-in page and comes back afterwards."""


def console_user(role: str) -> Callable[[Request], Awaitable[Principal]]:
    """Dependency: a signed-in console user (or API token) with at least `role`.

    The kernel's `require` does the checking, including CSRF for cookie sessions on
    anything but GET; this turns its JSON errors into pages a person can read."""
    check = require(role)

    async def dependency(request: Request) -> Principal:
        try:
            return await check(request)
        except HTTPException as exc:
            if exc.status_code == 401:
                raise SignInRequired() from exc
            hint = None
            if "CSRF" in str(exc.detail):
                hint = (
                    "The form was missing its security token or it expired. "
                    "Reload the page and try again."
                )
            raise ConsoleError(exc.status_code, str(exc.detail), hint=hint) from exc

    return dependency


def current_principal(request: Request) -> Principal | None:
    return principal_of(request)


def settings_of(request: Request) -> Settings:
    return request.app.state.settings


def store_of(request: Request) -> Store:
    return request.app.state.store


def csrf_for(request: Request, principal: Principal | None) -> str:
    if principal is None:
        return ""
    auth: Authenticator = request.app.state.auth
    return auth.csrf_token(principal)


def is_htmx(request: Request) -> bool:
    # Boosted/partial requests only: a full navigation wants the whole page.
    return request.headers.get("hx-request") == "true"


def render(
    request: Request,
    template: str,
    context: dict[str, Any] | None = None,
    *,
    principal: Principal | None = None,
    status_code: int = 200,
    headers: dict[str, str] | None = None,
) -> HTMLResponse:
    settings = settings_of(request)
    auth: Authenticator | None = getattr(request.app.state, "auth", None)
    base: dict[str, Any] = {
        "principal": principal,
        "display_name": auth.user_display_name(principal.name) if auth and principal else "",
        "csrf_token": csrf_for(request, principal),
        "nav": ui.nav_items(request, principal),
        "settings": settings,
        "t": partial(ui.format_time, settings),
        "site_label": partial(ui.site_label, settings),
        "now": utcnow(),
    }
    flash = _read_flash(request)
    base.update({"flash": flash.get("flash"), "flash_error": flash.get("error")})
    base.update(context or {})
    response = ui.templates.TemplateResponse(
        request, template, base, status_code=status_code, headers=headers
    )
    if flash:
        response.delete_cookie(FLASH_COOKIE, path="/")
    return response


# The message after a POST travels in a short-lived cookie, not in the URL, so a link
# cannot put words in the console's mouth and reloading does not repeat it.
FLASH_COOKIE = "rxsight_flash"


def _read_flash(request: Request) -> dict[str, str]:
    raw = request.cookies.get(FLASH_COOKIE)
    if not raw or is_htmx(request):
        return {}
    try:
        data = json.loads(base64.urlsafe_b64decode(raw.encode()))
    except ValueError:
        return {}
    return {k: str(v) for k, v in data.items() if k in ("flash", "error") and v}


def redirect(url: str, *, flash: str | None = None, error: str | None = None) -> RedirectResponse:
    """303 after a POST (the browser then GETs), with an optional message for the next page."""
    response = RedirectResponse(url, status_code=303)
    if flash or error:
        payload = {k: v for k, v in (("flash", flash), ("error", error)) if v}
        value = base64.urlsafe_b64encode(json.dumps(payload).encode()[:3000]).decode()
        response.set_cookie(FLASH_COOKIE, value, max_age=60, httponly=True, samesite="lax")
    return response


def safe_next(value: str | None) -> str:
    """Only same-site paths after sign-in, never another host."""
    if not value or not value.startswith("/") or value.startswith("//") or "\\" in value:
        return "/"
    return value


async def console_error_page(request: Request, exc: Exception) -> Response:
    if isinstance(exc, SignInRequired):
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        url = f"/login?next={quote(target, safe='')}"
        if is_htmx(request):
            # htmx follows HX-Redirect with a full navigation instead of swapping a login form.
            return Response(status_code=401, headers={"HX-Redirect": url})
        return RedirectResponse(url, status_code=303)
    assert isinstance(exc, ConsoleError)
    principal = principal_of(request)
    template = "error_fragment.html" if is_htmx(request) else "error.html"
    referer = request.headers.get("referer") or ""
    back = referer if referer.startswith(str(request.base_url)) else None
    return render(
        request,
        template,
        {"status": exc.status, "message": exc.message, "hint": exc.hint, "back": back},
        principal=principal,
        status_code=exc.status,
    )
