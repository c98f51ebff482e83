"""The month-end reconciliation: every goods receipt of a month with what the dock received,
what the ERP booked and what the GL journaled, the differences first (the spreadsheet finance
builds by hand at close). The receipts' findings are the rules' own (rules.public)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any

import rules.public as rules_public
from metrics.periods import Period
from rxsight.config import Settings
from rxsight.store import SqlFiles, Store
from rxsight.timeutil import as_utc, rfc3339

SQL = SqlFiles(__file__)
# A difference smaller than this (one cent) is rounding, not a difference.
CENT = Decimal("0.01")
COLUMNS = (
    "receipt_id",
    "status",
    "site",
    "po_number",
    "supplier_id",
    "received_at",
    "posted_at",
    "received_quantity",
    "booked_quantity",
    "received_value",
    "booked_amount",
    "journaled_amount",
    "booked_difference",
    "journaled_difference",
    "journals",
    "currency",
)
# The receipts' findings: reconciliation's, and delayed_receipt's not_posted.
_FAMILIES = ("reconciliation", "delayed_receipt")


@dataclass
class _Receipt:
    receipt_id: str
    site: str = ""
    po_number: str = ""
    supplier_id: str = ""
    currency: str = "USD"
    received_at: datetime | None = None
    posted_at: datetime | None = None
    received: dict[tuple[int, str], Decimal] = field(default_factory=dict)
    booking: list[tuple[int, str, Decimal]] | None = None
    booked_header_quantity: Decimal | None = None
    booked_amount: Decimal | None = None
    received_value: Decimal | None = None
    journaled: Decimal = Decimal(0)
    journals: int = 0


@dataclass(frozen=True)
class MonthEndRow:
    receipt_id: str
    status: str  # the receipt's finding (reason), "" when none
    site: str
    po_number: str
    supplier_id: str
    received_at: datetime | None
    posted_at: datetime | None
    received_quantity: Decimal
    booked_quantity: Decimal | None
    received_value: Decimal | None  # received quantities x the PO lines' prices
    booked_amount: Decimal | None
    journaled_amount: Decimal | None  # journals naming the receipt; None: none did
    journals: int
    currency: str

    @property
    def booked_difference(self) -> Decimal | None:
        if self.booked_amount is None or self.received_value is None:
            return None
        return self.booked_amount - self.received_value

    @property
    def journaled_difference(self) -> Decimal | None:
        if self.journaled_amount is None or self.received_value is None:
            return None
        return self.journaled_amount - self.received_value

    @property
    def largest_difference(self) -> Decimal:
        found = [abs(d) for d in (self.booked_difference, self.journaled_difference) if d]
        return max(found, default=Decimal(0))

    @property
    def differs(self) -> bool:
        quantities = self.booked_quantity is not None and (
            self.booked_quantity != self.received_quantity
        )
        return bool(self.status) or quantities or self.largest_difference > CENT

    def as_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for name in COLUMNS:
            value = getattr(self, name)
            if isinstance(value, datetime):
                value = rfc3339(value)
            elif isinstance(value, Decimal):
                value = format(value.normalize(), "f")
            out[name] = value
        out["differs"] = self.differs
        return out


@dataclass(frozen=True)
class MonthEnd:
    period: Period
    as_of: datetime
    rows: list[MonthEndRow]

    @property
    def differing(self) -> int:
        return sum(1 for r in self.rows if r.differs)

    def filename(self, fmt: str) -> str:
        return f"rxsight-month-end-{self.period.label}.{fmt}"


def month_end(store: Store, settings: Settings, period: Period, as_of: datetime) -> MonthEnd:
    """The receipts first received in `period` (each site on its own calendar), as of
    `as_of`: differences first (largest first), then the rest in the order received."""
    zones = {s: c.timezone for s, c in settings.config.sites.items() if c.timezone != "UTC"}
    bounds = [period.bounds(), *(period.bounds(z) for z in zones.values())]
    params = {
        "as_of": _ch(as_of),
        "sites": ["", *zones],
        "starts": [_ch(b[0]) for b in bounds],
        "ends": [_ch(b[1]) for b in bounds],
    }
    events = store.query(SQL["month_end_events"], params)
    findings: dict[str, str] = {}
    if events:
        for family in _FAMILIES:
            for f in rules_public.findings_as_of(store, settings, as_of, family):
                if f.get("receipt_id"):
                    findings.setdefault(f["receipt_id"], f["reason"])
    rows = [_row(r, findings.get(r.receipt_id, "")) for r in _receipts(events)]
    rows.sort(key=lambda r: (not r.differs, -r.largest_difference, r.received_at or as_of))
    return MonthEnd(period, as_utc(as_of), rows)


def _receipts(events: Iterable[dict[str, Any]]) -> list[_Receipt]:
    """Events in time order, each once."""
    prices: dict[str, dict[int, tuple[str, Decimal | None]]] = {}
    receipts: dict[str, _Receipt] = {}
    po_journals: dict[str, int] = {}
    journals: list[dict[str, Any]] = []
    for ev in events:
        kind = ev["event_type"]
        if kind == "po.created":
            po = prices.setdefault(ev["po_number"], {})
            for no, item, _qty, price in _lines(ev):
                po[no] = (item, price)  # a later version of a line replaces it
        elif kind == "journal.posted":
            journals.append(ev)
        elif kind in ("goods.received", "receipt.posted"):
            r = receipts.setdefault(ev["receipt_id"], _Receipt(ev["receipt_id"]))
            r.po_number = r.po_number or ev["po_number"]
            r.supplier_id = r.supplier_id or ev["supplier_id"]
            r.currency = ev.get("currency") or r.currency
            if kind == "goods.received":
                r.site = r.site or ev["site"]
                r.received_at = r.received_at or ev["occurred_at"]
                for no, item, qty, _ in _lines(ev):
                    key = (no, item)
                    r.received[key] = r.received.get(key, Decimal(0)) + qty
            else:
                r.posted_at = r.posted_at or ev["occurred_at"]
                if ev["line_no"]:
                    r.booking = [(no, item, qty) for no, item, qty, _ in _lines(ev)]
                elif ev["quantity"] is not None:
                    r.booked_header_quantity = ev["quantity"]
                if ev["amount"] is not None:
                    r.booked_amount = ev["amount"]
    for ev in journals:
        if ev["receipt_id"]:
            if ev["receipt_id"] in receipts:
                r = receipts[ev["receipt_id"]]
                r.journaled += ev["amount"] or Decimal(0)
                r.journals += 1
        else:
            po_journals[ev["po_number"]] = po_journals.get(ev["po_number"], 0) + 1
    out = list(receipts.values())
    for r in out:
        r.received_value = _value(r.received.items(), prices.get(r.po_number, {}))
        if r.booked_amount is None and r.booking is not None:
            r.booked_amount = _value(
                (((no, item), qty) for no, item, qty in r.booking), prices.get(r.po_number, {})
            )
    return out


def _row(r: _Receipt, status: str) -> MonthEndRow:
    booked_quantity = (
        sum((q for _, _, q in r.booking), Decimal(0))
        if r.booking is not None
        else r.booked_header_quantity
    )
    return MonthEndRow(
        receipt_id=r.receipt_id,
        status=status,
        site=r.site,
        po_number=r.po_number,
        supplier_id=r.supplier_id,
        received_at=r.received_at,
        posted_at=r.posted_at,
        received_quantity=sum(r.received.values(), Decimal(0)),
        booked_quantity=booked_quantity,
        received_value=r.received_value,
        booked_amount=r.booked_amount,
        journaled_amount=r.journaled if r.journals else None,
        journals=r.journals,
        currency=r.currency,
    )


def _lines(ev: dict[str, Any]) -> list[tuple[int, str, Decimal, Decimal | None]]:
    """(line_no, item, quantity, unit price); an event without lines is one line, number 0."""
    if not ev["line_no"]:
        return [(0, "", ev["quantity"] or Decimal(0), None)]
    return [
        (no, item, qty or Decimal(0), price)
        for no, item, qty, price in zip(
            ev["line_no"],
            ev["line_item_id"],
            ev["line_quantity"],
            ev["line_unit_price"],
            strict=True,
        )
    ]


def _value(
    lines: Iterable[tuple[tuple[int, str], Decimal]], po: dict[int, tuple[str, Decimal | None]]
) -> Decimal | None:
    """Quantities x the PO lines' unit prices (a line by number, else by item); None when a
    line has no priced PO line."""
    by_item = {item: price for item, price in po.values() if item}
    total = Decimal(0)
    any_line = False
    for (no, item), qty in lines:
        price = po[no][1] if no in po else by_item.get(item)
        if price is None:
            return None
        total += qty * price
        any_line = True
    return total if any_line else None


def _ch(dt: datetime) -> str:
    return as_utc(dt).strftime("%Y-%m-%d %H:%M:%S.%f")[:-3]
