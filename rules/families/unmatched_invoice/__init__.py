"""unmatched_invoice: supplier invoices that do not match their PO and receipt."""

from __future__ import annotations

from decimal import Decimal

from pydantic import Field

from rules.families import Details, Entity, Family, Rule, put_threshold
from rxsight.config import Strict

REASONS = ("duplicate", "no_po", "price_variance", "no_receipt", "quantity_mismatch")
_HOUR_MS = 3_600_000
_DEFAULT_GRACE_H = {
    "duplicate": 0,
    "no_po": 4,
    "price_variance": 0,
    "no_receipt": 48,
    "quantity_mismatch": 24,
}
DEFAULT_PRICE_TOLERANCE_PCT = Decimal(2)


class InvoiceGraceHours(Strict):
    duplicate: float | None = Field(default=None, ge=0)
    no_po: float | None = Field(default=None, ge=0)
    price_variance: float | None = Field(default=None, ge=0)
    no_receipt: float | None = Field(default=None, ge=0)
    quantity_mismatch: float | None = Field(default=None, ge=0)


class InvoiceThresholds(Strict):
    price_tolerance_pct: Decimal | None = Field(default=None, ge=0, le=100)
    grace_hours: InvoiceGraceHours = InvoiceGraceHours()


def threshold_values(t: InvoiceThresholds, with_defaults: bool) -> dict[str, int]:
    out: dict[str, int] = {}
    for r in REASONS:
        grace = getattr(t.grace_hours, r)
        put_threshold(
            out, f"invoice.grace_ms.{r}", grace, _HOUR_MS, _DEFAULT_GRACE_H[r], with_defaults
        )
    # ppm: the tolerance compared in exact decimal arithmetic inside the query.
    put_threshold(
        out,
        "invoice.price_tolerance_ppm",
        t.price_tolerance_pct,
        10_000,
        float(DEFAULT_PRICE_TOLERANCE_PCT),
        with_defaults,
    )
    return out


def price_tolerance_pct(
    everywhere: InvoiceThresholds, at_site: InvoiceThresholds | None
) -> Decimal:
    """The tolerance the rule applies at a site: the site's own, else the global one, else 2 %."""
    for t in (at_site, everywhere):
        if t is not None and t.price_tolerance_pct is not None:
            return t.price_tolerance_pct
    return DEFAULT_PRICE_TOLERANCE_PCT


_TEXT = {
    "duplicate": "received more than once",
    "price_variance": "a line's price differs from the PO by more than the tolerance",
    "no_receipt": "nothing received on the billed lines",
    "quantity_mismatch": "invoiced quantity exceeds received quantity",
}


def summarize(reason: str, e: Entity, d: Details) -> str:
    inv = f"invoice {e['invoice_number']} from {e['supplier_id']}"
    if reason == "no_po":
        return f"{inv}: PO {e.get('po_number') or '(none)'} unknown or a line is not on it"
    return f"{inv}: {_TEXT.get(reason, reason)}"


FAMILY = Family(
    name="unmatched_invoice",
    order=20,
    description="Supplier invoices that do not match a PO and receipt",
    rules=(
        # Its incremental scope is the POs billed together with the touched ones, worked out
        # by the planner (rules/incremental.py), not a column of touched.sql.
        Rule(
            "unmatched_invoice",
            "Supplier invoices that do not match a PO and receipt (duplicate, no PO, price, "
            "receipt, quantity)",
            "unmatched_invoice",
            scope_key="po_number",
        ),
    ),
    default_owner="accounts-payable",
    default_severity="warning",
    summarize=summarize,
    thresholds=InvoiceThresholds,
    threshold_values=threshold_values,
    reasons=REASONS,
    module_file=__file__,
)
