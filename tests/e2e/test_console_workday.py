"""The operator's working day in real headless Chromium (issue 24): the SLA clock on every
exception, assignment from configured people, filters, one time control, and the small things
(favicon, skip link, shortcuts). Flows and names: test_console_workday_flows.py."""

from __future__ import annotations

import re
from urllib.parse import quote

import pytest

from tests.e2e import scenario
from tests.support import Server, rxsight_cli

pytest.importorskip("playwright.sync_api")
from playwright.sync_api import Browser, expect  # noqa: E402

from tests.e2e.kit import AS_OF, api, shot, sign_in, workday_server  # noqa: E402

pytestmark = pytest.mark.e2e

live = pytest.fixture(scope="module")(workday_server)


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
    shot(page, "w1-exceptions-by-sla-due")
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
    shot(page, "w1-exception-sla-met")
    context.close()


def test_assign_from_configuration_my_items_and_bulk(browser: Browser, live: Server) -> None:
    pharmacy = api(live, "/api/exceptions?family=open_replenishment&status=open&limit=1000")
    target = pharmacy["items"][0]["exception_id"]
    # Not free text: an unknown assignee is refused by the server, naming the field.
    status, refused = live.request(
        "POST", f"/api/exceptions/{quote(target, safe='')}/assign", {"assignee": "jdoe"}
    )
    assert status == 422 and refused["detail"][0]["loc"] == ["body", "assignee"], refused
    context = sign_in(browser, live, "otto")
    page = context.new_page()
    page.goto("/exceptions/" + quote(target, safe=""))
    options = page.locator("#assignee option").all_inner_texts()
    assert "Fin AP (fin)" in options and "Mercy East buyers (team) (east-buyers)" in options
    page.get_by_role("button", name="Assign to me").click()
    expect(page.locator("#exc-assignee")).to_have_text("otto")
    # Bulk: assign two lakeside invoices to otto's team, in one go.
    page.goto("/exceptions?owner=all&family=unmatched_invoice&site=lakeside")
    rows = page.locator("#exception-table tbody tr")
    chosen = [rows.nth(i).get_attribute("data-id") for i in (0, 1)]
    for i in (0, 1):
        rows.nth(i).locator('input[name="exception_id"]').check()
    page.locator("#bulk-action").select_option("assign")
    page.locator("#bulk-assignee").select_option("east-buyers")
    page.get_by_role("button", name="Act on selected").click()
    expect(page.locator(".flash.ok")).to_have_text("2 exceptions assigned.")
    # My items: assigned to otto or to a team otto is in.
    page.get_by_role("link", name="My items").click()
    expect(page.get_by_test_id("exception-total")).to_have_text("3")
    mine = set(
        page.locator("#exception-table tbody tr").evaluate_all(
            "rows => rows.map(r => r.dataset.id)"
        )
    )
    assert mine == {target, *chosen}
    page.get_by_label("Assignee").select_option("east-buyers")
    expect(page.get_by_test_id("exception-total")).to_have_text("2")
    # Bulk resolve without a note changes nothing and says which field.
    page.locator("#select-all").check()
    page.locator("#bulk-action").select_option("resolve")
    page.get_by_role("button", name="Act on selected").click()
    expect(page.locator(".flash.error")).to_contain_text("Nothing was changed. comment:")
    shot(page, "w2-my-items-bulk")
    context.close()
    # An owner-scoped operator's bulk acknowledge: their owner's go through, another
    # owner's is refused by rxsight.authz, each audited under their name.
    first = "status=open&sort=due&limit=1&family="
    theirs = api(live, "/api/exceptions?" + first + "unmatched_invoice")["items"][0]
    other = api(live, "/api/exceptions?" + first + "open_replenishment")["items"][0]
    theirs, other = theirs["exception_id"], other["exception_id"]
    fin = sign_in(browser, live, "fin")
    page = fin.new_page()
    page.goto("/exceptions?owner=all&status=open&sort=due")
    for eid in (theirs, other):
        page.locator(f'input[name="exception_id"][value="{eid}"]').check()
    page.locator("#bulk-action").select_option("ack")
    page.get_by_role("button", name="Act on selected").click()
    expect(page.locator(".flash.ok")).to_have_text("1 exception acknowledged.")
    expect(page.locator(".flash.error")).to_contain_text("you can act only on accounts-payable")
    fin.close()
    entries = api(live, f"/api/exceptions/{quote(theirs, safe='')}/audit")["items"]
    assert [(e["actor"], e["action"]) for e in entries][-1] == ("fin", "exception.ack")
    assert api(live, f"/api/exceptions/{quote(other, safe='')}")["status"] == "open"


def test_command_line_acts_through_the_same_checks(live: Server) -> None:
    """`rxsight exceptions` goes through the API's bulk route: the same assignee check, the
    same audit entry, one line per exception."""
    delayed = api(live, "/api/exceptions?family=delayed_receipt&status=open&limit=2")["items"]
    ids = [e["exception_id"] for e in delayed]
    where = ["--url", live.url, "--token", scenario.ADMIN_TOKEN]
    bad = rxsight_cli("exceptions", "assign", *ids, "--assignee", "jdoe", *where)
    assert bad.returncode == 2 and "assignee" in bad.stderr and "jdoe" in bad.stderr, bad
    done = rxsight_cli("exceptions", "assign", *ids, "--assignee", "east-buyers", *where)
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == [f"{i}\topen" for i in ids]
    for i in ids:
        assert api(live, f"/api/exceptions/{quote(i, safe='')}")["assignee"] == "east-buyers"
        entries = api(live, f"/api/exceptions/{quote(i, safe='')}/audit")["items"]
        assert entries[-1]["action"] == "exception.assign"


def test_small_things_favicon_viewer_hint_total_column_skip_link_shortcuts(
    browser: Browser, live: Server
) -> None:
    status, _ = live.request("GET", "/favicon.ico", token=None)
    assert status == 200
    viewer = sign_in(browser, live, "vera", viewport={"width": 800, "height": 900})
    page = viewer.new_page()
    missing: list[str] = []
    page.on("response", lambda r: missing.append(r.url) if r.status == 404 else None)
    page.goto("/")
    total = page.locator("#exceptions-by-site td.total").first
    box = total.bounding_box()
    assert box is not None and box["x"] + box["width"] <= 800, box
    shot(page, "w7-overview-800px")
    page.goto("/alerts")
    expect(page.locator("#silence-hint")).to_contain_text("created and expired by operators")
    assert missing == [], missing
    viewer.close()
    context = sign_in(browser, live, "otto")
    page = context.new_page()
    page.goto("/exceptions?owner=all&status=open&sort=due")
    page.keyboard.press("Tab")
    page.keyboard.press("Tab")
    expect(page.locator("#skip-results")).to_be_focused()
    page.keyboard.press("Enter")
    # From the results: j goes to the first exception, j again to the second, k back.
    page.keyboard.press("j")
    first = page.locator("#exception-table tbody tr").nth(0).locator("td a").first
    expect(first).to_be_focused()
    page.keyboard.press("j")
    page.keyboard.press("k")
    expect(first).to_be_focused()
    page.keyboard.press("Enter")
    expect(page.locator("#exc-status")).to_have_text("open")
    page.keyboard.press("a")
    expect(page.locator("#exc-status")).to_have_text("acknowledged")
    context.close()


def test_filters_people_think_in(browser: Browser, live: Server) -> None:
    def total(query: str) -> int:
        return api(live, "/api/exceptions?status=active&limit=1&" + query)["total"]

    stat, urgent = total("priority=stat"), total("priority=urgent")
    assert stat > 0 and urgent > 0 and stat + urgent < total("family=open_replenishment")
    context = sign_in(browser, live, "otto")
    page = context.new_page()
    page.goto("/exceptions?owner=all")
    page.get_by_label("Priority").select_option("urgent")
    page.get_by_role("button", name="Apply", exact=True).click()
    expect(page.get_by_test_id("exception-total")).to_have_text(str(urgent))
    priorities = page.locator("#exception-table tbody tr").evaluate_all(
        "rows => rows.map(r => r.dataset.priority)"
    )
    assert set(priorities) == {"urgent"}
    # Reasons offered are the chosen family's only, also when the family changes in place.
    page.goto("/exceptions?owner=all")
    expect(page.locator('#reason option[value="not_received"]')).to_have_count(1)
    page.get_by_label("Family").select_option("unmatched_invoice")
    expect(page.locator('#reason option[value="not_received"]')).to_have_count(0)
    expect(page.locator('#reason option[value="price_variance"]')).to_have_count(1)
    page.goto("/exceptions?owner=all&family=unmatched_invoice")
    reasons = page.locator("#reason option").evaluate_all("os => os.map(o => o.value)")
    assert "price_variance" in reasons and "not_received" not in reasons, reasons
    page.goto("/exceptions?owner=all&family=open_replenishment")
    reasons = page.locator("#reason option").evaluate_all("os => os.map(o => o.value)")
    assert "not_received" in reasons and "price_variance" not in reasons, reasons
    # Search: any case, any part of an identifier, item codes included; the hint shows
    # real identifiers.
    page.goto("/exceptions?owner=all")
    hint = page.locator("#q-hint").inner_text()
    assert re.search(r"INV-\d|PO-\d|NDC-\d", hint), hint
    page.get_by_label("Search").fill("inv-1001-9009")
    page.get_by_role("button", name="Apply", exact=True).click()
    expect(page).to_have_url(re.compile(r"q=inv-1001-9009"))
    expect(page.get_by_test_id("exception-total")).to_have_text(str(total("q=inv-1001-9009")))
    entities = page.locator("#exception-table tbody tr td:nth-child(2) a").all_inner_texts()
    assert entities and all("INV-1001-9009" in e for e in entities), entities
    item = api(live, "/api/exceptions?family=open_replenishment&limit=1")["items"][0]
    code = item["details"]["item_id"]
    page.goto("/exceptions?owner=all&q=" + quote(code.lower()))
    expect(page.locator(f'#exception-table tr[data-id="{item["exception_id"]}"]')).to_have_count(1)
    # Supplier and item prefixes, flow.
    page.goto("/exceptions?owner=all&supplier=sup-10")
    shown = page.locator("#exception-table tbody tr").evaluate_all(
        "rows => rows.map(r => r.dataset.id)"
    )
    want = api(live, "/api/exceptions?status=active&limit=50&supplier=sup-10")["items"]
    assert want and all(e["supplier_id"].startswith("SUP-10") for e in want)
    assert shown == [e["exception_id"] for e in want]
    page.goto("/exceptions?owner=all&item=" + quote(code[:9].lower()))
    expect(page.locator(f'#exception-table tr[data-id="{item["exception_id"]}"]')).to_have_count(1)
    flow = api(live, "/api/exceptions?family=sla_breach&limit=1")["items"][0]["flow"]
    page.goto("/exceptions?owner=all")
    page.get_by_label("Flow").select_option(flow)
    page.get_by_role("button", name="Apply", exact=True).click()
    expect(page.get_by_test_id("exception-total")).to_have_text(str(total("flow=" + flow)))
    shot(page, "w3-filters")
    # Replenishments: pages of 50, filtered by priority.
    page.goto(f"/replenishments?as_of={quote(AS_OF)}")
    everything = api(live, f"/api/replenishments/open?as_of={quote(AS_OF)}")["items"]
    expect(page.get_by_test_id("replenishment-count")).to_have_text(str(len(everything)))
    assert page.locator("#replenishments tbody tr").count() == min(len(everything), 50)
    page.get_by_label("Priority").select_option("stat")
    page.get_by_role("button", name="Apply").click()
    stat_open = [r for r in everything if r["priority"] == "stat"]
    expect(page.get_by_test_id("replenishment-count")).to_have_text(str(len(stat_open)))
    cells = page.locator("#replenishments tbody tr td:nth-child(5)").all_inner_texts()
    assert set(cells) == {"stat"}, cells
    context.close()


def test_one_time_control_on_every_page(browser: Browser, live: Server) -> None:
    context = sign_in(browser, live, "otto")
    page = context.new_page()
    # A time typed in the site's zone is read there, not refused; the box keeps it.
    page.goto("/exceptions?owner=all")
    page.locator("#as_of").fill("2025-12-05 01:30")
    page.locator("#time-control").get_by_role("button", name="Show").click()
    expect(page).to_have_url(re.compile(r"as_of=2025-12-05\+01%3A30"))
    expect(page.locator("#as_of")).to_have_value("2025-12-05 01:30")
    expect(page.locator("#as-of-help")).to_contain_text("2025-12-05 01:30 EST")
    # A year ago no exception existed yet: the list honours as_of.
    expect(page.locator("#exception-results")).to_contain_text("No exceptions match")
    # Nonsense is said so, the input stays, the page shows now.
    page.goto("/exceptions?owner=all&as_of=" + quote("2026-13-45 99:00"))
    expect(page.locator("#time-error")).to_contain_text("as of:")
    expect(page.locator("#as_of")).to_have_value("2026-13-45 99:00")
    assert int(page.get_by_test_id("exception-total").inner_text()) > 0
    # Relative: nothing started within the last hour (the scenario's findings are weeks old).
    page.goto("/exceptions?owner=all&range=1h")
    expect(page.locator("#exception-results")).to_contain_text("No exceptions match")
    page.goto("/exceptions?owner=all&range=30d")
    assert int(page.get_by_test_id("exception-total").inner_text()) > 0
    # The overview as of an hour ago: nothing had been found yet; its links keep the time.
    page.goto("/?as_of=now-1h")
    expect(page.get_by_test_id("total-open")).to_have_text("0")
    nav = page.locator("nav[aria-label=Main] a", has_text="Exceptions")
    expect(nav).to_have_attribute("href", "/exceptions?as_of=now-1h")
    page.goto("/")
    page.locator("#exceptions-by-site a.count").first.click()
    expect(page.get_by_test_id("exception-total")).not_to_have_text("0")
    # A flow's "SLA exceptions for this flow" keeps the instant and filters by the flow.
    flow = api(live, "/api/exceptions?family=sla_breach&limit=1")["items"][0]["flow"]
    page.goto(f"/flows/{quote(flow)}?as_of={quote(AS_OF)}")
    link = page.get_by_role("link", name="SLA exceptions for this flow")
    href = link.get_attribute("href") or ""
    assert f"flow={quote(flow)}" in href and "as_of=" in href, href
    shot(page, "w4-flow-as-of")
    context.close()


def test_auto_refresh_on_list_pages(browser: Browser, live: Server) -> None:
    context = sign_in(browser, live, "otto")
    page = context.new_page()
    page.clock.install()
    for path in ("/exceptions?owner=all", "/flows", "/replenishments", "/rules", "/alerts"):
        page.goto(path)
        expect(page.locator("#auto-refresh")).to_be_checked()
        region = page.locator("[data-refresh]").first
        region.evaluate("el => el.dataset.marker = 'old'")
        with page.expect_request(lambda r, path=path: r.url.endswith(path)):
            page.clock.fast_forward(31_000)
        expect(page.locator("[data-refresh]").first).not_to_have_attribute("data-marker", "old")
    # Looking at the past: nothing to refresh.
    page.goto("/exceptions?owner=all&as_of=now-2h")
    expect(page.locator("#auto-refresh")).to_have_count(0)
    context.close()
