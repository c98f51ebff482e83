"""Alerts without waiting for the scheduler's interval: new facts are evaluated once stored,
and a pending finding is evaluated at the instant it comes due."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from testkit.receiver import Receiver
from testkit.server import Server

TOKEN = "event-driven-admin-token-0123456789"
SECRET = "whsec_ZXZlbnQtZHJpdmVuLXRlc3Qtc2VjcmV0LTAx"
# Far longer than the test: whatever arrives was not found by the periodic run.
HOUR = 3600


def iso(dt: datetime) -> str:
    return dt.isoformat(timespec="milliseconds").replace("+00:00", "Z")


@pytest.fixture(scope="module")
def receiver() -> Iterator[Receiver]:
    r = Receiver().start()
    try:
        yield r
    finally:
        r.stop()


@pytest.fixture(scope="module")
def srv(receiver: Receiver) -> Iterator[Server]:
    config = {
        "rules": {"interval_s": HOUR, "full_every_s": HOUR},
        "alerts": {
            "receivers": [
                {"name": "ops", "secret": SECRET, "webhooks": [{"url": receiver.url("/ops")}]}
            ],
            "route": {"receiver": "ops", "group_by": ["exception_id"], "group_wait": "0s"},
        },
    }
    server = Server(config, admin_token=TOKEN).start()
    try:
        yield server
    finally:
        server.cleanup()


def _event(event_type: str, at: datetime, **fields: Any) -> dict[str, Any]:
    return {
        "event_id": str(uuid.uuid4()),
        "event_type": event_type,
        "occurred_at": iso(at),
        "source_system": "test",
        "site": "mercy-main",
        **fields,
    }


def _firing(receiver: Receiver, **labels: str) -> list[dict[str, Any]]:
    return [
        alert
        for hit in receiver.delivered("/ops")
        for alert in hit.json["alerts"]
        if alert["status"] == "firing"
        and all(alert["labels"].get(k) == v for k, v in labels.items())
    ]


def _price_variance_invoice(n: str, now: datetime) -> list[dict[str, Any]]:
    """A PO received in full, then its invoice 10 % over the PO price (no grace period)."""
    po = {"correlation_id": f"ed-{n}", "po_number": f"PO-ED-{n}", "supplier_id": "SUP-ED"}
    line = {"line_no": 1, "item_id": "NDC-ED", "quantity": 10}
    return [
        _event(
            "po.created",
            now - timedelta(hours=3),
            **po,
            lines=[{**line, "unit_price": "10.00"}],
            expected_at=iso(now + timedelta(days=1)),
        ),
        _event(
            "goods.received", now - timedelta(hours=2), **po, receipt_id=f"GR-ED-{n}", lines=[line]
        ),
        _event(
            "receipt.posted",
            now - timedelta(hours=2) + timedelta(minutes=3),
            **po,
            receipt_id=f"GR-ED-{n}",
        ),
        _event(
            "invoice.received",
            now - timedelta(seconds=1),
            **po,
            invoice_number=f"INV-ED-{n}",
            lines=[{**line, "unit_price": "11.00"}],
            amount="110.00",
        ),
    ]


def test_an_event_that_makes_a_rule_true_reaches_the_webhook_without_the_interval(
    srv: Server, receiver: Receiver
) -> None:
    status, body = srv.request(
        "POST", "/v1/events", _price_variance_invoice("1", datetime.now(UTC))
    )
    assert status == 200, body
    found = srv.wait_for(
        lambda: _firing(receiver, family="unmatched_invoice", reason="price_variance"),
        timeout=60,
        interval=0.2,
    )
    assert found[0]["annotations"]["invoice_number"] == "INV-ED-1"


def test_a_limit_that_runs_out_with_no_new_event_reaches_the_webhook_at_its_instant(
    srv: Server, receiver: Receiver
) -> None:
    now = datetime.now(UTC)
    # A stat request without a PO: late one hour after it was made, 12 s from now.
    limit = now + timedelta(seconds=12)
    request = _event(
        "replenishment.requested",
        limit - timedelta(hours=1),
        correlation_id="ed-stat-1",
        domain="pharmacy",
        priority="stat",
        item_id="NDC-ED",
        quantity=2,
    )
    # In the same batch, a finding due at once: when its alert has arrived, the batch has
    # been evaluated, the request found pending, and no fact will come to wake the rules.
    sentinel = _price_variance_invoice("2", now)
    status, body = srv.request("POST", "/v1/events", [request, *sentinel])
    assert status == 200, body
    srv.wait_for(
        lambda: _firing(receiver, family="unmatched_invoice", reason="price_variance")[1:],
        timeout=60,
        interval=0.2,
    )
    if datetime.now(UTC) >= limit:
        pytest.skip("the batch was evaluated after the limit had passed: nothing left to show")
    assert not _firing(receiver, family="open_replenishment")

    found = srv.wait_for(
        lambda: _firing(receiver, family="open_replenishment", reason="no_po"),
        timeout=60,
        interval=0.2,
    )
    assert found[0]["annotations"]["correlation_id"] == "ed-stat-1"
    _, exc = srv.request("GET", "/api/exceptions/open_replenishment:ed-stat-1")
    # The finding dates from the limit itself, not from when a run happened to look.
    assert exc["since"] == iso(limit)
