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


def supplier_tx(*events: dict[str, Any]) -> dict[str, Any]:
    base = [
        ev("replenishment.requested", "2026-11-16T10:00:00.000Z"),
        ev(
            "po.created",
            "2026-11-16T11:00:00.000Z",
            po_number="P7",
            supplier_id="SUP-9",
            lines=LINES,
        ),
    ]
    return {"correlation_id": "c1", "events": [*base, *events], "linked_events": [], "spans": []}


def test_a_po_not_transmitted_names_the_outbound_queue() -> None:
    view = timeline.build(supplier_tx(), two_pct)
    states = {s.key: s.state for s in view.steps}
    assert states["po"] == "done" and states["transmitted"] == "missing"
    assert view.issues[0].step == "transmitted"
    assert view.issues[0].parts() == (
        "PO P7 created ",
        ", not sent to the supplier (stuck in the ERP's outbound queue?).",
    )


def test_a_po_the_supplier_did_not_acknowledge() -> None:
    view = timeline.build(
        supplier_tx(ev("po.transmitted", "2026-11-16T11:05:00.000Z", po_number="P7")), two_pct
    )
    assert {s.key: s.state for s in view.steps}["acknowledged"] == "missing"
    assert view.issues[0].parts() == ("PO P7 sent to SUP-9 ", ", not acknowledged.")
    assert str(view.issues[0].at) == "2026-11-16 11:05:00+00:00"


def test_an_owed_asn_is_missing_only_while_its_exception_is_open() -> None:
    tx = supplier_tx(
        ev("po.transmitted", "2026-11-16T11:05:00.000Z", po_number="P7"),
        ev("po.acknowledged", "2026-11-16T12:00:00.000Z", po_number="P7", status="accepted"),
    )
    no_asn = {"family": "supplier_response", "reason": "no_asn", "po_number": "P7", "site": "s"}
    # Without the exception the ASN is optional: not every supplier sends one.
    plain = timeline.build(tx, two_pct)
    assert {s.key: s.state for s in plain.steps}["shipped"] == "later"
    view = timeline.build(tx, two_pct)
    timeline.with_open_exceptions(view, [{**no_asn, "status": "open"}])
    assert {s.key: s.state for s in view.steps}["shipped"] == "missing"
    assert view.issues[0].step == "shipped"
    assert view.issues[0].parts() == (
        "PO P7 acknowledged ",
        "; the supplier sends ASNs, and none came.",
    )
    resolved = timeline.build(tx, two_pct)
    timeline.with_open_exceptions(resolved, [{**no_asn, "status": "resolved"}])
    assert {s.key: s.state for s in resolved.steps}["shipped"] == "later"


def test_received_booked_and_journaled_side_by_side() -> None:
    tx = supplier_tx(
        ev(
            "goods.received",
            "2026-11-17T09:00:00.000Z",
            po_number="P7",
            receipt_id="R7",
            lines=[
                {"line_no": 1, "item_id": "A", "quantity": "10"},
                {"line_no": 2, "item_id": "B", "quantity": "5"},
            ],
        ),
        # The ERP books a unit short on line 2; the GL journals what it booked.
        ev(
            "receipt.posted",
            "2026-11-17T09:10:00.000Z",
            po_number="P7",
            receipt_id="R7",
            lines=[
                {"line_no": 1, "item_id": "A", "quantity": "10"},
                {"line_no": 2, "item_id": "B", "quantity": "4"},
            ],
        ),
        ev("journal.posted", "2026-11-17T10:00:00.000Z", receipt_id="R7", amount="36.00"),
        ev(
            "goods.received",
            "2026-11-18T09:00:00.000Z",
            po_number="P7",
            receipt_id="R8",
            lines=[{"line_no": 1, "item_id": "A", "quantity": "1"}],
        ),
        ev("receipt.posted", "2026-11-18T09:05:00.000Z", po_number="P7", receipt_id="R8"),
    )
    view = timeline.build(tx, two_pct)
    r7, r8 = view.bookings
    assert (r7.receipt_id, r7.received, r7.booked) == ("R7", Decimal(15), Decimal(14))
    assert r7.received_value == Decimal("40.00") and r7.booked_amount == Decimal("36.00")
    assert r7.journaled == Decimal("36.00")
    assert r7.booked_off and r7.journal_off and not r7.unjournaled
    # Posted without lines: nothing to compare; no journal: not journaled.
    assert r8.booked is None and not r8.booked_off and r8.unjournaled
    view_open = timeline.build(tx, two_pct)
    timeline.with_open_exceptions(
        view_open,
        [
            {
                "family": "reconciliation",
                "reason": "not_journaled",
                "receipt_id": "R8",
                "status": "open",
            }
        ],
    )
    # R7's journal makes the step done; R8's missing journal is still the first issue.
    assert {s.key: s.state for s in view_open.steps}["journaled"] == "done"
    assert view_open.issues[0].parts() == ("Receipt R8 posted ", ", not journaled to the GL.")
    assert str(view_open.issues[0].at) == "2026-11-18 09:05:00+00:00"
