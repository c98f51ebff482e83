"""Reading one transaction: its events, spans and the events linked to it by business key."""

from __future__ import annotations

from typing import Any

from rxsight.store import SqlFiles, Store
from rxsight.timeutil import jsonable

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


def transaction(store: Store, correlation_id: str) -> dict[str, Any]:
    events = [
        _event(r)
        for r in store.query(SQL["transaction_events"], {"correlation_id": correlation_id})
    ]
    spans = [
        jsonable(r)
        for r in store.query(SQL["transaction_spans"], {"correlation_id": correlation_id})
    ]
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
                    "correlation_id": correlation_id,
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


def search(store: Store, q: str) -> list[dict[str, Any]]:
    return [jsonable(r) for r in store.query(SQL["search"], {"q": q.strip()})]
