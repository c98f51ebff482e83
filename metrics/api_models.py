"""The answer of GET /api/kpis (DESIGN 7a) in the OpenAPI document."""

from __future__ import annotations

from pydantic import Field

from rxsight.openapi import ApiModel, DecimalText, Instant, Number


class KpiRow(ApiModel):
    """A rate row carries its counts (numerator, denominator); a percentile row its n."""

    kpi: str
    group: dict[str, str | int] = Field(
        description='{} for the whole system, or one dimension: {"site": ...}, {"tier": n}, ...'
    )
    value: Number
    numerator: Number | None = None
    denominator: Number | None = None
    n: int | None = None


class Kpis(ApiModel):
    from_: Instant = Field(alias="from")
    to: Instant
    as_of: Instant
    rows: list[KpiRow]


class MonthEndReceipt(ApiModel):
    """One goods receipt of the month: what the dock received, the ERP booked and the GL
    journaled, valued at the PO lines' prices."""

    receipt_id: str
    status: str = Field(
        description="its finding: reconciliation's reason or delayed_receipt's not_posted; "
        "'' when none"
    )
    site: str
    po_number: str
    supplier_id: str
    received_at: Instant | None
    posted_at: Instant | None
    received_quantity: DecimalText
    booked_quantity: DecimalText | None = Field(
        description="the ERP's latest posting with lines (else its header quantity)"
    )
    received_value: DecimalText | None = Field(
        description="received quantities x PO line prices; null when a line has no price"
    )
    booked_amount: DecimalText | None
    journaled_amount: DecimalText | None = Field(
        description="the journals naming the receipt, summed; null when none did"
    )
    booked_difference: DecimalText | None
    journaled_difference: DecimalText | None
    journals: int
    currency: str
    differs: bool


class MonthEndReport(ApiModel):
    month: str
    from_: Instant = Field(alias="from")
    to: Instant
    as_of: Instant
    receipts: int
    differing: int
    rows: list[MonthEndReceipt] = Field(description="differences first, largest first")
