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


@dataclass
class ReceiptBooking:
    """One goods receipt as the dock received it, the ERP booked it and the GL journaled it
    (amounts at the PO's prices): the reconciliation family's facts, side by side."""

    receipt_id: str
    po_number: str | None = None
    received: Decimal = Decimal(0)
    booked: Decimal | None = None  # the latest posting with lines (else its header quantity)
    received_value: Decimal | None = Decimal(0)  # None: a line without a PO price
    booked_amount: Decimal | None = None
    journaled: Decimal | None = None  # journals naming the receipt; None: none did
    po_journaled: Decimal | None = None  # journals naming only its PO
    posted: bool = False

    @property
    def booked_off(self) -> bool:
        return self.booked is not None and self.booked != self.received

    @property
    def journal_off(self) -> bool:
        return (
            self.journaled is not None
            and self.received_value is not None
            and abs(self.journaled - self.received_value) > Decimal("0.01")
        )

    @property
    def unjournaled(self) -> bool:
        return self.posted and self.journaled is None and self.po_journaled is None


def receipt_bookings(events: list[dict[str, Any]], lines: list[LineQty]) -> list[ReceiptBooking]:
    """Per receipt of the transaction: received and booked quantities, the received value,
    the booked amount (the posting's, else its lines at PO prices) and the journaled amounts.
    `lines` gives the PO prices (quantities()'s rows); `events` are in time order."""
    prices = {(r.po_number, r.line): r.po_price for r in lines}
    by_item = {(r.po_number, r.item_id): r.po_price for r in lines if r.item_id}

    def price(po: str | None, line: dict[str, Any]) -> Decimal | None:
        if (po, _line_key(line)) in prices:
            return prices[(po, _line_key(line))]
        return by_item.get((po, line.get("item_id")))

    out: dict[str, ReceiptBooking] = {}
    po_journals: dict[str, Decimal] = {}
    for ev in events:
        rid, po = ev.get("receipt_id"), ev.get("po_number")
        kind = ev["event_type"]
        if kind == "journal.posted" and not rid and po:
            po_journals[po] = po_journals.get(po, Decimal(0)) + (dec(ev.get("amount")) or 0)
        if not rid or kind not in ("goods.received", "receipt.posted", "journal.posted"):
            continue
        row = out.setdefault(rid, ReceiptBooking(rid))
        row.po_number = row.po_number or po
        if kind == "goods.received":
            for line in _lines_of(ev):
                qty = dec(line.get("quantity")) or Decimal(0)
                row.received += qty
                p = price(row.po_number, line)
                row.received_value = (
                    None
                    if p is None or row.received_value is None
                    else row.received_value + qty * p
                )
        elif kind == "receipt.posted":
            row.posted = True
            booked = _lines_of(ev)
            if booked:
                row.booked = sum(
                    (dec(ln.get("quantity")) or Decimal(0) for ln in booked), Decimal(0)
                )
                if dec(ev.get("amount")) is None:
                    amounts = [price(row.po_number, ln) for ln in booked]
                    if all(a is not None for a in amounts):
                        row.booked_amount = sum(
                            (
                                (dec(ln.get("quantity")) or Decimal(0)) * a
                                for ln, a in zip(booked, amounts, strict=True)
                                if a is not None
                            ),
                            Decimal(0),
                        )
            if dec(ev.get("amount")) is not None:
                row.booked_amount = dec(ev.get("amount"))
        else:
            row.journaled = (row.journaled or Decimal(0)) + (dec(ev.get("amount")) or 0)
    for row in out.values():
        if row.po_number in po_journals:
            row.po_journaled = po_journals[row.po_number]
    return sorted(out.values(), key=lambda r: r.receipt_id)
