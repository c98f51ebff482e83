"""The console flags an invoice price as off exactly where the unmatched_invoice rule does:
with the configured tolerance of the PO's site, not a fixed 2 %."""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import quote, urlencode

import pytest

from tests.e2e.scenario import console_config
from tests.integration.rxsight.conftest import signed_in
from tests.support import Server

TOKEN = "price-tolerance-admin-token-0123"
T0 = datetime(2026, 5, 4, 8, 0, tzinfo=UTC)


@pytest.fixture(scope="module")
def srv() -> Iterator[Server]:
    config = {
        **console_config(),
        "rules": {
            "interval_s": 3600,
            "sites": {"lenient": {"unmatched_invoice": {"price_tolerance_pct": 10}}},
        },
    }
    server = Server(config, admin_token=TOKEN).start()
    try:
        yield server
    finally:
        server.cleanup()


def _invoice_five_pct_over(srv: Server, site: str) -> str:
    """A PO at `site` for 10 at 2.00, received in full, invoiced at 2.10; its correlation ID."""
    tag = uuid.uuid4().hex[:8]
    cid, po = f"c-{tag}", f"PO-{tag}"

    def event(kind: str, at: datetime, **fields: Any) -> dict[str, Any]:
        return {
            "event_id": f"{kind}-{tag}",
            "event_type": kind,
            "source_system": "erp",
            "correlation_id": cid,
            "occurred_at": at.isoformat().replace("+00:00", "Z"),
            "site": site,
            "po_number": po,
            **fields,
        }

    line = {"line_no": 1, "item_id": "NDC-7", "quantity": 10}
    events = [
        event("po.created", T0, supplier_id="SUP-1", lines=[{**line, "unit_price": "2.00"}]),
        event("goods.received", T0 + timedelta(hours=1), receipt_id=f"R-{tag}", lines=[line]),
        event(
            "invoice.received",
            T0 + timedelta(hours=2),
            supplier_id="SUP-1",
            invoice_number=f"INV-{tag}",
            amount="21.00",
            lines=[{**line, "unit_price": "2.10"}],
        ),
    ]
    status, answer = srv.request("POST", "/v1/events", events, token=TOKEN)
    assert status == 200 and answer["accepted"] == 3, answer
    return cid


def _price_cell(html: str) -> str:
    rows = re.findall(r"<td class=\"[^\"]*\">2\.10[^<]*(?:<span[^>]*>[^<]*</span>)?</td>", html)
    assert len(rows) == 1, html[:2000]
    return rows[0]


def _price_variance(srv: Server, cid: str) -> bool:
    query = urlencode({"as_of": (T0 + timedelta(hours=3)).isoformat().replace("+00:00", "Z")})
    status, body = srv.request("POST", f"/api/rules/evaluate?{query}&persist=false", {})
    assert status == 200, body
    return any(
        f["reason"] == "price_variance" and f["correlation_id"] == cid for f in body["findings"]
    )


@pytest.mark.parametrize(("site", "off"), [("strict", True), ("lenient", False)])
def test_the_timeline_flags_the_price_as_the_rule_judges_it(
    srv: Server, site: str, off: bool
) -> None:
    cid = _invoice_five_pct_over(srv, site)
    srv.wait_for(lambda: _price_variance(srv, cid) is off or None, timeout=10)
    with signed_in(srv.url, "vera") as client:
        page = srv.wait_for(
            lambda: (r := client.get(f"/transactions/{quote(cid)}")).status_code == 200 and r.text
        )
    cell = _price_cell(page)
    assert ('class="warn"' in cell) is off, cell
    if off:
        assert "off by more than 2 %" in cell
    else:
        assert "off by more than" not in cell
