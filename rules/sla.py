"""The exception SLA clock: time to acknowledge and to resolve per family and class.

Configured under `rules: sla:` as family -> class -> targets, where a class is a request
priority (stat, urgent, routine), a severity (info, warning, critical) or `default`:

    rules:
      sla:
        open_replenishment:
          stat: {ack_minutes: 15, resolve_hours: 8}
          default: {ack_minutes: 60, resolve_hours: 72}
        default:
          default: {ack_minutes: 240, resolve_hours: 72}

The most specific entry wins: priority, then severity, then the family's `default`, then the
same three under the `default` family. Both clocks start when the exception opens (again on
reopen); acknowledging stops the first, resolving both. This module is the one place that
decides which targets apply: the list query gets them as lookup arrays built here, the
detail page and the alerts' escalation call `targets` / `clock` directly.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Literal

from pydantic import Field, ValidationError

from rxsight.config import Settings, Strict, format_validation_errors
from rxsight.timeutil import as_utc, parse_rfc3339

PRIORITIES = ("stat", "urgent", "routine")
SEVERITIES = ("info", "warning", "critical")
DEFAULT = "default"
# A clock counts as "due soon" in the last quarter of its target.
DUE_SOON_SHARE = 0.25
DUE_STATES = ("overdue", "due_soon", "on_time", "met", "none")


class Targets(Strict):
    ack_minutes: float | None = Field(default=None, gt=0)
    resolve_hours: float | None = Field(default=None, gt=0)

    @property
    def ack(self) -> timedelta | None:
        return timedelta(minutes=self.ack_minutes) if self.ack_minutes else None

    @property
    def resolve(self) -> timedelta | None:
        return timedelta(hours=self.resolve_hours) if self.resolve_hours else None


Class = Literal["stat", "urgent", "routine", "info", "warning", "critical", "default"]


class SlaSection(Strict):
    families: dict[str, dict[Class, Targets]] = {}


class SlaConfigError(ValueError):
    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        super().__init__("; ".join(problems))


@dataclass(frozen=True)
class Due:
    """One exception's clock: when acknowledgement and resolution are due, and where it
    stands at `now` (`state` is the nearer of the two that still runs)."""

    ack_due: datetime | None
    resolve_due: datetime | None
    ack_state: str
    resolve_state: str
    state: str
    next_due: datetime | None

    def as_json(self) -> dict[str, Any]:
        from rxsight.timeutil import rfc3339

        return {
            "ack_due": rfc3339(self.ack_due),
            "resolve_due": rfc3339(self.resolve_due),
            "ack_state": self.ack_state,
            "resolve_state": self.resolve_state,
            "due_state": self.state,
            "next_due": rfc3339(self.next_due),
        }


@dataclass(frozen=True)
class SlaClock:
    by_family: dict[str, dict[str, Targets]]

    def targets(self, family: str, severity: str | None, priority: str | None) -> Targets:
        """The configured targets for one exception; empty Targets when none apply."""
        for fam in (family, DEFAULT):
            classes = self.by_family.get(fam) or {}
            for cls in (priority, severity, DEFAULT):
                if cls and cls in classes:
                    return classes[cls]
        return Targets()

    def lookup_params(self) -> dict[str, Any]:
        """The targets as lookup arrays for queries that compute the clock: `sla_keys`, every
        family|severity|priority combination with targets (family `*` stands for every family
        the configuration does not name), and `sla_running_ms`, the length of the clock that
        runs for the key at 1-based position i and a status, at (i * 3 + 1) while open, + 2
        when resolved, + 3 otherwise (0 = none runs; i = 0, no targets, is all zeros)."""
        keys: list[str] = []
        running_ms: list[int] = [0, 0, 0]
        for family in sorted({*self.by_family, DEFAULT}):
            for severity in SEVERITIES:
                for priority in ("", *PRIORITIES):
                    t = self.targets(family, severity, priority or None)
                    if t.ack is None and t.resolve is None:
                        continue
                    keys.append(f"{'*' if family == DEFAULT else family}|{severity}|{priority}")
                    # Open, both clocks run and the nearer one is shown (as `clock` does).
                    ack, resolve = _ms(t.ack), _ms(t.resolve)
                    running_ms += [min(ms for ms in (ack, resolve) if ms), 0, resolve]
        return {"sla_keys": keys, "sla_running_ms": running_ms}

    def clock(self, exc: dict[str, Any], now: datetime) -> Due:
        """The clock of one exception row (family, severity, status, opened_at, details)."""
        details = exc.get("details")
        if isinstance(details, str):  # a stored row: the details column is JSON text
            try:
                details = json.loads(details or "{}")
            except ValueError:
                details = None
        priority = details.get("priority") if isinstance(details, dict) else None
        t = self.targets(str(exc.get("family") or ""), exc.get("severity"), priority)
        opened = _instant(exc.get("opened_at")) or _instant(exc.get("at"))
        status = exc.get("status")
        ack_due = opened + t.ack if opened and t.ack else None
        resolve_due = opened + t.resolve if opened and t.resolve else None
        ack_state = _state(ack_due, t.ack, now, met=status != "open")
        resolve_state = _state(resolve_due, t.resolve, now, met=status == "resolved")
        # The clock that runs out first is the one to show (as the list query does).
        running = [
            (due, state)
            for due, state in ((ack_due, ack_state), (resolve_due, resolve_state))
            if due is not None and state not in ("met", "none")
        ]
        if running:
            next_due, state = min(running, key=lambda p: p[0])
        else:
            next_due, state = None, "met" if t.ack or t.resolve else "none"
        return Due(ack_due, resolve_due, ack_state, resolve_state, state, next_due)


def _ms(delta: timedelta | None) -> int:
    return int(delta.total_seconds() * 1000) if delta else 0


def _instant(value: Any) -> datetime | None:
    if isinstance(value, datetime):
        dt = as_utc(value)
    elif isinstance(value, str) and value:
        dt = parse_rfc3339(value)
    else:
        return None
    return dt if dt.year > 1970 else None


def _state(due: datetime | None, target: timedelta | None, now: datetime, *, met: bool) -> str:
    if due is None or target is None:
        return "none"
    if met:
        return "met"
    if now > due:
        return "overdue"
    if due - now <= target * DUE_SOON_SHARE:
        return "due_soon"
    return "on_time"


def parse(raw: Any, source: str = "(no config file)") -> SlaClock:
    """The `rules.sla` mapping; SlaConfigError names each bad path."""
    try:
        section = SlaSection.model_validate({"families": raw or {}})
    except ValidationError as exc:
        problems = format_validation_errors(exc, prefix="rules.sla")
        raise SlaConfigError(
            [f"{source}: {p.replace('rules.sla.families', 'rules.sla')}" for p in problems]
        ) from exc
    return SlaClock(section.families)


def load(settings: Settings) -> SlaClock:
    source = str(settings.config_path or "(no config file)")
    return parse((settings.config.rules or {}).get("sla"), source)
