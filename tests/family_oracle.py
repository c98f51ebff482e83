"""supplier_response and reconciliation (DESIGN 5.5, 5.6) worked out in plain Python from the
events, independently of the rules' SQL: what the conformance-style tests compare the rules
with. Default limits only (the scenarios configure none), plus the suppliers expected to send
ASNs."""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from rxsight.timeutil import parse_rfc3339

TRANSMIT = timedelta(minutes=30)
ACK = timedelta(hours=4)
ASN_LEAD = timedelta(hours=12)
JOURNAL = timedelta(hours=24)
TOLERANCE = Decimal("0.005")
MINIMUM = Decimal("0.01")

Event = dict[str, Any]


def _at(e: Event, field: str = "occurred_at") -> datetime:
    return parse_rfc3339(e[field])


def _order(e: Event) -> tuple[datetime, str]:
    return (_at(e), e["event_id"])


def _lines(e: Event) -> list[tuple[int, str, Decimal, Decimal | None]]:
    """(line_no, item, quantity, unit price); an event without lines is line 0 of its header."""
    if e.get("lines"):
        return [
            (
                int(ln.get("line_no") or 0),
                ln.get("item_id") or "",
                Decimal(str(ln.get("quantity") or 0)),
                None if ln.get("unit_price") is None else Decimal(str(ln["unit_price"])),
            )
            for ln in e["lines"]
        ]
    price = e.get("unit_price")
    return [
        (
            0,
            e.get("item_id") or "",
            Decimal(str(e.get("quantity") or 0)),
            None if price is None else Decimal(str(price)),
        )
    ]


def _seen(events: list[Event], as_of: datetime) -> list[Event]:
    """Each event once (the first delivery), only those that occurred by `as_of`, in time order."""
    once: dict[str, Event] = {}
    for e in events:
        once.setdefault(e["event_id"], e)
    return sorted((e for e in once.values() if _at(e) <= as_of), key=_order)


def _po_lines(created: list[Event]) -> dict[int, tuple[str, Decimal, Decimal | None]]:
    """Each PO line's latest version: line -> (item, ordered, unit price)."""
    out: dict[int, tuple[str, Decimal, Decimal | None]] = {}
    for e in created:  # in time order: later versions replace earlier ones
        for no, item, qty, price in _lines(e):
            out[no] = (item, qty, price)
    return out


def _line_of(no: int, item: str, po: dict[int, tuple[str, Decimal, Decimal | None]]) -> int | None:
    if no in po:
        return no
    return next((n for n, (it, _, _) in po.items() if it == item), None)


def supplier_response(
    events: list[Event], as_of: datetime, asn_suppliers: frozenset[str] = frozenset()
) -> dict[str, tuple[str, datetime]]:
    """po_number -> (reason, since) of each finding as of `as_of`."""
    by_po: dict[str, dict[str, list[Event]]] = defaultdict(lambda: defaultdict(list))
    for e in _seen(events, as_of):
        if e.get("po_number"):
            by_po[e["po_number"]][e["event_type"]].append(e)
    out = {}
    for po_number, kinds in by_po.items():
        created = kinds["po.created"]
        if not created:
            continue
        po = _po_lines(created)
        received = dict.fromkeys(po, Decimal(0))
        for gr in kinds["goods.received"]:
            for no, item, qty, _ in _lines(gr):
                line = _line_of(no, item, po)
                if line is not None:
                    received[line] += qty
        if all(received[n] >= qty for n, (_, qty, _) in po.items()):
            continue  # full receipt closes every reason
        transmitted, acks = kinds["po.transmitted"], kinds["po.acknowledged"]
        if not transmitted:
            reason, since = "not_transmitted", _at(created[0]) + TRANSMIT
        elif acks and (acks[-1].get("status") or "").lower() == "rejected":
            reason, since = "rejected", _at(acks[-1])
        elif not acks:
            reason, since = "no_ack", _at(transmitted[0]) + ACK
        else:
            supplier = created[0].get("supplier_id")
            promised = [a for a in acks if a.get("promised_at")]
            expected = [c for c in created if c.get("expected_at")]
            due = (
                _at(promised[-1], "promised_at")
                if promised
                else (_at(expected[-1], "expected_at") if expected else None)
            )
            answered = kinds["shipment.notified"] or kinds["goods.received"]
            if supplier not in asn_suppliers or answered or due is None:
                continue
            reason, since = "no_asn", due - ASN_LEAD
        if since <= as_of:
            out[po_number] = (reason, since)
    return out


def reconciliation(events: list[Event], as_of: datetime) -> dict[str, tuple[str, datetime]]:
    """receipt_id -> (reason, since) of each finding as of `as_of`."""
    seen = _seen(events, as_of)
    created: dict[str, list[Event]] = defaultdict(list)
    by_receipt: dict[str, dict[str, list[Event]]] = defaultdict(lambda: defaultdict(list))
    po_journals: set[str] = set()
    for e in seen:
        kind = e["event_type"]
        if kind == "po.created" and e.get("po_number"):
            created[e["po_number"]].append(e)
        elif kind == "journal.posted" and not e.get("receipt_id") and e.get("po_number"):
            po_journals.add(e["po_number"])
        elif e.get("receipt_id") and kind in ("goods.received", "receipt.posted", "journal.posted"):
            by_receipt[e["receipt_id"]][kind].append(e)
    out = {}
    for receipt_id, kinds in by_receipt.items():
        received, postings = kinds["goods.received"], kinds["receipt.posted"]
        if not postings:
            continue
        po_number = next((e["po_number"] for e in [*received, *postings] if e.get("po_number")), "")
        got: dict[int, Decimal] = defaultdict(Decimal)
        for gr in received:
            for no, _, qty, _ in _lines(gr):
                got[no] += qty
        booked_with_lines = [p for p in postings if p.get("lines")]
        journals = kinds["journal.posted"]
        if received and booked_with_lines:
            booking = booked_with_lines[-1]
            booked: dict[int, Decimal] = defaultdict(Decimal)
            for no, _, qty, _ in _lines(booking):
                booked[no] += qty
            if any(got[n] != booked[n] for n in set(got) | set(booked)):
                since = max(_at(booking), _at(received[-1]))
                if since <= as_of:
                    out[receipt_id] = ("quantity_mismatch", since)
                continue
        if not journals and po_number not in po_journals:
            since = _at(postings[0]) + JOURNAL
            if since <= as_of:
                out[receipt_id] = ("not_journaled", since)
            continue
        if not journals or not received:
            continue
        po = _po_lines(created.get(po_number, []))
        value = Decimal(0)
        for gr in received:
            for no, item, qty, _ in _lines(gr):
                line = _line_of(no, item, po)
                price = None if line is None else po[line][2]
                if price is None:
                    value = Decimal(-1)
                    break
                value += qty * price
            if value < 0:
                break
        if value < 0:
            continue  # a received line without a priced PO line: the value is unknown
        journaled = sum((Decimal(str(j["amount"])) for j in journals), Decimal(0))
        difference = abs(journaled - value)
        if difference > value * TOLERANCE and difference > MINIMUM:
            out[receipt_id] = ("amount_mismatch", max(_at(j) for j in journals))
    return out
