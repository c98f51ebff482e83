"""The rules stage's public functions, for the console and other stages (signatures fixed)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from rxsight.config import Settings
from rxsight.runtime import Runtime
from rxsight.store import Store

ACTIONS = ("ack", "assign", "comment", "resolve", "reopen")


def list_exceptions(
    store: Store,
    *,
    family: str | None = None,
    reason: str | None = None,
    status: str | None = None,
    site: str | None = None,
    owner: str | None = None,
    since: datetime | None = None,
    q: str | None = None,
    sort: str = "age",
    limit: int = 50,
    offset: int = 0,
) -> tuple[list[dict[str, Any]], int]:
    """Current state of matching exceptions (oldest first by default) and the total count."""
    raise NotImplementedError


def get_exception(store: Store, exception_id: str) -> dict[str, Any] | None:
    """Current state plus "history": every change, oldest first; None when unknown."""
    raise NotImplementedError


def act(
    store: Store,
    exception_id: str,
    action: str,
    actor: str,
    *,
    comment: str | None = None,
    assignee: str | None = None,
) -> dict[str, Any]:
    """Apply a person's action (one of ACTIONS), audit-logged; returns the new state.
    KeyError: unknown exception. ValueError: the action does not apply (message says why)."""
    raise NotImplementedError


def open_replenishments(
    store: Store, settings: Settings, as_of: datetime | None = None
) -> list[dict[str, Any]]:
    """Every open replenishment request with its age and whether it is late."""
    raise NotImplementedError


def flows(store: Store, settings: Settings, as_of: datetime | None = None) -> list[dict[str, Any]]:
    """Each flow: tier, volume, error rate, p95, last seen, status against its tier."""
    raise NotImplementedError


def rule_status(runtime: Runtime) -> list[dict[str, Any]]:
    """Each rule: id, family, enabled, last run, duration, findings, last error."""
    raise NotImplementedError
