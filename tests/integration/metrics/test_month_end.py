"""The month-end reconciliation against a live rxsight: every receipt of a month (each site on
its own calendar) with received, booked and journaled amounts, differences first, as JSON, CSV
and XLSX, and on the console page."""

from __future__ import annotations

import csv
import io
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import openpyxl
import pytest

from tests.e2e.scenario import console_config
from tests.integration.rxsight.conftest import signed_in
from tests.support import Server

TOKEN = "month-end-admin-token-0123456789ab"
JUNE = datetime(2026, 6, 10, 8, 0, tzinfo=UTC)
AS_OF = datetime(2026, 7, 3, 0, 0, tzinfo=UTC)
PRICES = {1: Decimal("2.50"), 2: Decimal("10.00")}


def ts(dt: datetime) -> str:
    return dt.isoformat(timespec="milliseconds").replace("+00:00", "Z")


@pytest.fixture(scope="module")
def srv() -> Iterator[Server]:
    config = {
        **console_config(),
        "rules": {"interval_s": 3600},
        "sites": {"site-ny": {"timezone": "America/New_York"}},
    }
    server = Server(config, admin_token=TOKEN).start()
    try:
        yield server
    finally:
        server.cleanup()


def ev(event_type: str, at: datetime, **fields: Any) -> dict[str, Any]:
    return {
        "event_id": str(uuid.uuid4()),
        "event_type": event_type,
        "source_system": "erp",
        "occurred_at": ts(at),
        **fields,
    }


def receipt(
    gr: str,
    at: datetime,
    received: dict[int, int],
    booked: dict[int, int] | None,
    journaled: Decimal | None,
    site: str = "site-a",
) -> list[dict[str, Any]]:
    po = f"PO-{gr}"
    keys = {"correlation_id": f"c-{gr}", "po_number": po, "site": site, "supplier_id": "SUP-M"}

    def lines(q: dict[int, int]) -> list[dict[str, Any]]:
        return [{"line_no": n, "item_id": f"NDC-{n}", "quantity": x} for n, x in q.items()]

    out = [
        ev(
            "po.created",
            at - timedelta(days=2),
            **keys,
            lines=[
                {"line_no": n, "item_id": f"NDC-{n}", "quantity": 10, "unit_price": str(p)}
                for n, p in PRICES.items()
            ],
        ),
        ev("goods.received", at, **keys, receipt_id=gr, lines=lines(received)),
    ]
    if booked is not None:
        out.append(
            ev(
                "receipt.posted",
                at + timedelta(minutes=5),
                **keys,
                receipt_id=gr,
                lines=lines(booked),
            )
        )
    if journaled is not None:
        out.append(
            ev(
                "journal.posted",
                at + timedelta(hours=2),
                correlation_id=f"j-{gr}",
                receipt_id=gr,
                po_number=po,
                amount=str(journaled),
                cost_center="CC-1",
            )
        )
    return out


@pytest.fixture(scope="module")
def loaded(srv: Server) -> Server:
    events = [
        *receipt("GR-ME-OK", JUNE, {1: 10, 2: 4}, {1: 10, 2: 4}, Decimal("65.00")),
        # Booked a unit short on line 2: 10.00 less than received.
        *receipt("GR-ME-QTY", JUNE, {1: 10, 2: 4}, {1: 10, 2: 3}, None),
        # Journaled 5.00 over.
        *receipt("GR-ME-AMT", JUNE, {1: 10, 2: 4}, {1: 10, 2: 4}, Decimal("70.00")),
        # Received, never posted.
        *receipt("GR-ME-NP", JUNE, {1: 2}, None, None),
        # May's receipt, and New York's: 22:00 on May 31 there (not June), 22:00 on June 30
        # there (June, though July in UTC).
        *receipt("GR-ME-MAY", JUNE - timedelta(days=20), {1: 1}, {1: 1}, Decimal("2.50")),
        *receipt(
            "GR-ME-NY-MAY",
            datetime(2026, 6, 1, 2, 0, tzinfo=UTC),
            {1: 1},
            {1: 1},
            Decimal("2.50"),
            site="site-ny",
        ),
        *receipt(
            "GR-ME-NY-JUNE",
            datetime(2026, 7, 1, 2, 0, tzinfo=UTC),
            {1: 1},
            {1: 1},
            Decimal("2.50"),
            site="site-ny",
        ),
    ]
    status, answer = srv.request("POST", "/v1/events", events, token=TOKEN)
    assert status == 200 and answer["accepted"] == len(events), answer
    return srv


def month_end(srv: Server, fmt: str = "json") -> tuple[int, Any]:
    return srv.request(
        "GET",
        f"/api/reconciliation/month-end?month=2026-06&as_of={ts(AS_OF)}&format={fmt}",
        token=TOKEN,
    )


def test_every_receipt_of_the_month_differences_first(loaded: Server) -> None:
    def complete() -> dict[str, Any] | None:
        status, body = month_end(loaded)
        assert status == 200, body
        return body if body["receipts"] == 5 else None

    body = loaded.wait_for(complete, timeout=10)
    assert body["month"] == "2026-06" and body["differing"] == 3
    order = [r["receipt_id"] for r in body["rows"]]
    # Largest difference first; the unposted receipt differs by its finding alone; then the
    # reconciled ones in the order received.
    assert order == ["GR-ME-QTY", "GR-ME-AMT", "GR-ME-NP", "GR-ME-OK", "GR-ME-NY-JUNE"], order
    rows = {r["receipt_id"]: r for r in body["rows"]}
    qty = rows["GR-ME-QTY"]
    assert qty["status"] == "quantity_mismatch" and qty["differs"] is True
    assert Decimal(qty["received_value"]) == Decimal("65")
    assert Decimal(qty["booked_amount"]) == Decimal("55")
    assert Decimal(qty["booked_difference"]) == Decimal("-10")
    assert qty["journaled_amount"] is None and qty["journals"] == 0
    assert (qty["received_quantity"], qty["booked_quantity"]) == ("14", "13")
    amt = rows["GR-ME-AMT"]
    assert amt["status"] == "amount_mismatch"
    assert Decimal(amt["journaled_difference"]) == Decimal("5")
    assert rows["GR-ME-NP"]["status"] == "not_posted" and rows["GR-ME-NP"]["posted_at"] is None
    ok = rows["GR-ME-OK"]
    assert ok["status"] == "" and ok["differs"] is False
    assert Decimal(ok["journaled_difference"]) == 0 and Decimal(ok["booked_difference"]) == 0


def test_csv_and_xlsx_exports(loaded: Server) -> None:
    loaded.wait_for(lambda: month_end(loaded)[1]["receipts"] == 5, timeout=10)
    status, raw = month_end(loaded, "csv")
    assert status == 200
    text = raw if isinstance(raw, str) else raw.decode()
    table = list(csv.DictReader(io.StringIO(text)))
    assert [r["receipt_id"] for r in table][:2] == ["GR-ME-QTY", "GR-ME-AMT"]
    assert table[0]["booked_difference"] == "-10" and table[0]["journaled_amount"] == ""

    status, raw = month_end(loaded, "xlsx")
    assert status == 200
    book = openpyxl.load_workbook(io.BytesIO(raw))
    sheet = book["Receipts 2026-06"]
    header = [c.value for c in sheet[1]]
    first = dict(zip(header, [c.value for c in sheet[2]], strict=False))
    assert first["receipt_id"] == "GR-ME-QTY" and first["booked_difference"] == -10
    assert first["status"] == "quantity_mismatch"


def test_a_month_named_wrongly_is_refused_naming_the_field(loaded: Server) -> None:
    status, body = loaded.request("GET", "/api/reconciliation/month-end?month=2026-13", token=TOKEN)
    assert status == 422 and body["detail"][0]["loc"] == ["query", "month"], body


def test_console_page(loaded: Server) -> None:
    loaded.wait_for(lambda: month_end(loaded)[1]["receipts"] == 5, timeout=10)
    with signed_in(loaded.url, "vera") as client:
        page = client.get(f"/reconciliation?month=2026-06&as_of={ts(AS_OF)}").text
        csv_link = client.get(
            f"/api/reconciliation/month-end?month=2026-06&as_of={ts(AS_OF)}&format=csv"
        )
    assert "<strong>3</strong> of 5 receipts differ" in page
    assert page.index('data-receipt="GR-ME-QTY"') < page.index('data-receipt="GR-ME-OK"')
    assert 'data-format="xlsx"' in page, page
    assert ">Month end</a>" in page  # in the navigation
    assert csv_link.status_code == 200 and "GR-ME-QTY" in csv_link.text
