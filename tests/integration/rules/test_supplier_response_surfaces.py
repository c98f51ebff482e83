"""supplier_response where people meet it: an exception owned by purchasing, an alert labelled
with the supplier, the console's exception filters (its reasons before any exception has
them), the transaction timeline's missing supplier step, and /metrics."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from rxsight.timeutil import rfc3339
from tests.e2e.scenario import console_config
from tests.integration.rules.api_kit import send
from tests.integration.rxsight.conftest import signed_in
from tests.support import Server

TOKEN = "supplier-surfaces-token-0123456789"


@pytest.fixture(scope="module")
def srv() -> Iterator[Server]:
    config = {**console_config(), "rules": {"interval_s": 3600}}
    with Server(config, admin_token=TOKEN) as server:
        yield server


def test_a_po_the_supplier_never_acknowledged(srv: Server) -> None:
    now = datetime.now(UTC)
    created, sent = now - timedelta(hours=6), now - timedelta(hours=5, minutes=50)
    po, cid = "PO-SURF-1", "c-surf-1"
    send(
        srv,
        {
            "event_type": "po.created",
            "at": created,
            "site": "mercy-main",
            "correlation_id": cid,
            "po_number": po,
            "supplier_id": "SUP-SLOW",
            "lines": [{"line_no": 1, "item_id": "NDC-1", "quantity": 5, "unit_price": "3.00"}],
        },
        {
            "event_type": "po.transmitted",
            "at": sent,
            "site": "mercy-main",
            "correlation_id": cid,
            "po_number": po,
        },
    )

    def persisted() -> list[dict[str, Any]]:
        status, body = srv.request("POST", "/api/rules/evaluate?persist=true", {}, token=TOKEN)
        assert status == 200 and not body["errors"], body["errors"]
        return [f for f in body["findings"] if f["po_number"] == po]

    (finding,) = srv.wait_for(persisted, timeout=15)
    assert finding["family"] == "supplier_response" and finding["reason"] == "no_ack"
    assert finding["since"] == rfc3339(sent + timedelta(hours=4))
    assert finding["owner"] == "purchasing" and finding["supplier_id"] == "SUP-SLOW"
    assert finding["summary"].startswith(f"PO {po} to SUP-SLOW transmitted ")

    def alerted() -> list[dict[str, Any]]:
        _, body = srv.request("GET", "/api/alerts?family=supplier_response", token=TOKEN)
        return body["alerts"]

    (alert,) = srv.wait_for(alerted, timeout=15)
    assert alert["labels"]["reason"] == "no_ack" and alert["labels"]["supplier_id"] == "SUP-SLOW"
    assert alert["labels"]["owner"] == "purchasing"

    with signed_in(srv.url, "ada") as client:
        filters = client.get("/exceptions?owner=all&family=supplier_response").text
        page = client.get(f"/transactions/{cid}").text
    # Every reason of the family is offered, though only no_ack has an exception yet.
    for reason in ("not_transmitted", "rejected", "no_ack", "no_asn"):
        assert f'<option value="{reason}"' in filters, reason
    assert 'data-step="acknowledged" data-state="missing"' in page
    assert f"PO {po} sent to SUP-SLOW " in page and ", not acknowledged." in page

    _, metrics = srv.request("GET", "/metrics", token=TOKEN)
    assert 'rxsight_rules_findings{family="supplier_response",reason="no_ack"} 1.0' in metrics
    assert 'rxsight_exceptions_open{family="supplier_response"' in metrics
