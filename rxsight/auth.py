"""Who is calling: ingest tokens, the admin token, console users and their sessions, CSRF."""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import secrets
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path

from fastapi import HTTPException, Request
from itsdangerous import BadSignature, URLSafeTimedSerializer

from rxsight.config import Settings, UserConfig

ROLES = ("viewer", "operator", "admin")
SESSION_COOKIE = "rxsight_session"
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "x-csrf-token"
SESSION_MAX_AGE_S = 12 * 3600
_PBKDF2_ROUNDS = 120_000


@dataclass(frozen=True)
class Principal:
    name: str
    role: str  # "ingest", "viewer", "operator" or "admin"
    via: str  # "token", "session" or "loopback"
    owner: str | None = None
    source_systems: tuple[str, ...] = ()
    session_id: str | None = None

    def can(self, role: str) -> bool:
        if self.role not in ROLES:
            return False
        return ROLES.index(self.role) >= ROLES.index(role)


def hash_password(password: str, salt: str | None = None) -> str:
    salt = salt or secrets.token_hex(16)
    digest = hashlib.pbkdf2_hmac("sha256", password.encode(), salt.encode(), _PBKDF2_ROUNDS)
    return f"pbkdf2_sha256${_PBKDF2_ROUNDS}${salt}${digest.hex()}"


def verify_password(password: str, encoded: str) -> bool:
    try:
        algo, rounds, salt, digest = encoded.split("$")
    except ValueError:
        return False
    if algo != "pbkdf2_sha256":
        return False
    test = hashlib.pbkdf2_hmac("sha256", password.encode(), salt.encode(), int(rounds))
    return hmac.compare_digest(test.hex(), digest)


def is_loopback(host: str | None) -> bool:
    if not host:
        return False
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return host == "localhost"


class Authenticator:
    def __init__(self, settings: Settings) -> None:
        cfg = settings.config
        self._ingest = {t.token: t for t in cfg.ingest.tokens}
        self._admin_token = settings.admin_token
        self._users: dict[str, UserConfig] = {u.username: u for u in cfg.users}
        self._secret = settings.session_secret or _persistent_secret(settings.data_dir)
        self._sessions = URLSafeTimedSerializer(self._secret, salt="rxsight-session")
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
    def login(self, username: str, password: str) -> Principal | None:
        user = self._users.get(username)
        if user is None:
            # Same cost whether or not the user exists.
            verify_password(password, hash_password("x", "0" * 32))
            return None
        if not verify_password(password, user.password_hash):
            return None
        return self._user_principal(user, secrets.token_urlsafe(16))

    def session_cookie(self, principal: Principal) -> str:
        return self._sessions.dumps({"u": principal.name, "sid": principal.session_id})

    def from_session(self, cookie: str) -> Principal | None:
        try:
            data = self._sessions.loads(cookie, max_age=SESSION_MAX_AGE_S)
        except BadSignature:
            return None
        user = self._users.get(data.get("u", ""))
        return self._user_principal(user, data.get("sid")) if user else None

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


def require(role: str) -> Callable[[Request], Awaitable[Principal]]:
    """FastAPI dependency: a caller with at least `role`; cookie sessions must also send the
    CSRF token on anything but GET/HEAD (header `X-CSRF-Token` or form field)."""

    async def dependency(request: Request) -> Principal:
        principal = principal_of(request)
        if principal is None:
            raise HTTPException(
                401,
                "authentication required: a Bearer token or a console login",
                headers={"WWW-Authenticate": "Bearer"},
            )
        if not principal.can(role):
            raise HTTPException(403, f"this needs the {role} role; you are {principal.role}")
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
