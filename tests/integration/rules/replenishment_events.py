"""Events of one replenishment request's life (request, PO, goods receipt) for the rules
tests that write them straight into a Store (tests.support.store_events): one line item,
the request's item on the PO and the receipt."""

from __future__ import annotations

from datetime import datetime
from typing import Any


def request(
    corr: str, at: datetime, item: str, quantity: int, site: str, **fields: Any
) -> dict[str, Any]:
    return {
        "event_type": "replenishment.requested",
        "correlation_id": corr,
        "at": at,
        "site": site,
        "priority": "routine",
        "item_id": item,
        "quantity": quantity,
        **fields,
    }


def po(corr: str, po_number: str, at: datetime, item: str, quantity: int) -> dict[str, Any]:
    return {
        "event_type": "po.created",
        "correlation_id": corr,
        "at": at,
        "po_number": po_number,
        "supplier_id": "SUP-1",
        "lines": [{"line_no": 1, "item_id": item, "quantity": quantity, "unit_price": "2"}],
    }


def receipt(
    corr: str, po_number: str, receipt_id: str, at: datetime, item: str, quantity: int
) -> dict[str, Any]:
    return {
        "event_type": "goods.received",
        "correlation_id": corr,
        "at": at,
        "po_number": po_number,
        "receipt_id": receipt_id,
        "lines": [{"line_no": 1, "item_id": item, "quantity": quantity}],
    }
