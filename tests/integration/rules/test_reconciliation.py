"""reconciliation (DESIGN 5.6) over HTTP: each reason at its limit exactly and 1 ms on either
side, the amount tolerance at its edges, journals naming only the PO, per-site limits. Each
expected `since` and value is worked out here from the events, not read back from the query."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest

from rxsight.timeutil import rfc3339
from tests.integration.rules import api_kit as kit
from tests.integration.rules.api_kit import MS, put_masterdata, send
from tests.support import Server

TOKEN = "reconcile-admin-token-0123456789ab"
T0 = datetime(2026, 5, 4, 8, 0, tzinfo=UTC)
JOURNAL = timedelta(hours=24)  # DESIGN 5.6's default
RECEIVED_AT = T0 + timedelta(hours=1)
POSTED_AT = T0 + timedelta(hours=2)
# The PO's lines: (line, item, quantity, unit price).
PO_LINES = ((1, "NDC-1", 10, Decimal("2.50")), (2, "NDC-2", 4, Decimal("10.00")))
FULL_VALUE = sum(q * p for _, _, q, p in PO_LINES)  # 65.00

CONFIG = {
    "retention": {"traces_days": 3650, "events_days": 3650},
    "rules": {
        "interval_s": 3600,
        "sites": {"site-fin": {"reconciliation": {"journal_hours": 12}}},
    },
}


def lines(quantities: dict[int, int]) -> list[dict[str, Any]]:
    items = {no: item for no, item, _, _ in PO_LINES}
    return [{"line_no": n, "item_id": items[n], "quantity": q} for n, q in quantities.items()]


def receipt(
    gr: str,
    received: dict[int, int],
    booked: dict[int, int] | None = None,
    site: str = "site-a",
    posted_at: datetime | None = POSTED_AT,
) -> list[dict[str, Any]]:
    """A PO of PO_LINES, its goods receipt, and (unless posted_at is None) the ERP's posting
    with `booked` lines (none: a posting without lines)."""
    po = f"PO-{gr}"
    base = {"correlation_id": f"c-{gr}", "po_number": po, "site": site, "supplier_id": "SUP-R"}
    out = [
        {
            **base,
            "event_type": "po.created",
            "at": T0,
            "lines": [
                {"line_no": n, "item_id": i, "quantity": q, "unit_price": str(p)}
                for n, i, q, p in PO_LINES
            ],
        },
        {
            **base,
            "event_type": "goods.received",
            "at": RECEIVED_AT,
            "receipt_id": gr,
            "lines": lines(received),
        },
    ]
    if posted_at is not None:
        posting = {**base, "event_type": "receipt.posted", "at": posted_at, "receipt_id": gr}
        if booked is not None:
            posting["lines"] = lines(booked)
        out.append(posting)
    return out


def journal(at: datetime, amount: Decimal, receipt_id: str = "", po: str = "") -> dict[str, Any]:
    return {
        "event_type": "journal.posted",
        "source_system": "gl",
        "correlation_id": f"j-{uuid.uuid4().hex[:8]}",
        "at": at,
        "amount": str(amount.quantize(Decimal("0.0001"))),
        "receipt_id": receipt_id,
        "po_number": po,
        "cost_center": "CC-PHARM",
    }


@pytest.fixture(scope="module")
def srv() -> Iterator[Server]:
    with Server(CONFIG, admin_token=TOKEN) as server:
        yield server


def finding(srv: Server, as_of: datetime, gr: str) -> dict[str, Any] | None:
    return kit.finding(srv, as_of, family="reconciliation", receipt_id=gr)


def assert_boundary(srv: Server, gr: str, reason: str, since: datetime) -> dict[str, Any]:
    return kit.assert_boundary(srv, reason, since, family="reconciliation", receipt_id=gr)


def test_quantity_mismatch_from_the_posting(srv: Server) -> None:
    send(srv, *receipt("GR-QM-1", {1: 10, 2: 4}, booked={1: 10, 2: 3}))
    got = assert_boundary(srv, "GR-QM-1", "quantity_mismatch", POSTED_AT)
    assert got["owner"] == "finance" and got["po_number"] == "PO-GR-QM-1"
    assert got["site"] == "site-a" and got["supplier_id"] == "SUP-R"


def test_a_corrected_posting_clears_quantity_mismatch(srv: Server) -> None:
    fixed_at = POSTED_AT + timedelta(hours=1)
    send(
        srv,
        *receipt("GR-QM-2", {1: 10, 2: 4}, booked={1: 9, 2: 4}),
        {
            "event_type": "receipt.posted",
            "at": fixed_at,
            "correlation_id": "c-GR-QM-2",
            "receipt_id": "GR-QM-2",
            "po_number": "PO-GR-QM-2",
            "lines": lines({1: 10, 2: 4}),
        },
    )
    got = srv.wait_for(lambda: finding(srv, fixed_at - MS, "GR-QM-2"), timeout=10)
    assert got["reason"] == "quantity_mismatch" and got["since"] == rfc3339(POSTED_AT)
    assert finding(srv, fixed_at, "GR-QM-2") is None


def test_not_journaled_from_the_first_posting(srv: Server) -> None:
    # Booked as received, or booked without lines: nothing to compare, so not_journaled next.
    send(
        srv,
        *receipt("GR-NJ-1", {1: 10, 2: 4}, booked={1: 10, 2: 4}),
        *receipt("GR-NJ-2", {1: 10, 2: 4}),
    )
    assert_boundary(srv, "GR-NJ-1", "not_journaled", POSTED_AT + JOURNAL)
    assert_boundary(srv, "GR-NJ-2", "not_journaled", POSTED_AT + JOURNAL)


def test_not_journaled_per_site(srv: Server) -> None:
    send(srv, *receipt("GR-NJ-3", {1: 10}, site="site-fin"))
    assert_boundary(srv, "GR-NJ-3", "not_journaled", POSTED_AT + timedelta(hours=12))


def test_journaled_exactly_at_the_limit_or_1_ms_after(srv: Server) -> None:
    limit = POSTED_AT + JOURNAL
    send(
        srv,
        *receipt("GR-NJ-4", {1: 10, 2: 4}),
        journal(limit, FULL_VALUE, receipt_id="GR-NJ-4"),
        *receipt("GR-NJ-5", {1: 10, 2: 4}),
        journal(limit + MS, FULL_VALUE, receipt_id="GR-NJ-5"),
    )
    # Wait until GR-NJ-5's journal, the batch's last event, is visible.
    srv.wait_for(
        lambda: finding(srv, limit, "GR-NJ-5") and finding(srv, limit + MS, "GR-NJ-5") is None,
        timeout=10,
    )
    assert finding(srv, limit, "GR-NJ-4") is None
    assert finding(srv, limit, "GR-NJ-5")["reason"] == "not_journaled"
    assert finding(srv, limit + MS, "GR-NJ-5") is None


def test_a_journal_naming_only_the_po_answers_not_journaled_but_not_amounts(srv: Server) -> None:
    later = POSTED_AT + JOURNAL + timedelta(hours=1)
    send(srv, *receipt("GR-PO-1", {1: 10, 2: 4}))
    srv.wait_for(lambda: finding(srv, later, "GR-PO-1"), timeout=10)
    # Far off the receipt's value: amounts are compared only for journals naming it.
    send(srv, journal(POSTED_AT + timedelta(hours=3), Decimal("1.00"), po="PO-GR-PO-1"))
    srv.wait_for(lambda: finding(srv, later, "GR-PO-1") is None, timeout=10)
    assert finding(srv, POSTED_AT + JOURNAL * 3, "GR-PO-1") is None


def test_amount_tolerance_half_a_percent_and_a_cent(srv: Server) -> None:
    at = POSTED_AT + timedelta(hours=5)
    edge = FULL_VALUE * Decimal("1.005")  # exactly 0.5 % over: still reconciled
    send(
        srv,
        *receipt("GR-AM-1", {1: 10, 2: 4}),
        journal(at, edge, receipt_id="GR-AM-1"),
        *receipt("GR-AM-2", {1: 10, 2: 4}),
        journal(at, edge + Decimal("0.0001"), receipt_id="GR-AM-2"),
        *receipt("GR-AM-3", {1: 10, 2: 4}),
        journal(at, FULL_VALUE * Decimal("0.995"), receipt_id="GR-AM-3"),
        *receipt("GR-AM-4", {1: 10, 2: 4}),
        journal(at, FULL_VALUE * Decimal("0.995") - Decimal("0.0001"), receipt_id="GR-AM-4"),
    )
    got = assert_boundary(srv, "GR-AM-2", "amount_mismatch", at)
    assert Decimal(got["details"]["value"]) == FULL_VALUE
    assert Decimal(got["details"]["journaled"]) == edge + Decimal("0.0001")
    assert_boundary(srv, "GR-AM-4", "amount_mismatch", at)
    assert finding(srv, at, "GR-AM-1") is None
    assert finding(srv, at, "GR-AM-3") is None


def test_amount_needs_more_than_a_cent_on_a_small_receipt(srv: Server) -> None:
    at = POSTED_AT + timedelta(hours=5)
    value = PO_LINES[0][3]  # one unit of line 1: 2.50, so 0.5 % is 0.0125
    send(
        srv,
        *receipt("GR-AM-5", {1: 1}),
        journal(at, value + Decimal("0.0125"), receipt_id="GR-AM-5"),
        *receipt("GR-AM-6", {1: 1}),
        journal(at, value + Decimal("0.0126"), receipt_id="GR-AM-6"),
    )
    assert_boundary(srv, "GR-AM-6", "amount_mismatch", at)
    assert finding(srv, at, "GR-AM-5") is None


def test_journals_are_summed_and_the_latest_dates_the_mismatch(srv: Server) -> None:
    first, second, third = (POSTED_AT + timedelta(hours=h) for h in (3, 5, 7))
    send(
        srv,
        *receipt("GR-AM-7", {1: 10, 2: 4}),
        journal(first, Decimal("25.00"), receipt_id="GR-AM-7"),
        journal(second, Decimal("40.00"), receipt_id="GR-AM-7"),
        journal(third, Decimal("5.00"), receipt_id="GR-AM-7"),
    )
    # 25: short of 65; 25 + 40: reconciled; + 5: over again, since the third journal.
    assert_boundary(srv, "GR-AM-7", "amount_mismatch", third)
    assert finding(srv, second, "GR-AM-7") is None
    assert finding(srv, second - MS, "GR-AM-7")["since"] == rfc3339(first)


def test_a_receipt_in_erp_item_numbers_is_valued_through_the_crosswalk(srv: Server) -> None:
    """The dock and the ERP book the ERP's item numbers on their own line numbers: only the
    crosswalk (item ERP-1 is NDC-1) finds the PO price, so only with it is the journal judged."""
    at = POSTED_AT + timedelta(hours=5)
    later = at + timedelta(hours=1)
    dock_lines = [{"line_no": 901, "item_id": "ERP-1", "quantity": 10}]
    keys = {"correlation_id": "c-GR-X-1", "po_number": "PO-GR-X-1", "site": "site-a"}
    send(
        srv,
        # The PO (its receipt GR-X-1 never posted, its line 2 never received).
        *receipt("GR-X-1", {1: 10}, posted_at=None),
        {**keys, "event_type": "goods.received", "at": RECEIVED_AT, "receipt_id": "GR-X-2",
         "lines": dock_lines},
        {**keys, "event_type": "receipt.posted", "at": POSTED_AT, "receipt_id": "GR-X-2",
         "lines": dock_lines},
        journal(at, Decimal("30.00"), receipt_id="GR-X-2"),
    )  # fmt: skip

    # Without a crosswalk the received line has no PO line: its value is unknown, not judged.
    srv.wait_for(lambda: kit.findings(srv, later, po_number="PO-GR-X-1"), timeout=10)
    assert finding(srv, later, "GR-X-2") is None
    items = (
        "id,name,uom,schedule,cold_chain,id.ndc,id.erp,valid_from\n"
        "NDC-1,Heparin 5000 units/mL vial,VL,,false,NDC-1,ERP-1,2026-01-01T00:00:00Z\n"
    )
    status, body = put_masterdata(srv, "items", items, "items.csv")
    assert status == 200 and body["loaded"] == 1, body
    # 10 x 2.50 received, 30.00 journaled.
    got = srv.wait_for(lambda: finding(srv, later, "GR-X-2"), timeout=10)
    assert got["reason"] == "amount_mismatch" and got["since"] == rfc3339(at)
    assert Decimal(got["details"]["value"]) == Decimal("25")
