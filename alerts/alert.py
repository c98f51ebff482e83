"""An alert: the labels, annotations and state an exception change turns into."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

import rules.public as rules_public
from alerts.labelset import fingerprint
from rxsight.timeutil import as_utc, rfc3339

if TYPE_CHECKING:
    from rules.public import SlaClock

ENTITY_ANNOTATIONS = (
    "correlation_id",
    "po_number",
    "invoice_number",
    "supplier_id",
    "receipt_id",
)


def console_link(base: str, exception_id: str) -> str:
    return f"{base.rstrip('/')}/exceptions/{quote(exception_id, safe='')}"


@dataclass(slots=True)  # a million of them live in the dispatcher
class Alert:
    fingerprint: str
    exception_id: str
    labels: dict[str, str]
    annotations: dict[str, str]
    starts_at: datetime
    ends_at: datetime | None  # None while firing
    updated_at: datetime
    version: int
    acknowledged: bool = False
    # The exception history said "escalated" (a person or the rules stage escalated it).
    escalated_by_change: bool = False
    # The exception's SLA clock (rules.sla): escalation is due when one runs out.
    ack_due: datetime | None = None
    resolve_due: datetime | None = None
    console_url: str = ""
    receivers: set[str] = field(default_factory=set)

    @property
    def firing(self) -> bool:
        return self.ends_at is None

    def sla_breached(self, now: datetime) -> bool:
        """Unacknowledged past its ack target, or unresolved past its resolve target."""
        late_ack = not self.acknowledged and self.ack_due is not None and now > self.ack_due
        return late_ack or (self.resolve_due is not None and now > self.resolve_due)

    def as_json(self) -> dict[str, Any]:
        return {
            "fingerprint": self.fingerprint,
            "exception_id": self.exception_id,
            "labels": dict(self.labels),
            "annotations": dict(self.annotations),
            "startsAt": rfc3339(self.starts_at),
            "endsAt": rfc3339(self.ends_at),
            "updatedAt": rfc3339(self.updated_at),
            "acknowledged": self.acknowledged,
            "consoleURL": self.console_url,
        }


def from_exception(row: dict[str, Any], console_base: str, sla: SlaClock | None = None) -> Alert:
    """The alert for the current state of an exception (its latest history row), with the
    exception's SLA clock when one is configured."""
    family = str(row.get("family") or "")
    labels = {"alertname": family or "exception"}
    # The labels the contract names, plus those the family says tell its alerts apart.
    for col in rules_public.alert_labels(family):
        value = row.get(col)
        if value not in (None, ""):
            labels[col] = str(value)
    if row.get("rule_id"):
        labels["rule_id"] = str(row["rule_id"])
    labels["exception_id"] = str(row["exception_id"])
    link = console_link(console_base, row["exception_id"])
    annotations = {"summary": str(row.get("summary") or ""), "console": link}
    if row.get("details"):
        annotations["description"] = str(row["details"])
    for col in ENTITY_ANNOTATIONS:
        if row.get(col):
            annotations[col] = str(row[col])
    if row.get("since"):
        annotations["since"] = rfc3339(row["since"]) or ""
    at = as_utc(row["at"])
    opened = row.get("opened_at")
    starts = as_utc(opened) if opened and as_utc(opened).year > 1970 else at
    resolved = row.get("status") == "resolved" or row.get("change") in ("resolved", "auto_resolved")
    due = sla.clock(row, at) if sla is not None else None
    return Alert(
        fingerprint=fingerprint(labels),
        exception_id=str(row["exception_id"]),
        labels=labels,
        annotations=annotations,
        starts_at=starts,
        ends_at=at if resolved else None,
        updated_at=at,
        version=int(row["version"]),
        acknowledged=row.get("status") == "acknowledged",
        escalated_by_change=row.get("change") == "escalated",
        ack_due=due.ack_due if due else None,
        resolve_due=due.resolve_due if due else None,
        console_url=link,
    )
