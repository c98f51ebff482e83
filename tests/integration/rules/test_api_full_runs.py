"""Full runs at a past instant judge every entity open then: closed since, revised upward,
received again after a match."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from rxsight.timeutil import rfc3339
from tests.integration.rules.api_kit import (
    evaluate,
    send,
)
from tests.support import Server


def test_full_runs_judge_every_entity_open_at_a_past_instant(srv: Server) -> None:
    """A full run judges only the entities that could have a finding. Entities closed now
    but open at an earlier instant, a PO revised upward, and an invoice received again
    after its match must all still be found."""
    t = datetime(2026, 3, 16, 8, 0, tzinfo=UTC)
    h = timedelta(hours=1)

    def line(qty: int, price: str = "5.00") -> list[dict[str, Any]]:
        return [{"line_no": 1, "item_id": "NDC-ASOF", "quantity": qty, "unit_price": price}]

    def po(n: int, at: datetime, qty: int) -> dict[str, Any]:
        return {
            "event_type": "po.created",
            "at": at,
            "correlation_id": f"asof-{n}",
            "po_number": f"PO-ASOF-{n}",
            "supplier_id": "SUP-ASOF",
            "expected_at": rfc3339(t + 2 * h),
            "lines": line(qty),
        }

    def invoice(kind: str, number: str, at: datetime, po_n: int, **extra: Any) -> dict[str, Any]:
        return {
            "event_type": kind,
            "at": at,
            "correlation_id": f"asof-{po_n}",
            "supplier_id": "SUP-ASOF",
            "invoice_number": number,
            "po_number": f"PO-ASOF-{po_n}",
            **extra,
        }

    request = {
        "event_type": "replenishment.requested",
        "at": t,
        "priority": "stat",
        "item_id": "NDC-ASOF",
        "quantity": 10,
    }
    send(
        srv,
        # 1: received only after its 8 h limit, posted much later.
        {**request, "correlation_id": "asof-1", "site": "site-a"},
        po(1, t + h / 2, 10),
        {
            "event_type": "goods.received",
            "at": t + 9 * h,
            "correlation_id": "asof-1",
            "po_number": "PO-ASOF-1",
            "receipt_id": "GR-ASOF-1",
            "lines": line(10),
        },
        {
            "event_type": "receipt.posted",
            "at": t + 20 * h,
            "correlation_id": "asof-1",
            "receipt_id": "GR-ASOF-1",
        },
        # 2: the PO is revised from 10 to 20; only 10 arrive.
        {**request, "correlation_id": "asof-2", "site": "site-a"},
        po(2, t + h / 2, 10),
        po(2, t + h, 20),
        {
            "event_type": "goods.received",
            "at": t + 2 * h,
            "correlation_id": "asof-2",
            "po_number": "PO-ASOF-2",
            "receipt_id": "GR-ASOF-2",
            "lines": line(10),
        },
        {
            "event_type": "receipt.posted",
            "at": t + 2 * h,
            "correlation_id": "asof-2",
            "receipt_id": "GR-ASOF-2",
        },
        # An invoice 20 % over the PO price, matched by AP a day later.
        invoice("invoice.received", "INV-ASOF-3", t + 10 * h, 1, lines=line(10, "6.00")),
        invoice("invoice.matched", "INV-ASOF-3", t + 30 * h, 1),
        # An invoice matched, then received a second time.
        invoice("invoice.received", "INV-ASOF-4", t + 10 * h, 2, lines=line(10)),
        invoice("invoice.matched", "INV-ASOF-4", t + 11 * h, 2),
        invoice("invoice.received", "INV-ASOF-4", t + 12 * h, 2, lines=line(10)),
    )

    def reasons(at: datetime) -> dict[tuple[str, str], str]:
        mine = ("asof-1", "asof-2")
        # The families this scenario is about (its POs are never transmitted, its receipts
        # never journaled: supplier_response and reconciliation have their own tests).
        judged = ("open_replenishment", "delayed_receipt", "unmatched_invoice")
        return {
            (f["family"], f["key"].split(":", 1)[1]): f["reason"]
            for f in evaluate(srv, at)["findings"]
            if (f.get("correlation_id") in mine or "ASOF" in f["key"]) and f["family"] in judged
        }

    # Wait until everything sent is visible: the last event decides the finding below.
    srv.wait_for(lambda: ("unmatched_invoice", "SUP-ASOF/INV-ASOF-4") in reasons(t + 13 * h))
    assert reasons(t + 8.5 * h) == {
        ("open_replenishment", "asof-1"): "not_received",
        ("delayed_receipt", "PO-ASOF-1"): "not_received",
        ("open_replenishment", "asof-2"): "not_received",
        ("delayed_receipt", "PO-ASOF-2"): "partial",
    }
    assert reasons(t + 13 * h) == {
        ("open_replenishment", "asof-2"): "not_received",
        ("delayed_receipt", "PO-ASOF-2"): "partial",
        ("delayed_receipt", "GR-ASOF-1"): "not_posted",
        ("unmatched_invoice", "SUP-ASOF/INV-ASOF-3"): "price_variance",
        ("unmatched_invoice", "SUP-ASOF/INV-ASOF-4"): "duplicate",
    }
    assert reasons(t + 31 * h) == {
        ("open_replenishment", "asof-2"): "not_received",
        ("delayed_receipt", "PO-ASOF-2"): "partial",
        ("unmatched_invoice", "SUP-ASOF/INV-ASOF-4"): "duplicate",
    }
