"""delayed_receipt: POs late against their promised date, and receipts not posted to the ERP."""

from __future__ import annotations

from pydantic import Field

from rules.families import Details, Entity, Family, Rule, put_threshold
from rxsight.config import Strict
from rxsight.timeutil import summary_time

_HOUR_MS = 3_600_000


class DelayedThresholds(Strict):
    grace_hours: float | None = Field(default=None, ge=0)
    posting_minutes: float | None = Field(default=None, ge=0)


def threshold_values(t: DelayedThresholds, with_defaults: bool) -> dict[str, int]:
    out: dict[str, int] = {}
    put_threshold(out, "delayed.grace_ms", t.grace_hours, _HOUR_MS, 4, with_defaults)
    put_threshold(out, "delayed.posting_ms", t.posting_minutes, 60_000, 30, with_defaults)
    return out


def summarize(reason: str, e: Entity, d: Details) -> str:
    if reason == "not_posted":
        return f"receipt {e['receipt_id']} not posted to the ERP"
    return (
        f"PO {e['po_number']} late ({reason.replace('_', ' ')}): received "
        f"{d.get('received')} of {d.get('ordered')}, due {summary_time(d.get('due'))}"
    )


FAMILY = Family(
    name="delayed_receipt",
    order=30,
    description="POs not fully received in time, and receipts not posted to the ERP",
    rules=(
        Rule(
            "delayed_receipt",
            "POs past their promised (else expected) date plus grace, not fully received",
            "delayed_receipt",
            scope_key="po_number",
            touched_column="po_numbers",
        ),
        Rule(
            "receipt_posting",
            "Goods receipts not posted to the ERP within the posting limit (reason not_posted)",
            "not_posted",
            scope_key="receipt_id",
            touched_column="receipt_ids",
        ),
    ),
    default_owner="receiving",
    default_severity="warning",
    summarize=summarize,
    thresholds=DelayedThresholds,
    threshold_values=threshold_values,
    reasons=("backordered", "substituted", "partial", "not_received", "not_posted"),
    module_file=__file__,
)
