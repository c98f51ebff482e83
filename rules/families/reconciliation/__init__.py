"""reconciliation: goods receipts whose ERP booking or GL journals disagree with the dock."""

from __future__ import annotations

from decimal import Decimal

from pydantic import Field

from rules.families import Details, Entity, Family, Rule, put_threshold
from rxsight.config import Strict
from rxsight.timeutil import summary_time

REASONS = ("quantity_mismatch", "not_journaled", "amount_mismatch")
_HOUR_MS = 3_600_000


class ReconciliationThresholds(Strict):
    quantity_mismatch_hours: float | None = Field(default=None, ge=0)
    journal_hours: float | None = Field(default=None, ge=0)
    amount_mismatch_hours: float | None = Field(default=None, ge=0)
    # amount_mismatch needs both: more than this share of the receipt's value, and more than
    # this amount (in the receipt's currency).
    amount_tolerance_pct: Decimal | None = Field(default=None, ge=0, le=100)
    amount_tolerance_min: Decimal | None = Field(default=None, ge=0)


def threshold_values(t: ReconciliationThresholds, with_defaults: bool) -> dict[str, int]:
    out: dict[str, int] = {}
    put_threshold(
        out,
        "reconciliation.quantity_ms",
        t.quantity_mismatch_hours,
        _HOUR_MS,
        0,
        with_defaults,
    )
    put_threshold(out, "reconciliation.journal_ms", t.journal_hours, _HOUR_MS, 24, with_defaults)
    put_threshold(
        out, "reconciliation.amount_ms", t.amount_mismatch_hours, _HOUR_MS, 0, with_defaults
    )
    # Compared in exact decimal arithmetic in the query: parts per million, and 1/10,000ths.
    put_threshold(
        out, "reconciliation.tolerance_ppm", t.amount_tolerance_pct, 10_000, 0.5, with_defaults
    )
    put_threshold(
        out,
        "reconciliation.tolerance_min_e4",
        t.amount_tolerance_min,
        10_000,
        0.01,
        with_defaults,
    )
    return out


def summarize(reason: str, e: Entity, d: Details) -> str:
    receipt = f"receipt {e['receipt_id']}"
    if e.get("po_number"):
        receipt += f" (PO {e['po_number']})"
    if reason == "quantity_mismatch":
        return f"{receipt}: the ERP booked other quantities than the dock received"
    if reason == "not_journaled":
        return f"{receipt} posted {summary_time(d.get('posted_at'))}, not journaled to the GL"
    return (
        f"{receipt}: journaled {_money(d.get('journaled'))}, "
        f"received value {_money(d.get('value'))}"
    )


def _money(value: object) -> str:
    try:
        return f"{Decimal(str(value)):.2f}"
    except ArithmeticError:
        return str(value)


FAMILY = Family(
    name="reconciliation",
    order=45,
    description="Receipts the ERP booked differently, or that the GL did not journal in full",
    rules=(
        Rule(
            "reconciliation",
            "Goods receipts whose ERP posting, GL journals or amounts disagree with what the "
            "dock received",
            "reconciliation",
            scope_key="receipt_id",
            touched_column="reconciliation_receipt_ids",
        ),
    ),
    default_owner="finance",
    default_severity="warning",
    summarize=summarize,
    thresholds=ReconciliationThresholds,
    threshold_values=threshold_values,
    reasons=REASONS,
    module_file=__file__,
)
