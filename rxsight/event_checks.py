"""What an event must hold beyond its shape (DESIGN 4): key fields per type, quantities ≥ 0,
and a correlation ID that a URL path can carry."""

from __future__ import annotations

from rxsight.event_rows import EventRow

# Beyond the five common fields; an event without one of them is rejected, naming it.
REQUIRED_BY_TYPE: dict[str, tuple[str, ...]] = {
    "replenishment.requested": ("site", "item_id", "quantity"),
    "po.created": ("po_number", "supplier_id", "lines"),
    "po.transmitted": ("po_number",),
    "po.acknowledged": ("po_number", "status"),
    "shipment.notified": ("po_number",),
    "goods.received": ("receipt_id", "po_number", "lines"),
    "receipt.posted": ("receipt_id",),
    "invoice.received": ("supplier_id", "invoice_number", "lines"),
    "invoice.matched": ("supplier_id", "invoice_number"),
    "invoice.disputed": ("supplier_id", "invoice_number"),
    "payment.scheduled": ("supplier_id", "invoice_number"),
    "payment.sent": ("supplier_id", "invoice_number"),
    "journal.posted": ("amount",),
    "inventory.updated": ("site", "item_id"),
}


def correlation_id_problem(value: str, field: str = "correlation_id") -> str | None:
    """Why `value` cannot be a correlation ID, or None. It is read back as one segment of
    /api/transactions/{id}: a `/` splits it, and clients resolve `.` and `..` away."""
    if "/" in value:
        return f"{field}: must not contain '/' (it is read back at /api/transactions/{{id}})"
    if value in (".", ".."):
        return f"{field}: must not be '.' or '..' (it is read back at /api/transactions/{{id}})"
    return None


def event_problem(row: EventRow) -> str | None:
    """Why a well-formed event cannot be right, or None: a key field of its type missing,
    a negative quantity (a return is its own event type), an unreadable correlation ID."""
    missing = [
        name for name in REQUIRED_BY_TYPE.get(row.event_type, ()) if getattr(row, name) in _ABSENT
    ]
    if missing:
        return "; ".join(f"{name}: required for {row.event_type}" for name in missing)
    if row.quantity is not None and row.quantity < 0:
        return "quantity: must be ≥ 0 (a return or correction is its own event type)"
    for i, line in enumerate(row.lines):
        if line.quantity is not None and line.quantity < 0:
            return f"lines.{i}.quantity: must be ≥ 0 (a return or correction is its own event type)"
    return correlation_id_problem(row.correlation_id)


_ABSENT = (None, "", [])
