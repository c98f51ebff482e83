"""open_replenishment: requests without a PO, or not fully received, past their priority's limit."""

from __future__ import annotations

from pydantic import Field

from rules.families import Details, Entity, Family, Rule, put_threshold
from rxsight.config import Strict

PRIORITIES = ("stat", "urgent", "routine")
_HOUR_MS = 3_600_000
_DEFAULT_PO_H = {"stat": 1, "urgent": 4, "routine": 24}
_DEFAULT_RECEIPT_H = {"stat": 8, "urgent": 24, "routine": 72}


class PriorityHours(Strict):
    stat: float | None = Field(default=None, ge=0)
    urgent: float | None = Field(default=None, ge=0)
    routine: float | None = Field(default=None, ge=0)


class ReplenishmentThresholds(Strict):
    po_hours: PriorityHours = PriorityHours()
    receipt_hours: PriorityHours = PriorityHours()


def threshold_values(t: ReplenishmentThresholds, with_defaults: bool) -> dict[str, int]:
    out: dict[str, int] = {}
    for p in PRIORITIES:
        po, receipt = getattr(t.po_hours, p), getattr(t.receipt_hours, p)
        put_threshold(
            out, f"replenishment.po_ms.{p}", po, _HOUR_MS, _DEFAULT_PO_H[p], with_defaults
        )
        put_threshold(
            out,
            f"replenishment.receipt_ms.{p}",
            receipt,
            _HOUR_MS,
            _DEFAULT_RECEIPT_H[p],
            with_defaults,
        )
    return out


def severity_of(reason: str, details: Details) -> str | None:
    return "critical" if details.get("priority") == "stat" else None


def summarize(reason: str, e: Entity, d: Details) -> str:
    what = f"{d.get('priority', 'routine')} request {e['correlation_id']}"
    where = f" at {e['site']}" if e.get("site") else ""
    if reason == "no_po":
        return f"{what}{where}: no PO within {d.get('limit_hours')} h"
    return (
        f"{what}{where}: PO {d.get('po_numbers') or ''} not fully received within "
        f"{d.get('limit_hours')} h ({d.get('received')} of {d.get('ordered')})"
    )


FAMILY = Family(
    name="open_replenishment",
    order=10,
    description="Replenishment requests waiting too long for a PO or for the goods",
    rules=(
        Rule(
            "open_replenishment",
            "Replenishment requests without a PO, or not fully received, past their "
            "priority's limit",
            "open_replenishment",
            scope_key="correlation_id",
            touched_column="correlation_ids",
        ),
    ),
    default_owner="pharmacy",
    default_severity="warning",
    summarize=summarize,
    severity_of=severity_of,
    thresholds=ReplenishmentThresholds,
    threshold_values=threshold_values,
    reasons=("no_po", "not_received"),
    module_file=__file__,
)
