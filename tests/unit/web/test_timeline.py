"""The console's timeline model: steps, the missing step, quantities side by side."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from web import timeline


def ev(etype: str, at: str, **fields: Any) -> dict[str, Any]:
    base = {
        "event_id": f"{etype}-{at}",
        "event_type": etype,
        "occurred_at": at,
        "correlation_id": "c1",
        "source_system": "x",
        "site": "s",
        "lines": [],
    }
    return {**base, **fields}


LINES = [
    {"line_no": 1, "item_id": "A", "quantity": "10", "unit_price": "2.00"},
    {"line_no": 2, "item_id": "B", "quantity": "5", "unit_price": "4.00"},
]


def test_goods_received_not_posted_leads_the_issues() -> None:
    tx = {
        "correlation_id": "c1",
        "events": [
            ev("replenishment.requested", "2026-11-16T10:00:00.000Z"),
            ev("po.created", "2026-11-16T11:00:00.000Z", po_number="P1", lines=LINES),
            ev("po.transmitted", "2026-11-16T11:05:00.000Z", po_number="P1"),
            ev("po.acknowledged", "2026-11-16T12:00:00.000Z", po_number="P1", status="accepted"),
        ],
        "linked_events": [
            ev(
                "goods.received",
                "2026-11-17T14:02:00.000Z",
                correlation_id="rcv-9",
                po_number="P1",
                receipt_id="R1",
                lines=[{"line_no": 1, "item_id": "A", "quantity": "10"}],
            ),
        ],
        "spans": [],
    }
    view = timeline.build(tx, two_pct)
    states = {s.key: s.state for s in view.steps}
    assert states["received"] == "done" and states["posted"] == "missing"
    assert view.issues[0].step == "posted"
    assert view.issues[0].parts() == ("Goods received ", " (receipt R1), not posted to ERP.")
    by_line = {line.line: line for line in view.lines}
    assert by_line["#1"].received == Decimal(10) and not by_line["#1"].short
    assert by_line["#2"].received == 0 and by_line["#2"].short
    assert view.totals.ordered_amount == Decimal("40.00")
    assert view.totals.received_amount == Decimal("20.00")
    assert [m.linked for m in view.marks] == [False, False, False, False, True]


def two_pct(site: str | None) -> Decimal:
    return Decimal(2)


def test_duplicate_invoice_counted_once_and_price_variance_flagged() -> None:
    inv = {
        "po_number": "P1",
        "supplier_id": "S",
        "invoice_number": "I1",
        "amount": "21.00",
        "lines": [{"line_no": 1, "item_id": "A", "quantity": "10", "unit_price": "2.10"}],
    }
    tx = {
        "correlation_id": "c1",
        "events": [
            ev("po.created", "2026-11-16T11:00:00.000Z", po_number="P1", lines=LINES[:1]),
            ev(
                "goods.received",
                "2026-11-16T12:00:00.000Z",
                po_number="P1",
                receipt_id="R1",
                lines=[{"line_no": 1, "item_id": "A", "quantity": "10"}],
            ),
            ev("receipt.posted", "2026-11-16T12:10:00.000Z", receipt_id="R1"),
            ev("invoice.received", "2026-11-16T13:00:00.000Z", **inv),
            {**ev("invoice.received", "2026-11-16T14:00:00.000Z", **inv), "event_id": "dup"},
        ],
        "linked_events": [],
        "spans": [],
    }
    view = timeline.build(tx, two_pct)
    line = view.lines[0]
    assert line.invoiced == Decimal(10) and line.price_off  # 5 % over, counted once
    texts = [i.text for i in view.issues]
    assert any("duplicate" in t for t in texts)
    states = {s.key: s.state for s in view.steps}
    assert states["matched"] == "missing" and states["transmitted"] == "missing"
    assert any(i.step == "matched" and "not matched" in i.text for i in view.issues)
    assert view.totals.invoiced_amount == Decimal("21.00")


def test_price_off_uses_the_tolerance_at_the_pos_site() -> None:
    """5 % over the PO price: off where the tolerance is 2 %, not where the site allows 10."""
    tolerances = {"east": Decimal(10)}
    invoice = {
        "po_number": "P1",
        "supplier_id": "S",
        "invoice_number": "I1",
        "site": "elsewhere",  # the PO's site decides, as in the rule
        "lines": [{"line_no": 1, "item_id": "A", "quantity": "10", "unit_price": "2.10"}],
    }

    def view_at(site: str) -> timeline.Timeline:
        po = ev("po.created", "2026-11-16T11:00:00.000Z", po_number="P1", lines=LINES[:1])
        tx = {
            "correlation_id": "c1",
            "events": [
                {**po, "site": site},
                ev("invoice.received", "2026-11-16T13:00:00.000Z", **invoice),
            ],
            "linked_events": [],
            "spans": [],
        }
        return timeline.build(tx, lambda s: tolerances.get(s or "", Decimal(2)))

    assert view_at("west").lines[0].price_off
    east = view_at("east").lines[0]
    assert not east.price_off and east.price_tolerance_pct == Decimal(10)
