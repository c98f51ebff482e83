"""The operator's working day in real headless Chromium (issue 24): the SLA clock on every
exception, assignment from configured people, filters, one time control, flows, names, and
the small things (favicon, skip link, shortcuts)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest

from tests.e2e import scenario
from tests.support import Server

pytest.importorskip("playwright.sync_api")
from playwright.sync_api import Browser, expect  # noqa: E402

from tests.e2e.kit import api, scenario_server, shot, sign_in  # noqa: E402

pytestmark = pytest.mark.e2e

SLA = {
    # Invoices are overdue for acknowledgement the moment they open; a stat request has
    # 15 minutes, other requests 4 hours.
    "unmatched_invoice": {"default": {"ack_minutes": 0.001, "resolve_hours": 72}},
    "open_replenishment": {
        "stat": {"ack_minutes": 15, "resolve_hours": 8},
        "default": {"ack_minutes": 240, "resolve_hours": 72},
    },
}


@pytest.fixture(scope="module")
def live() -> Iterator[Server]:
    config: dict[str, Any] = scenario.console_config()
    config["rules"] = {"interval_s": 86400, "sla": SLA}
    with scenario_server(config) as srv:
        yield srv


def test_sla_clock_due_overdue_sortable_and_met_on_ack(browser: Browser, live: Server) -> None:
    invoices = api(live, "/api/exceptions?family=unmatched_invoice&status=active&limit=1")
    overdue = api(live, "/api/exceptions?due=overdue&limit=1000")
    assert overdue["total"] == invoices["total"] > 0
    assert {e["family"] for e in overdue["items"]} == {"unmatched_invoice"}
    context = sign_in(browser, live, "otto")
    page = context.new_page()
    page.goto("/exceptions?owner=all")
    page.get_by_label("SLA").select_option("overdue")
    page.get_by_role("button", name="Apply").click()
    expect(page.get_by_test_id("exception-total")).to_have_text(str(overdue["total"]))
    expect(page.locator("#exception-table td.due .pill.due-overdue").first).to_contain_text(
        "overdue"
    )
    # Sorted by the clock: the overdue ones come first, then the stat requests (15 min).
    page.goto("/exceptions?owner=all&sort=due")
    states = page.locator("#exception-table td.due").evaluate_all(
        "cells => cells.map(c => c.dataset.dueState)"
    )
    n = overdue["total"]
    assert states[:n] == ["overdue"] * n, states[: n + 3]
    assert "overdue" not in states[n:]
    shot(page, "10-exceptions-by-sla-due")
    # A stat request's detail: acknowledge within 15 min, resolve within 8 h, site time.
    page.goto("/exceptions?owner=all&family=open_replenishment&sort=due")
    page.locator("#exception-table tbody tr").first.locator("a").first.click()
    expect(page.locator("#sla-ack")).to_contain_text(re.compile(r"due in 1[45] min"))
    expect(page.locator("#sla-resolve")).to_contain_text(re.compile(r"due in 7 h|due in 8 h"))
    expect(page.locator("#sla-ack time")).to_contain_text(re.compile(r"C[SD]T|E[SD]T|M[SD]T"))
    # An overdue invoice: acknowledging stops its first clock.
    page.goto("/exceptions?owner=all&due=overdue")
    page.locator("#exception-table tbody tr").first.locator("a").first.click()
    expect(page.locator("#sla-ack .pill")).to_contain_text("overdue")
    page.get_by_role("button", name="Acknowledge").click()
    expect(page.locator("#exc-status")).to_have_text("acknowledged")
    expect(page.locator("#sla-ack .pill")).to_have_text("met")
    shot(page, "11-exception-sla-met")
    context.close()
