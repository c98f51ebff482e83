"""Console sessions held on the server (signing out ends them) and sign-in throttling.

Sessions live in the store (`console_sessions`, migration 035), keyed by a hash of the
session id, so every process sharing the store knows them; each process caches what it
has read and asks the store again after RECHECK_S, so a sign-out in one process ends the
session in the others within that time (at once in the process that signed out). When the
store cannot be read, a session this process already knows stays valid until it is asked
again successfully.

Throttling is per process, in memory (`sign_in:` in the config): after 5 wrong passwords
in a row for a user name, or 20 from one address, the next try waits 1 s, and after each
further wrong one twice as long as before (2 s, 4 s, ... up to 15 min); a refusal while
locked does not check the password at all. A success clears the user's
count; any count clears after FORGET_AFTER_S without failures. Addresses are the TCP
peer: a proxy in front of rxsight puts all its users behind one address (raise
`free_failures_per_address` there).
"""

from __future__ import annotations

import hashlib
import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from rxsight.config import SignInConfig
from rxsight.store import SqlFiles, Store, StoreUnavailable
from rxsight.timeutil import as_utc, utcnow

SQL = SqlFiles(__file__)
SESSION_MAX_AGE_S = 12 * 3600
RECHECK_S = 5.0
FORGET_AFTER_S = 15 * 60.0
_MAX_TRACKED = 10_000
_COLUMNS = (
    "session_hash",
    "version",
    "username",
    "address",
    "created_at",
    "expires_at",
    "ended_at",
)


def _hash(session_id: str) -> str:
    return hashlib.sha256(session_id.encode()).hexdigest()


@dataclass
class _Known:
    username: str
    expires_at: datetime
    ended: bool
    checked: float  # monotonic time the store was last asked


class Sessions:
    """Start, look up and end console sessions."""

    def __init__(self, store: Store | None) -> None:
        # No store (a tool that only checks tokens): sessions live in this process only.
        self._store = store
        self._known: dict[str, _Known] = {}
        self._lock = threading.Lock()

    def start(self, username: str, address: str) -> str:
        """A new session for a signed-in user; returns its id (for the cookie only)."""
        session_id = secrets.token_urlsafe(32)
        now = utcnow()
        expires = now + timedelta(seconds=SESSION_MAX_AGE_S)
        key = _hash(session_id)
        if self._store is not None:
            self._store.insert_rows(
                "console_sessions",
                [[key, time.time_ns(), username, address, now, expires, None]],
                _COLUMNS,
            )
        with self._lock:
            self._prune()
            self._known[key] = _Known(username, expires, False, time.monotonic())
        return session_id

    def user_of(self, session_id: str) -> str | None:
        """The user a live session belongs to; None when unknown, ended or expired."""
        key = _hash(session_id)
        with self._lock:
            known = self._known.get(key)
        if known is None or time.monotonic() - known.checked > RECHECK_S:
            known = self._ask_store(key, known)
        if known is None or known.ended or known.expires_at <= utcnow():
            return None
        return known.username

    def _ask_store(self, key: str, cached: _Known | None) -> _Known | None:
        if self._store is None:
            return cached
        try:
            rows = self._store.query(SQL["session_get"], {"session_hash": key})
        except StoreUnavailable:
            return cached
        if not rows:
            found = None
        else:
            row = rows[0]
            found = _Known(
                row["username"],
                as_utc(row["expires_at"]),
                row["ended_at"] is not None,
                time.monotonic(),
            )
        with self._lock:
            if found is None:
                self._known.pop(key, None)
            else:
                self._known[key] = found
        return found

    def end(self, session_id: str) -> None:
        """Sign-out: the session is refused from now on, in every process sharing the store."""
        key = _hash(session_id)
        now = utcnow()
        with self._lock:
            known = self._known.get(key)
            if known is not None:
                known.ended = True
        if self._store is not None:
            current = self._store.query(SQL["session_get"], {"session_hash": key})
            if current:
                row = current[0]
                self._store.insert_rows(
                    "console_sessions",
                    [[key, time.time_ns(), row["username"], "", now, row["expires_at"], now]],
                    _COLUMNS,
                )

    def _prune(self) -> None:
        if len(self._known) < _MAX_TRACKED:
            return
        now = utcnow()
        for key in [k for k, v in self._known.items() if v.ended or v.expires_at <= now]:
            del self._known[key]


@dataclass
class _Streak:
    failures: int = 0
    last_failure: float = 0.0
    locked_until: float = 0.0


class SignInThrottle:
    """Wrong passwords in a row per user name and per address, and the lock they earn."""

    def __init__(self, config: SignInConfig, clock: Callable[[], float] = time.monotonic) -> None:
        self._config = config
        self._clock = clock
        self._streaks: dict[str, _Streak] = {}
        self._lock = threading.Lock()

    def retry_after(self, username: str, address: str) -> float:
        """Seconds until this user / address may try again; 0 when it may now."""
        now = self._clock()
        with self._lock:
            waits = [
                s.locked_until - now
                for s in (self._streaks.get(k) for k in _keys(username, address))
                if s is not None
            ]
        return max([0.0, *waits])

    def failed(self, username: str, address: str) -> float:
        """Count a wrong password; returns how long the user / address is now locked."""
        now = self._clock()
        lock = 0.0
        with self._lock:
            if len(self._streaks) >= _MAX_TRACKED:
                self._forget(now)
            cfg = self._config
            frees = (cfg.free_failures_per_user, cfg.free_failures_per_address)
            for key, free in zip(_keys(username, address), frees, strict=True):
                streak = self._streaks.setdefault(key, _Streak())
                if now - streak.last_failure > FORGET_AFTER_S:
                    streak.failures = 0
                streak.failures += 1
                streak.last_failure = now
                if streak.failures >= free:
                    doubled = cfg.first_lock_s * 2.0 ** min(streak.failures - free, 64)
                    seconds = min(cfg.max_lock_s, doubled)
                    streak.locked_until = now + seconds
                    lock = max(lock, seconds)
        return lock

    def succeeded(self, username: str) -> None:
        with self._lock:
            self._streaks.pop(_keys(username, "")[0], None)

    def _forget(self, now: float) -> None:
        for key in [
            k
            for k, s in self._streaks.items()
            if now - s.last_failure > FORGET_AFTER_S and s.locked_until <= now
        ]:
            del self._streaks[key]


def _keys(username: str, address: str) -> tuple[str, str]:
    return f"user:{username.casefold()}", f"address:{address}"
