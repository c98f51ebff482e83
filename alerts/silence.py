"""Silences: matchers over a time window that mute alerts; stored versioned, expire by time."""

from __future__ import annotations

import json
import threading
import time
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any

from alerts.matchers import Matcher, MatcherError, all_match, parse_matchers
from rxsight.store import SqlFiles, Store
from rxsight.timeutil import as_utc, parse_rfc3339, rfc3339, utcnow

SQL = SqlFiles(__file__)
_COLUMNS = (
    "silence_id",
    "version",
    "at",
    "matchers",
    "starts_at",
    "ends_at",
    "created_by",
    "comment",
    "updated_by",
    "deleted",
)


class SilenceError(ValueError):
    """A silence that cannot be saved (the message says why)."""


@dataclass(frozen=True)
class Silence:
    id: str
    matchers: tuple[Matcher, ...]
    starts_at: datetime
    ends_at: datetime
    created_by: str
    comment: str
    updated_at: datetime
    updated_by: str
    version: int

    def state(self, now: datetime) -> str:
        if now < self.starts_at:
            return "pending"
        return "active" if now < self.ends_at else "expired"

    def mutes(self, labels: Mapping[str, str], now: datetime) -> bool:
        return self.state(now) == "active" and all_match(self.matchers, labels)

    def as_json(self, now: datetime | None = None) -> dict[str, Any]:
        return {
            "id": self.id,
            "matchers": [m.as_json() for m in self.matchers],
            "startsAt": rfc3339(self.starts_at),
            "endsAt": rfc3339(self.ends_at),
            "createdBy": self.created_by,
            "comment": self.comment,
            "updatedAt": rfc3339(self.updated_at),
            "updatedBy": self.updated_by,
            "status": {"state": self.state(now or utcnow())},
        }


def pinned_owners(raw: Sequence[Any]) -> frozenset[str]:
    """The owners a silence is confined to: the values of its `owner="..."` matchers (every
    matcher must match, so an alert it mutes has that owner). Empty when none pins owner or
    the matchers do not parse."""
    try:
        matchers = parse_matchers(raw)
    except MatcherError:
        return frozenset()
    return frozenset(m.value for m in matchers if m.name == "owner" and m.op == "=")


def _parse_time(value: Any, name: str) -> datetime | None:
    if value in (None, ""):
        return None
    if isinstance(value, datetime):
        return as_utc(value)
    try:
        return as_utc(parse_rfc3339(str(value)))
    except Exception as exc:  # noqa: BLE001 - the parser raises several kinds
        raise SilenceError(f"{name}: not an RFC 3339 time ({value!r})") from exc


def _check_matchers(raw: Sequence[Any]) -> tuple[Matcher, ...]:
    if not raw:
        raise SilenceError("matchers: at least one matcher is needed")
    try:
        matchers = parse_matchers(raw)
    except MatcherError as exc:
        raise SilenceError(f"matchers: {exc}") from exc
    # As in Alertmanager: a silence whose matchers all match the empty string would mute
    # every alert; refuse it.
    if all(m.matches({}) for m in matchers):
        raise SilenceError("matchers: at least one matcher must not match the empty label value")
    return matchers


class Silences:
    """Current silences, cached in memory; every change is written to the store first."""

    def __init__(self, store: Store) -> None:
        self._store = store
        self._lock = threading.Lock()
        self._by_id: dict[str, Silence] = {}

    def load(self) -> None:
        loaded: dict[str, Silence] = {}
        for row in self._store.query(SQL["silences_current"]):
            if row["deleted"]:
                continue
            loaded[row["silence_id"]] = Silence(
                id=row["silence_id"],
                matchers=parse_matchers(json.loads(row["matchers"])),
                starts_at=as_utc(row["starts_at"]),
                ends_at=as_utc(row["ends_at"]),
                created_by=row["created_by"],
                comment=row["comment"],
                updated_at=as_utc(row["at"]),
                updated_by=row["updated_by"],
                version=int(row["version"]),
            )
        with self._lock:
            self._by_id = loaded

    def all(self) -> list[Silence]:
        with self._lock:
            return sorted(self._by_id.values(), key=lambda s: s.starts_at)

    def get(self, silence_id: str) -> Silence | None:
        with self._lock:
            return self._by_id.get(silence_id)

    def active(self, now: datetime) -> list[Silence]:
        """The silences muting alerts at `now`, in the order `muting` names them."""
        with self._lock:
            return [s for s in self._by_id.values() if s.state(now) == "active"]

    def muting(self, labels: Mapping[str, str], now: datetime) -> list[str]:
        with self._lock:
            return [s.id for s in self._by_id.values() if s.mutes(labels, now)]

    def create(self, body: Mapping[str, Any], actor: str) -> Silence:
        now = utcnow()
        matchers = _check_matchers(body.get("matchers") or [])
        starts = _parse_time(body.get("startsAt"), "startsAt") or now
        ends = _parse_time(body.get("endsAt"), "endsAt")
        if ends is None:
            raise SilenceError("endsAt: required")
        if ends <= starts:
            raise SilenceError("endsAt: must be after startsAt")
        if ends <= now:
            raise SilenceError("endsAt: must be in the future")
        silence = Silence(
            id=str(uuid.uuid4()),
            matchers=matchers,
            starts_at=starts,
            ends_at=ends,
            created_by=str(body.get("createdBy") or actor),
            comment=str(body.get("comment") or ""),
            updated_at=now,
            updated_by=actor,
            version=time.time_ns(),
        )
        if not silence.comment.strip():
            raise SilenceError("comment: say why alerts are silenced")
        self._save(silence, deleted=False)
        return silence

    def update(self, silence_id: str, body: Mapping[str, Any], actor: str) -> Silence:
        old = self.get(silence_id)
        if old is None:
            raise KeyError(silence_id)
        now = utcnow()
        if old.state(now) == "expired":
            raise SilenceError("this silence has expired; create a new one")
        matchers = (
            _check_matchers(body["matchers"]) if body.get("matchers") is not None else old.matchers
        )
        starts = _parse_time(body.get("startsAt"), "startsAt") or old.starts_at
        ends = _parse_time(body.get("endsAt"), "endsAt") or old.ends_at
        if ends <= starts:
            raise SilenceError("endsAt: must be after startsAt")
        new = replace(
            old,
            matchers=matchers,
            starts_at=starts,
            ends_at=ends,
            comment=str(body["comment"]) if body.get("comment") is not None else old.comment,
            updated_at=now,
            updated_by=actor,
            version=time.time_ns(),
        )
        self._save(new, deleted=False)
        return new

    def expire(self, silence_id: str, actor: str) -> Silence:
        """End a silence now (Alertmanager's DELETE); it stays listed as expired."""
        old = self.get(silence_id)
        if old is None:
            raise KeyError(silence_id)
        now = utcnow()
        if old.state(now) == "expired":
            return old
        # A pending silence that is expired never starts: both ends collapse to now.
        starts = min(old.starts_at, now)
        new = replace(
            old,
            starts_at=starts,
            ends_at=now,
            updated_at=now,
            updated_by=actor,
            version=time.time_ns(),
        )
        self._save(new, deleted=False)
        return new

    def _save(self, s: Silence, *, deleted: bool) -> None:
        row = [
            s.id,
            s.version,
            s.updated_at,
            json.dumps([m.as_json() for m in s.matchers]),
            s.starts_at,
            s.ends_at,
            s.created_by,
            s.comment,
            s.updated_by,
            1 if deleted else 0,
        ]
        self._store.insert_rows("alert_silences", [row], _COLUMNS)
        with self._lock:
            self._by_id[s.id] = s

    def gc(self, now: datetime, keep: timedelta = timedelta(days=5)) -> None:
        """Forget silences expired long ago (they remain in the store's history)."""
        with self._lock:
            for sid in [k for k, s in self._by_id.items() if s.ends_at < now - keep]:
                del self._by_id[sid]
