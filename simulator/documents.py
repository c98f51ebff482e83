"""The documents of one replenishment: PO lines, shipments and invoices."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from simulator.catalog import Item

CENT = Decimal("0.01")


@dataclass(frozen=True)
class Line:
    line_no: int
    item: Item
    qty: int
    price: Decimal

    def as_event(self, qty: int | None = None, price: Decimal | None = None) -> dict[str, Any]:
        return {
            "line_no": self.line_no,
            "item_id": self.item.ndc,
            "quantity": self.qty if qty is None else qty,
            "unit_price": self.price if price is None else price,
            "uom": self.item.uom,
        }


@dataclass
class Shipment:
    ship_at: datetime
    deliver_at: datetime
    qty: dict[int, int]  # line_no -> quantity shipped
    receipt_id: str


@dataclass
class Invoice:
    at: datetime
    number: str
    po_number: str
    lines: list[tuple[Line, int, Decimal]]  # PO line, billed quantity, billed price
    corr: str
    duplicate_of: str | None = None

    @property
    def amount(self) -> Decimal:
        return sum((Decimal(q) * p for _, q, p in self.lines), Decimal(0)).quantize(CENT)
