"""Quantities side by side: per PO line, ordered, received and invoiced, and the money totals."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any


def dec(value: Any) -> Decimal | None:
    if value is None or value == "":
        return None
    try:
        return Decimal(str(value))
    except InvalidOperation:
        return None


@dataclass
class LineQty:
    po_number: str
    line: str
    item_id: str | None = None
    ordered: Decimal | None = None
    po_price: Decimal | None = None
    received: Decimal = Decimal(0)
    invoiced: Decimal = Decimal(0)
    invoice_price: Decimal | None = None
    uom: str | None = None
    # The unmatched_invoice rule's price tolerance at the PO's site (percent).
    price_tolerance_pct: Decimal = Decimal(2)

    @property
    def short(self) -> bool:
        return self.ordered is not None and self.received < self.ordered

    @property
    def over_invoiced(self) -> bool:
        return self.invoiced > self.received

    @property
    def price_off(self) -> bool:
        if self.po_price is None or self.invoice_price is None or not self.po_price:
            return False
        off = abs(self.invoice_price - self.po_price) * 100
        return off > self.po_price * self.price_tolerance_pct


@dataclass
class Totals:
    ordered_amount: Decimal = Decimal(0)
    received_amount: Decimal = Decimal(0)
    invoiced_amount: Decimal = Decimal(0)
    currency: str = "USD"


def _line_key(line: dict[str, Any]) -> str:
    if line.get("line_no") is not None:
        return f"#{line['line_no']}"
    return str(line.get("item_id") or "?")


def _lines_of(event: dict[str, Any]) -> list[dict[str, Any]]:
    lines = event.get("lines") or []
    if lines:
        return lines
    # An event without lines but with a header quantity counts as one line of its item.
    if event.get("quantity") is not None:
        return [
            {
                "line_no": None,
                "item_id": event.get("item_id"),
                "quantity": event.get("quantity"),
                "unit_price": event.get("unit_price"),
            }
        ]
    return []


PriceTolerance = Callable[[str | None], Decimal]


def quantities(
    events: list[dict[str, Any]], price_tolerance: PriceTolerance
) -> tuple[list[LineQty], Totals]:
    """Per PO line: ordered (po.created), received (goods.received carrying the PO number),
    invoiced (invoice.received; a duplicate invoice number is not counted twice).
    `price_tolerance(site)` is the rule's tolerance at a site: the PO's, else the invoice's."""
    by_key: dict[tuple[str, str], LineQty] = {}
    item_index: dict[tuple[str, str], tuple[str, str]] = {}
    totals = Totals()
    ordered_pos = set()
    po_sites: dict[str, str | None] = {}
    for ev in events:
        if ev["event_type"] != "po.created" or not ev.get("po_number"):
            continue
        po = ev["po_number"]
        if po in ordered_pos:
            continue
        ordered_pos.add(po)
        totals.currency = ev.get("currency") or totals.currency
        po_sites[po] = ev.get("site") or None
        for line in _lines_of(ev):
            key = (po, _line_key(line))
            row = by_key.setdefault(key, LineQty(po_number=po, line=key[1]))
            row.item_id = line.get("item_id")
            row.ordered = (row.ordered or Decimal(0)) + (dec(line.get("quantity")) or 0)
            row.po_price = dec(line.get("unit_price"))
            row.uom = line.get("uom")
            if row.item_id:
                item_index[(po, row.item_id)] = key
            if row.po_price is not None:
                totals.ordered_amount += (dec(line.get("quantity")) or 0) * row.po_price

    def find(po: str, line: dict[str, Any]) -> LineQty:
        key = (po, _line_key(line))
        if key not in by_key and line.get("item_id") and (po, line["item_id"]) in item_index:
            key = item_index[(po, line["item_id"])]
        if key not in by_key:
            by_key[key] = LineQty(po_number=po, line=key[1], item_id=line.get("item_id"))
        return by_key[key]

    seen_invoices: set[tuple[str, str]] = set()
    for ev in events:
        po = ev.get("po_number")
        if not po:
            continue
        if ev["event_type"] == "goods.received":
            for line in _lines_of(ev):
                row = find(po, line)
                qty = dec(line.get("quantity")) or Decimal(0)
                row.received += qty
                if row.po_price is not None:
                    totals.received_amount += qty * row.po_price
        elif ev["event_type"] == "invoice.received":
            ident = (ev.get("supplier_id") or "", ev.get("invoice_number") or ev["event_id"])
            if ident in seen_invoices:
                continue
            seen_invoices.add(ident)
            if dec(ev.get("amount")) is not None:
                totals.invoiced_amount += dec(ev.get("amount")) or 0
            site = po_sites.get(po) or ev.get("site") or None
            for line in _lines_of(ev):
                row = find(po, line)
                row.price_tolerance_pct = price_tolerance(site)
                qty = dec(line.get("quantity")) or Decimal(0)
                row.invoiced += qty
                row.invoice_price = dec(line.get("unit_price"))
                if dec(ev.get("amount")) is None and row.invoice_price is not None:
                    totals.invoiced_amount += qty * row.invoice_price
    return sorted(by_key.values(), key=lambda r: (r.po_number, r.line)), totals
