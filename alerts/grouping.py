"""Alert groups and the notification log, as Alertmanager keeps them: a group per route and
group labels, and per group and receiver what was last sent (its nflog), which decides
whether a flush sends anything."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from alerts.alert import Alert
from alerts.labelset import labelset_string
from alerts.route import RouteNode


@dataclass
class LogEntry:
    """What the last notification for a group and receiver said (Alertmanager's nflog)."""

    firing: frozenset[str]
    resolved: frozenset[str]
    at: datetime


@dataclass
class Group:
    id: str  # unique per route (its position) and group labels; `key` may repeat across routes
    key: str  # Alertmanager's groupKey, as receivers see it
    route: RouteNode
    receiver: str
    labels: dict[str, str]
    escalation: bool
    fingerprints: set[str] = field(default_factory=set)
    next_flush: float = 0.0
    flushed: bool = False


def needs_update(
    entry: LogEntry | None,
    firing: set[str],
    resolved: set[str],
    repeat_interval: float,
    now: datetime,
) -> bool:
    """Alertmanager's dedup: send when something new fires, something notified resolves, or
    the repeat interval has passed; never for alerts that fired and resolved unseen."""
    if entry is None:
        return bool(firing)
    if not firing <= entry.firing:
        return True
    if not firing:
        return bool(entry.firing)
    if not resolved <= entry.resolved:
        return True
    return entry.at + timedelta(seconds=repeat_interval) <= now


def group_ids(node: RouteNode, labels: dict[str, str], escalation: bool) -> tuple[str, str]:
    """(internal id, groupKey). Escalation groups are rxsight's own: `/escalation` after the
    route key keeps them apart from the route's ordinary group."""
    suffix = "/escalation" if escalation else ""
    text = labelset_string(labels)
    return f"{node.id}{suffix}:{text}", f"{node.key}{suffix}:{text}"


def groups_holding(
    groups: dict[str, Group], routes: Iterable[RouteNode], alert: Alert, escalation: bool
) -> Iterator[Group]:
    """The groups (escalation groups, or the others) of an alert's routes that hold it."""
    for node in routes:
        if escalation and not node.opts.escalation_receiver:
            continue
        group = groups.get(group_ids(node, node.group_labels(alert.labels), escalation)[0])
        if group is not None and alert.fingerprint in group.fingerprints:
            yield group
