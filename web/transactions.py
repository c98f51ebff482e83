"""Reading one transaction: its events, spans and the events linked to it by business key."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from rxsight.store import SqlFiles, Store
from rxsight.timeutil import jsonable
from web.data import until

SQL = SqlFiles(__file__)


def _event(row: dict[str, Any]) -> dict[str, Any]:
    lines = [
        {"line_no": n, "item_id": item or None, "quantity": q, "unit_price": p, "uom": u or None}
        for n, item, q, p, u in zip(
            row.pop("line_no"),
            row.pop("line_item_id"),
            row.pop("line_quantity"),
            row.pop("line_unit_price"),
            row.pop("line_uom"),
            strict=True,
        )
    ]
    out = {k: (None if v == "" else v) for k, v in row.items()}
    out["lines"] = lines
    return jsonable(out)


def transaction(store: Store, correlation_id: str, as_of: datetime | None = None) -> dict[str, Any]:
    """The transaction as it stood at `as_of` (default: everything so far)."""
    bound = {"correlation_id": correlation_id, "as_of": until(as_of)}
    events = [_event(r) for r in store.query(SQL["transaction_events"], bound)]
    spans = [jsonable(r) for r in store.query(SQL["transaction_spans"], bound)]
    keys = {
        k: sorted({e[k] for e in events if e.get(k)})
        for k in ("po_number", "receipt_id", "invoice_number")
    }
    linked: list[dict[str, Any]] = []
    if any(keys.values()):
        linked = [
            _event(r)
            for r in store.query(
                SQL["linked_events"],
                {
                    **bound,
                    "po_numbers": keys["po_number"],
                    "receipt_ids": keys["receipt_id"],
                    "invoice_numbers": keys["invoice_number"],
                },
            )
        ]
    return {
        "correlation_id": correlation_id,
        "events": events,
        "spans": spans,
        "linked_events": linked,
    }


def search(store: Store, q: str, as_of: datetime | None = None) -> list[dict[str, Any]]:
    """The transactions `q` names that had begun by `as_of` (default: all)."""
    params = {"q": q.strip(), "as_of": until(as_of)}
    return [jsonable(r) for r in store.query(SQL["search"], params)]
