"""Sign-in and sign-out: the session cookie (HttpOnly, SameSite=Lax, Secure over https),
ended on the server at sign-out; wrong passwords throttled (429 with Retry-After)."""

from __future__ import annotations

import hmac
import math
import secrets

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from rxsight.auth import SESSION_COOKIE, SESSION_MAX_AGE_S, Authenticator, Principal
from web.deps import console_user, current_principal, redirect, render, safe_next

router = APIRouter()

# Before sign-in there is no session to bind a CSRF token to, so the sign-in form uses a
# double-submit token: a random cookie that the form must echo.
LOGIN_CSRF_COOKIE = "rxsight_login_csrf"


def _address(request: Request) -> str:
    return request.client.host if request.client else ""


def _secure(request: Request) -> bool:
    return request.url.scheme == "https"


@router.get("/login", response_class=HTMLResponse)
def login_page(request: Request, next: str = "/") -> Response:
    if current_principal(request) is not None and request.cookies.get(SESSION_COOKIE):
        return RedirectResponse(safe_next(next), status_code=303)
    return _login_form(request, next)


def _login_form(
    request: Request,
    next_url: str,
    *,
    error: str | None = None,
    username: str = "",
    retry_after: float = 0,
) -> Response:
    token = secrets.token_urlsafe(16)
    status, headers = (401 if error else 200), None
    if retry_after > 0:
        status, headers = 429, {"Retry-After": str(math.ceil(retry_after))}
    response = render(
        request,
        "login.html",
        {"next": safe_next(next_url), "login_token": token, "error": error, "username": username},
        status_code=status,
        headers=headers,
    )
    response.set_cookie(
        LOGIN_CSRF_COOKIE,
        token,
        max_age=3600,
        httponly=True,
        samesite="lax",
        secure=_secure(request),
        path="/login",
    )
    return response


@router.post("/login", response_class=HTMLResponse)
def login_submit(
    request: Request,
    username: str = Form(""),
    password: str = Form(""),
    login_token: str = Form(""),
    next: str = Form("/"),
) -> Response:
    cookie = request.cookies.get(LOGIN_CSRF_COOKIE, "")
    if not cookie or not login_token or not hmac.compare_digest(cookie, login_token):
        return _login_form(
            request,
            next,
            error="The sign-in form expired or was not sent from this page. Please try again.",
            username=username,
        )
    auth: Authenticator = request.app.state.auth
    attempt = auth.sign_in(username.strip(), password, _address(request))
    if attempt.retry_after > 0:
        return _login_form(
            request,
            next,
            error=(
                "Too many wrong passwords for this user or from this address. "
                f"Try again in {math.ceil(attempt.retry_after)} seconds."
            ),
            username=username,
            retry_after=attempt.retry_after,
        )
    principal = attempt.principal
    if principal is None:
        return _login_form(
            request, next, error="Unknown user name or wrong password.", username=username
        )
    response = RedirectResponse(safe_next(next), status_code=303)
    response.set_cookie(
        SESSION_COOKIE,
        auth.session_cookie(principal),
        max_age=SESSION_MAX_AGE_S,
        httponly=True,
        samesite="lax",
        secure=_secure(request),
        path="/",
    )
    response.delete_cookie(LOGIN_CSRF_COOKIE, path="/login")
    return response


@router.post("/logout")
def logout(request: Request, principal: Principal = Depends(console_user("viewer"))) -> Response:
    auth: Authenticator = request.app.state.auth
    auth.sign_out(principal, _address(request))
    response = redirect("/login", flash="Signed out.")
    response.delete_cookie(SESSION_COOKIE, path="/", httponly=True, samesite="lax")
    return response
