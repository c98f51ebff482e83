"""supplier_response (DESIGN 5.5) over HTTP: each reason at its limit exactly and 1 ms on either
side, limits per supplier and per site, full receipt closing every reason. Each expected `since`
is worked out here from the events' times and the limits, not read back from the query."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from rxsight.timeutil import rfc3339
from tests.integration.rules import api_kit as kit
from tests.integration.rules.api_kit import MS, put_masterdata, send
from tests.support import Server

TOKEN = "supplier-admin-token-0123456789abc"
T0 = datetime(2026, 4, 6, 8, 0, tzinfo=UTC)
# DESIGN 5.5's defaults.
TRANSMIT = timedelta(minutes=30)
ACK = timedelta(hours=4)
ASN_LEAD = timedelta(hours=12)

CONFIG = {
    "retention": {"traces_days": 3650, "events_days": 3650},
    "rules": {
        "interval_s": 3600,
        "thresholds": {
            "supplier_response": {
                "suppliers": {
                    "SUP-ASN": {"asn_expected": True},
                    "SUP-SLOW": {"ack_hours": 8},
                }
            }
        },
        "sites": {
            "site-fast": {
                "supplier_response": {
                    "transmit_minutes": 10,
                    "suppliers": {"SUP-SLOW": {"ack_hours": 6}},
                }
            }
        },
    },
}


def po_created(
    po: str, at: datetime, supplier: str = "SUP-A", site: str = "site-a", qty: int = 10
) -> dict[str, Any]:
    return {
        "event_type": "po.created",
        "at": at,
        "correlation_id": f"c-{po}",
        "po_number": po,
        "supplier_id": supplier,
        "site": site,
        "expected_at": rfc3339(at + timedelta(days=3)),
        "lines": [{"line_no": 1, "item_id": "NDC-1", "quantity": qty, "unit_price": "2.50"}],
    }


def step(kind: str, po: str, at: datetime, **extra: Any) -> dict[str, Any]:
    return {"event_type": kind, "at": at, "correlation_id": f"c-{po}", "po_number": po, **extra}


def received(po: str, at: datetime, qty: int) -> dict[str, Any]:
    return step(
        "goods.received",
        po,
        at,
        receipt_id=f"GR-{po}",
        lines=[{"line_no": 1, "item_id": "NDC-1", "quantity": qty}],
    )


@pytest.fixture(scope="module")
def srv() -> Iterator[Server]:
    with Server(CONFIG, admin_token=TOKEN) as server:
        yield server


def finding(srv: Server, as_of: datetime, po: str) -> dict[str, Any] | None:
    return kit.finding(srv, as_of, family="supplier_response", po_number=po)


def assert_boundary(srv: Server, po: str, reason: str, since: datetime) -> dict[str, Any]:
    return kit.assert_boundary(srv, reason, since, family="supplier_response", po_number=po)


def test_not_transmitted_at_the_limit(srv: Server) -> None:
    send(srv, po_created("PO-NT-1", T0))
    got = assert_boundary(srv, "PO-NT-1", "not_transmitted", T0 + TRANSMIT)
    assert got["owner"] == "purchasing" and got["supplier_id"] == "SUP-A"
    assert got["site"] == "site-a" and got["correlation_id"] == "c-PO-NT-1"


def test_transmitted_exactly_at_the_limit_or_1_ms_after(srv: Server) -> None:
    limit = T0 + TRANSMIT
    send(
        srv,
        po_created("PO-NT-2", T0),
        step("po.transmitted", "PO-NT-2", limit),
        po_created("PO-NT-3", T0),
        step("po.transmitted", "PO-NT-3", limit + MS),
    )
    # Transmitted at the limit: never stuck. 1 ms later: stuck from the limit until then.
    srv.wait_for(lambda: finding(srv, limit, "PO-NT-3"), timeout=10)
    at_limit = finding(srv, limit, "PO-NT-2")
    assert at_limit is None or at_limit["reason"] != "not_transmitted", at_limit
    assert finding(srv, limit, "PO-NT-3")["reason"] == "not_transmitted"
    after = finding(srv, limit + MS, "PO-NT-3")
    assert after is None or after["reason"] != "not_transmitted", after


def test_site_transmit_limit(srv: Server) -> None:
    send(srv, po_created("PO-NT-4", T0, site="site-fast"))
    assert_boundary(srv, "PO-NT-4", "not_transmitted", T0 + timedelta(minutes=10))


def test_rejected_from_the_acknowledgement(srv: Server) -> None:
    rejected_at = T0 + timedelta(hours=1)
    send(
        srv,
        po_created("PO-RJ-1", T0),
        step("po.transmitted", "PO-RJ-1", T0 + timedelta(minutes=5)),
        step("po.acknowledged", "PO-RJ-1", rejected_at, status="rejected"),
    )
    got = assert_boundary(srv, "PO-RJ-1", "rejected", rejected_at)
    assert got["severity"] == "critical"
    # A later acceptance overrides the rejection: the latest acknowledgement decides.
    send(
        srv, step("po.acknowledged", "PO-RJ-1", rejected_at + timedelta(hours=1), status="accepted")
    )
    srv.wait_for(lambda: finding(srv, rejected_at + timedelta(hours=2), "PO-RJ-1") is None)


def test_no_ack_from_the_first_transmission(srv: Server) -> None:
    first = T0 + timedelta(minutes=10)
    send(
        srv,
        po_created("PO-NA-1", T0),
        step("po.transmitted", "PO-NA-1", first),
        step("po.transmitted", "PO-NA-1", first + timedelta(hours=1)),
    )
    assert_boundary(srv, "PO-NA-1", "no_ack", first + ACK)


def test_acknowledged_exactly_at_the_limit_or_1_ms_after(srv: Server) -> None:
    sent = T0 + timedelta(minutes=10)
    limit = sent + ACK
    send(
        srv,
        po_created("PO-NA-2", T0),
        step("po.transmitted", "PO-NA-2", sent),
        step("po.acknowledged", "PO-NA-2", limit, status="accepted"),
        po_created("PO-NA-3", T0),
        step("po.transmitted", "PO-NA-3", sent),
        step("po.acknowledged", "PO-NA-3", limit + MS, status="accepted"),
    )
    srv.wait_for(lambda: finding(srv, limit, "PO-NA-3"), timeout=10)
    assert finding(srv, limit, "PO-NA-2") is None
    assert finding(srv, limit, "PO-NA-3")["reason"] == "no_ack"
    assert finding(srv, limit + MS, "PO-NA-3") is None


def test_ack_limit_per_supplier_and_per_supplier_at_a_site(srv: Server) -> None:
    sent = T0 + timedelta(minutes=5)
    send(
        srv,
        po_created("PO-NA-4", T0, supplier="SUP-SLOW"),
        step("po.transmitted", "PO-NA-4", sent),
        po_created("PO-NA-5", T0, supplier="SUP-SLOW", site="site-fast"),
        step("po.transmitted", "PO-NA-5", sent),
    )
    assert_boundary(srv, "PO-NA-4", "no_ack", sent + timedelta(hours=8))
    assert_boundary(srv, "PO-NA-5", "no_ack", sent + timedelta(hours=6))


def asn_po(po: str, supplier: str = "SUP-ASN") -> tuple[datetime, list[dict[str, Any]]]:
    promised = T0 + timedelta(days=2)
    return promised, [
        po_created(po, T0, supplier=supplier),
        step("po.transmitted", po, T0 + timedelta(minutes=5)),
        step(
            "po.acknowledged",
            po,
            T0 + timedelta(hours=1),
            status="accepted",
            promised_at=rfc3339(promised),
        ),
    ]


def test_no_asn_before_the_promised_date(srv: Server) -> None:
    promised, events = asn_po("PO-ASN-1")
    send(srv, *events)
    got = assert_boundary(srv, "PO-ASN-1", "no_asn", promised - ASN_LEAD)
    assert got["details"]["due"].startswith("2026-04-08 08:00:00")


def test_no_asn_is_due_against_expected_at_without_a_promise(srv: Server) -> None:
    send(
        srv,
        po_created("PO-ASN-2", T0, supplier="SUP-ASN"),
        step("po.transmitted", "PO-ASN-2", T0 + timedelta(minutes=5)),
        step("po.acknowledged", "PO-ASN-2", T0 + timedelta(hours=1), status="accepted"),
    )
    assert_boundary(srv, "PO-ASN-2", "no_asn", T0 + timedelta(days=3) - ASN_LEAD)


def test_an_asn_or_a_receipt_answers_no_asn_and_others_are_not_asked(srv: Server) -> None:
    promised, events = asn_po("PO-ASN-3")
    _, with_receipt = asn_po("PO-ASN-4")
    _, not_expected = asn_po("PO-ASN-5", supplier="SUP-A")
    send(
        srv,
        *events,
        step("shipment.notified", "PO-ASN-3", promised - ASN_LEAD),
        *with_receipt,
        received("PO-ASN-4", T0 + timedelta(hours=20), 3),
        *not_expected,
    )
    srv.wait_for(lambda: finding(srv, promised, "PO-ASN-4") is None)
    limit = promised - ASN_LEAD
    for po in ("PO-ASN-3", "PO-ASN-4", "PO-ASN-5"):
        assert finding(srv, limit, po) is None, po


def test_full_receipt_closes_every_reason(srv: Server) -> None:
    send(
        srv,
        po_created("PO-FULL-1", T0),
        received("PO-FULL-1", T0 + timedelta(hours=2), 10),
        po_created("PO-FULL-2", T0),
        received("PO-FULL-2", T0 + timedelta(hours=2), 9),
    )
    srv.wait_for(lambda: finding(srv, T0 + timedelta(hours=3), "PO-FULL-2"), timeout=10)
    # Before the receipt both were stuck; after it only the one short by a unit still is.
    assert finding(srv, T0 + timedelta(hours=1), "PO-FULL-1")["reason"] == "not_transmitted"
    assert finding(srv, T0 + timedelta(hours=3), "PO-FULL-1") is None
    assert finding(srv, T0 + timedelta(hours=3), "PO-FULL-2")["reason"] == "not_transmitted"


def test_master_data_says_which_suppliers_send_asns(srv: Server) -> None:
    """A supplier the configuration does not name is expected to send ASNs when its master
    data (the crosswalk's suppliers, DESIGN 5.7) says so."""
    promised = T0 + timedelta(days=2)
    sent = T0 + TRANSMIT + timedelta(minutes=10)
    send(
        srv,
        po_created("PO-MD-1", T0, supplier="SUP-MD"),
        step("po.transmitted", "PO-MD-1", sent),
        step(
            "po.acknowledged",
            "PO-MD-1",
            T0 + timedelta(hours=1),
            status="accepted",
            promised_at=rfc3339(promised),
        ),
    )
    # Visible: stuck in the queue for ten minutes before it left.
    srv.wait_for(lambda: finding(srv, sent - MS, "PO-MD-1"), timeout=10)
    limit = promised - ASN_LEAD
    assert finding(srv, limit, "PO-MD-1") is None
    suppliers = (
        "id,name,asn_expected,id.erp,valid_from\n"
        "SUP-MD,Meridian Pharma Distribution,true,SUP-MD,2026-01-01T00:00:00Z\n"
    )
    status, body = put_masterdata(srv, "suppliers", suppliers, "suppliers.csv")
    assert status == 200 and body["loaded"] == 1, body
    assert_boundary(srv, "PO-MD-1", "no_asn", limit)
