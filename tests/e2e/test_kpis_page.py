"""The KPI page and the list downloads in real headless Chromium against a live rxsight
loaded with the conformance scenario: values beside the previous period, trends, breakdowns,
the period picker, downloads in every format (read back), the print summary on one page."""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import openpyxl
import pytest

from tests.e2e import scenario
from tests.e2e.kit import AS_OF, scenario_server, shot, sign_in
from tests.support import Server

pytest.importorskip("playwright.sync_api")
from playwright.sync_api import Browser, expect  # noqa: E402

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    config: dict[str, Any] = scenario.console_config()
    config["rules"] = {"interval_s": 86400, "on_ingest": False}
    exports = tmp_path_factory.mktemp("kpi-exports")
    config["kpis"] = {"exports": [{"every": "week", "format": "csv", "dir": str(exports)}]}
    with scenario_server(config) as srv:
        yield srv


def _download(page: Any, selector: str, target: Path) -> Path:
    with page.expect_download() as info:
        page.locator(selector).first.click()
    info.value.save_as(target)
    return target


def test_kpi_page_values_trends_breakdowns_downloads_and_print(
    browser: Browser,
    live: Server,
    tmp_path: Path,
) -> None:
    context = sign_in(browser, live, "vera", accept_downloads=True)
    page = context.new_page()
    # The scenario's week: 2026-11-16 to 11-23 (its instant of evaluation is 11-20 12:00).
    page.goto(f"/kpis?period=week&at=2026-W47&as_of={AS_OF}")
    expect(page.locator("h1")).to_contain_text("week 2026-W47")
    summary = page.locator("#kpi-summary")
    governed = summary.locator('tr[data-kpi="governed_workflow_share"]')
    expect(governed.locator(".value")).to_have_text("100.0 %")
    expect(governed.locator("svg.spark")).to_have_count(1)
    on_time = summary.locator('tr[data-kpi="replenishment_on_time_rate"]')
    expect(on_time.locator(".value")).to_contain_text("%")
    # Breakdowns by site (display names), supplier and flow.
    site_rows = page.locator('table[data-dimension="site"] tbody tr')
    expect(site_rows.first).to_be_visible()
    expect(page.locator('table[data-dimension="site"]')).to_contain_text("Mercy East")
    expect(page.locator('table[data-dimension="supplier_id"]')).to_contain_text("SUP-1001")
    expect(page.locator('table[data-dimension="flow"]')).to_contain_text("invoice-inbound")
    shot(page, "kpis-screen")

    # Downloads: the workbook (read with openpyxl) and the long-form CSV.
    book = openpyxl.load_workbook(_download(page, 'a[data-format="xlsx"]', tmp_path / "k.xlsx"))
    assert {"System", "Site", "Supplier", "Flow", "Definitions"} <= set(book.sheetnames)
    system = {r[0]: r for r in book["System"].iter_rows(min_row=2, values_only=True)}
    assert system["governed_workflow_share"][2] == 1.0
    text = _download(page, 'a[data-format="csv"]', tmp_path / "k.csv").read_text()
    rows = list(csv.DictReader(io.StringIO(text)))
    assert {r["period"] for r in rows} <= {"2026-W47", "2026-W46"}
    assert any(r["kpi"] == "sla_attainment" and r["group"] == "tier=1" for r in rows)

    # The period picker: a month.
    page.locator("#k-period").select_option("month")
    page.locator("#k-at").fill("2026-11")
    page.get_by_role("button", name="Show").click()
    expect(page.locator("h1")).to_contain_text("month 2026-11")
    expect(page.locator("#kpi-summary")).to_contain_text("2026-10")

    # Scheduled exports are listed with their runs.
    expect(page.locator("#schedules")).to_contain_text("week@06:00 UTC csv")
    expect(page.locator("#export-runs")).to_contain_text("ok")

    # Print: one page, the summary only.
    page.emulate_media(media="print")
    expect(page.locator("header.top")).to_be_hidden()
    expect(page.locator("section.breakdown").first).to_be_hidden()
    expect(page.locator("#kpi-summary")).to_be_visible()
    shot(page, "kpis-print")
    pdf = page.pdf(format="A4", landscape=True)
    assert len(re.findall(rb"/Type\s*/Page[^s]", pdf)) == 1
    context.close()


def test_every_list_downloads_what_it_shows_as_csv(
    browser: Browser,
    live: Server,
    tmp_path: Path,
) -> None:
    context = sign_in(browser, live, "ada", accept_downloads=True)
    page = context.new_page()

    def download(url: str, name: str) -> list[dict[str, str]]:
        page.goto(url)
        target = _download(page, "a.download", tmp_path / name)
        return list(csv.DictReader(io.StringIO(target.read_text())))

    page.goto("/exceptions?family=unmatched_invoice&status=any")
    shown = int(page.get_by_test_id("exception-total").inner_text())
    rows = download("/exceptions?family=unmatched_invoice&status=any", "exceptions.csv")
    assert len(rows) == shown > 0 and {r["family"] for r in rows} == {"unmatched_invoice"}
    rows = download("/replenishments?as_of=2026-11-20T12:00:00Z&late=yes", "repl.csv")
    assert rows and all(r["late"] == "True" for r in rows)
    rows = download("/flows?as_of=2026-11-20T12:00:00Z", "flows.csv")
    assert {"invoice-inbound", "asn-inbound"} <= {r["flow"] for r in rows}
    rows = download("/alerts", "deliveries.csv")
    assert rows == [] or "receiver" in rows[0]
    rows = download("/audit?action=console.download", "audit.csv")
    # Each download so far is in the audit log, under the person's name.
    assert len([r for r in rows if r["actor"] == "ada"]) >= 4
    context.close()
