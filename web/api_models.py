"""The answers of the console's read API (web/api.py) in the OpenAPI document."""

from __future__ import annotations

from pydantic import Field

from rxsight.audit import AuditEntry
from rxsight.openapi import ApiModel, ApiRow, DecimalText, Instant


class StoredLine(ApiModel):
    line_no: int
    item_id: str | None
    quantity: DecimalText | None
    unit_price: DecimalText | None
    uom: str | None


class StoredEvent(ApiRow):
    """A business event as stored (DESIGN 4); absent fields are null."""

    event_id: str
    event_type: str
    occurred_at: Instant
    received_at: Instant
    correlation_id: str
    source_system: str
    site: str | None
    domain: str | None
    item_id: str | None
    supplier_id: str | None
    po_number: str | None
    invoice_number: str | None
    receipt_id: str | None
    quantity: DecimalText | None
    unit_price: DecimalText | None
    amount: DecimalText | None
    currency: str | None
    cost_center: str | None
    priority: str | None
    status: str | None
    expected_at: Instant | None
    promised_at: Instant | None
    due_at: Instant | None
    trace_id: str | None
    attributes: dict[str, str]
    lines: list[StoredLine]


class StoredSpan(ApiRow):
    start: Instant
    trace_id: str
    span_id: str
    parent_span_id: str
    name: str
    kind: str
    service: str
    flow: str
    duration_ns: int
    status_code: str
    status_message: str
    attributes: dict[str, str]


class Transaction(ApiModel):
    correlation_id: str
    events: list[StoredEvent] = Field(description="each event once, in time order")
    spans: list[StoredSpan]
    linked_events: list[StoredEvent] = Field(
        description="other transactions' events sharing its PO, receipt or invoice number"
    )


class SearchHit(ApiRow):
    correlation_id: str
    matched: str = Field(description="correlation_id, po_number, invoice_number or receipt_id")
    first_at: Instant
    last_at: Instant
    event_types: list[str]
    site: str


class SearchResults(ApiModel):
    q: str
    results: list[SearchHit]


class AuditPage(ApiModel):
    items: list[AuditEntry]
    total: int


class ChainHead(ApiModel):
    seq: int
    hash: str


class AuditVerification(ApiModel):
    intact: bool
    entries: int
    earlier_entries: int
    head: ChainHead | None
    anchor: str | None
    problems: list[str]
