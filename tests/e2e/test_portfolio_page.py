"""The portfolio page in real headless Chromium: every flow and source system with its
governance status (one of each reason), the kind filter, the CSV download read back; and a
governance exception's own page."""

from __future__ import annotations

import csv
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from testkit.server import Server
from tests.e2e import scenario
from tests.e2e.kit import shot, sign_in
from tests.integration.rules.api_kit import Sent, send_source_events, send_spans

pytest.importorskip("playwright.sync_api")
from playwright.sync_api import Browser, expect  # noqa: E402

pytestmark = pytest.mark.e2e

NOW = datetime.now(UTC).replace(microsecond=0)
FLOWS: dict[str, dict[str, Any]] = {
    "erp-po": {"tier": 1, "owner": "integration-erp", "deprecated_versions": ["v1"]},
    "asn-inbound": {"tier": 1, "owner": "integration-edi"},
    "inventory-sync": {"tier": 2, "owner": "integration-pharmacy", "domain": "pharmacy"},
    "fax-orders": {"tier": 3, "owner": "supply-it", "stale_days": 2},
}
SOURCES = {"erp": {"owner": "integration-erp"}}
MINUTE = timedelta(minutes=1)
SENT = [
    *(
        Sent(
            "flow", "erp-po", NOW - 90 * MINUTE + i * MINUTE, f"c-po-{i}", (("api.version", "v2"),)
        )
        for i in range(30)
    ),
    Sent("flow", "erp-po", NOW - 20 * MINUTE, "c-po-old", (("http.route", "/api/v1/orders"),)),
    # asn-inbound's portal adapter sends no correlation IDs.
    *(Sent("flow", "asn-inbound", NOW - 3 * 60 * MINUTE + i * MINUTE) for i in range(24)),
    *(
        Sent("flow", "inventory-sync", NOW - 40 * MINUTE + i * MINUTE, f"c-inv-{i}")
        for i in range(8)
    ),
    Sent("flow", "inventory-sync", NOW - 5 * MINUTE, "c-inv-x", error=True),
    Sent("flow", "fax-orders", NOW - timedelta(days=3), "c-fax"),
    Sent("flow", "shadow-sync", NOW - 60 * MINUTE, "c-shadow"),
    Sent("source_system", "erp", NOW - 30 * MINUTE, "c-erp"),
    Sent("source_system", "excel-macro", NOW - 50 * MINUTE, "c-xls"),
]


@pytest.fixture(scope="module")
def live() -> Iterator[Server]:
    config = scenario.console_config()
    config.update(flows=FLOWS, source_systems=SOURCES, rules={"interval_s": 3600})
    with Server(config, admin_token=scenario.ADMIN_TOKEN) as srv:
        send_spans(srv.url, [s for s in SENT if s.kind == "flow"])
        send_source_events(srv, [s for s in SENT if s.kind == "source_system"])

        def listed() -> bool:
            _, body = srv.request("GET", "/api/portfolio?days=7")
            volume = sum(e["volume"] for e in body["entries"])
            return volume == len(SENT)

        srv.wait_for(listed, timeout=30, interval=0.5)
        yield srv


def test_portfolio_page_shows_each_interface_its_status_and_downloads(
    browser: Browser, live: Server, tmp_path: Path
) -> None:
    context = sign_in(browser, live, "vera", accept_downloads=True)
    page = context.new_page()
    page.goto("/portfolio?days=7")
    expect(page.locator("h1")).to_have_text("Integration portfolio")
    table = page.locator("table#portfolio")
    statuses = {
        "erp-po": "deprecated api",
        "asn-inbound": "low correlation coverage",
        "inventory-sync": "ok",
        "fax-orders": "stale flow",
        "shadow-sync": "unregistered flow",
        "erp": "ok",
        "excel-macro": "unregistered flow",
    }
    for name, status in statuses.items():
        row = table.locator(f'tr[data-name="{name}"]')
        expect(row.locator("td .pill").first).to_have_text(status)
    erp_po = table.locator('tr[data-kind="flow"][data-name="erp-po"]')
    expect(erp_po).to_contain_text("integration-erp")
    expect(erp_po.locator(".pill.bad", has_text="v1")).to_have_count(1)
    expect(table.locator('tr[data-name="shadow-sync"] td .warn')).to_have_text("no")
    expect(table.locator('tr[data-name="inventory-sync"]')).to_contain_text("11.1 %")
    expect(page.locator("#portfolio-summary")).to_contain_text("7 listed, 5 registered")
    shot(page, "portfolio")

    page.select_option("#kind", "source_system")
    page.get_by_role("button", name="Show").last.click()
    expect(table.locator("tbody tr")).to_have_count(2)

    with page.expect_download() as info:
        page.get_by_role("link", name="Download CSV").click()
    target = tmp_path / "portfolio.csv"
    info.value.save_as(target)
    with target.open() as handle:
        rows = list(csv.DictReader(handle))
    assert [(r["name"], r["status"]) for r in rows] == [
        ("erp", "ok"),
        ("excel-macro", "unregistered_flow"),
    ]
    context.close()


def test_a_governance_exception_reads_on_its_page(browser: Browser, live: Server) -> None:
    status, body = live.request("POST", "/api/rules/evaluate?persist=true", {})
    assert status == 200 and not body["errors"], body
    _, found = live.request("GET", "/api/exceptions?family=governance&limit=50")
    by_reason = {e["reason"]: e for e in found["items"]}
    assert set(by_reason) == {
        "unregistered_flow",
        "low_correlation_coverage",
        "deprecated_api",
        "stale_flow",
    }
    source = next(e for e in found["items"] if e["summary"].startswith("source system"))
    context = sign_in(browser, live, "vera")
    page = context.new_page()
    page.goto(f"/exceptions/{source['exception_id']}")
    expect(page.locator("main")).to_contain_text(
        "source system excel-macro is not registered: 1 event in the last 24 h"
    )
    expect(page.locator("h1")).to_have_text("Source system excel-macro")
    # Only the details that say something: no deprecated calls, no stale days.
    facts = page.locator("dl.details")
    expect(facts).to_contain_text("source_system")
    expect(facts).not_to_contain_text("deprecated")
    expect(facts).not_to_contain_text("stale")
    shot(page, "governance-exception")
    page.goto("/exceptions?family=governance&owner=all")
    expect(page.get_by_test_id("exception-total")).to_have_text(str(found["total"]))
    context.close()
