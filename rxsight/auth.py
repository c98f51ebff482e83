"""Who is calling: ingest tokens, the admin token, console users and their sessions, CSRF;
and the FastAPI doors to the one authorization decision (`rxsight.authz`)."""

from __future__ import annotations

import hmac
import ipaddress
import secrets
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from fastapi import Depends, HTTPException, Request
from fastapi.security import HTTPAuthorizationCredentials
from itsdangerous import BadSignature, URLSafeTimedSerializer

from rxsight import audit
from rxsight.authz import (
    NOTHING_IN_PARTICULAR,
    ROLE_ACTIONS,
    ROLES,
    Action,
    Principal,
    Resource,
    authorize,
)
from rxsight.config import Settings, UserConfig
from rxsight.openapi import BEARER, SESSION
from rxsight.passwords import hash_password, verify_password
from rxsight.sessions import SESSION_MAX_AGE_S, Sessions, SignInThrottle
from rxsight.store import Store

__all__ = [
    "CSRF_FIELD",
    "CSRF_HEADER",
    "ROLES",
    "SESSION_COOKIE",
    "SESSION_MAX_AGE_S",
    "Authenticator",
    "Principal",
    "SignIn",
    "enforce",
    "hash_password",
    "is_loopback",
    "principal_of",
    "require",
    "verify_password",
]

SESSION_COOKIE = "rxsight_session"
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "x-csrf-token"


@cache
def _unknown_user_hash() -> str:
    # A wrong user name costs the same PBKDF2 work as a wrong password.
    return hash_password("x", "0" * 32)


def is_loopback(host: str | None) -> bool:
    if not host:
        return False
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return host == "localhost"


@dataclass(frozen=True)
class SignIn:
    """A sign-in attempt's outcome: a principal, or a refusal (retry_after > 0: throttled)."""

    principal: Principal | None
    retry_after: float = 0.0


class Authenticator:
    def __init__(self, settings: Settings, store: Store | None = None) -> None:
        cfg = settings.config
        self._store = store
        self._ingest = {t.token: t for t in cfg.ingest.tokens}
        self._admin_token = settings.admin_token
        self._users: dict[str, UserConfig] = {u.username: u for u in cfg.users}
        self._secret = settings.session_secret or _persistent_secret(settings.data_dir)
        self._cookies = URLSafeTimedSerializer(self._secret, salt="rxsight-session")
        self.sessions = Sessions(store)
        self.throttle = SignInThrottle(cfg.sign_in)
        # Nothing configured at all: a developer's machine, so loopback callers are trusted.
        self.open_on_loopback = not (self._ingest or self._admin_token or self._users)

    @property
    def ingest_tokens_configured(self) -> bool:
        return bool(self._ingest)

    def from_bearer(self, token: str) -> Principal | None:
        if self._admin_token and hmac.compare_digest(token, self._admin_token):
            return Principal(name="admin-token", role="admin", via="token")
        for known, cfg in self._ingest.items():
            if hmac.compare_digest(token, known):
                return Principal(
                    name=cfg.name, role="ingest", via="token", source_systems=cfg.source_systems
                )
        return None

    def identify(
        self, headers: dict[str, str] | object, cookies: dict[str, str], client_host: str | None
    ) -> Principal | None:
        auth = headers.get("authorization") or ""  # type: ignore[union-attr]
        if auth.lower().startswith("bearer "):
            return self.from_bearer(auth[7:].strip())
        cookie = cookies.get(SESSION_COOKIE)
        if cookie:
            principal = self.from_session(cookie)
            if principal:
                return principal
        if self.open_on_loopback and is_loopback(client_host):
            return Principal(name="local", role="admin", via="loopback")
        return None

    # ------------------------------------------------------------------ console users
    def sign_in(self, username: str, password: str, address: str) -> SignIn:
        """Check a password, within the throttle; every outcome but a throttled one is
        audited (a flood of refusals would otherwise flood the log)."""
        wait = self.throttle.retry_after(username, address)
        if wait > 0:
            return SignIn(None, wait)
        user = self._users.get(username)
        matches = verify_password(password, user.password_hash if user else _unknown_user_hash())
        if user is None or not matches:
            locked = self.throttle.failed(username, address)
            # A user name nobody has may be a password typed in the wrong field: not logged.
            self._audit(
                username if user else "(unknown user)",
                "session.sign_in_failed",
                {"address": address, "locked_for_s": locked or None},
            )
            return SignIn(None, 0.0)
        self.throttle.succeeded(username)
        session_id = self.sessions.start(user.username, address)
        self._audit(user.username, "session.sign_in", {"address": address})
        return SignIn(self._user_principal(user, session_id))

    def sign_out(self, principal: Principal, address: str) -> None:
        if principal.session_id:
            self.sessions.end(principal.session_id)
            self._audit(principal.name, "session.sign_out", {"address": address})

    def _audit(self, username: str, action: str, detail: dict[str, object]) -> None:
        if self._store is not None:
            audit.record(self._store, username, action, "session", username, detail)

    def session_cookie(self, principal: Principal) -> str:
        return self._cookies.dumps({"u": principal.name, "sid": principal.session_id})

    def from_session(self, cookie: str) -> Principal | None:
        try:
            data = self._cookies.loads(cookie, max_age=SESSION_MAX_AGE_S)
        except BadSignature:
            return None
        sid, name = data.get("sid"), data.get("u", "")
        user = self._users.get(name)
        if user is None or not isinstance(sid, str) or self.sessions.user_of(sid) != name:
            return None
        return self._user_principal(user, sid)

    def _user_principal(self, user: UserConfig, sid: str | None) -> Principal:
        return Principal(
            name=user.username, role=user.role, via="session", owner=user.owner, session_id=sid
        )

    def csrf_token(self, principal: Principal) -> str:
        sid = principal.session_id or ""
        return hmac.new(self._secret.encode(), f"csrf:{sid}".encode(), "sha256").hexdigest()

    def csrf_ok(self, principal: Principal, supplied: str | None) -> bool:
        return bool(supplied) and hmac.compare_digest(self.csrf_token(principal), supplied or "")

    def user_display_name(self, username: str) -> str:
        user = self._users.get(username)
        return (user.display_name or user.username) if user else username


def _persistent_secret(data_dir: Path) -> str:
    # Sessions survive a restart, so the secret lives beside the data it protects.
    path = data_dir / "session.key"
    try:
        return path.read_text().strip()
    except FileNotFoundError:
        data_dir.mkdir(parents=True, exist_ok=True)
        value = secrets.token_urlsafe(32)
        path.write_text(value)
        path.chmod(0o600)
        return value


def principal_of(request: Request) -> Principal | None:
    auth: Authenticator = request.app.state.auth
    return auth.identify(
        request.headers, request.cookies, request.client.host if request.client else None
    )


def enforce(
    principal: Principal | None, action: Action, resource: Resource = NOTHING_IN_PARTICULAR
) -> None:
    """`authorize`, for an API route: a refusal becomes its HTTP error."""
    decision = authorize(principal, action, resource)
    if not decision:
        headers = {"WWW-Authenticate": "Bearer"} if decision.status == 401 else None
        raise HTTPException(decision.status, decision.reason, headers=headers)


def require(role: str) -> Callable[..., Awaitable[Principal]]:
    """FastAPI dependency: a caller with at least `role`; cookie sessions must also send the
    CSRF token on anything but GET/HEAD (header `X-CSRF-Token` or form field). Routes whose
    action depends on the resource then call `enforce` with it."""
    action = ROLE_ACTIONS[role]

    async def dependency(
        request: Request,
        # Only for the document (bearer or cookie); principal_of reads the request itself.
        _bearer: HTTPAuthorizationCredentials | None = Depends(BEARER),
        _session: str | None = Depends(SESSION),
    ) -> Principal:
        principal = principal_of(request)
        enforce(principal, action)
        assert principal is not None
        if principal.via == "session" and request.method not in ("GET", "HEAD", "OPTIONS"):
            supplied = request.headers.get(CSRF_HEADER)
            if supplied is None and request.headers.get("content-type", "").startswith(
                ("application/x-www-form-urlencoded", "multipart/form-data")
            ):
                supplied = (await request.form()).get(CSRF_FIELD)  # type: ignore[assignment]
            auth: Authenticator = request.app.state.auth
            if not auth.csrf_ok(principal, supplied if isinstance(supplied, str) else None):
                raise HTTPException(403, "missing or invalid CSRF token; reload the page")
        return principal

    return dependency
