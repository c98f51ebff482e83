"""Issue 24 in real headless Chromium: every page and every link honours the time control's
instant (the audit log, the transaction timeline, an exception, a trace included), and the
item filter and search reach every family whose exceptions are about an item."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from datetime import datetime
from typing import Any
from urllib.parse import parse_qs, quote, urlparse

import pytest

from rxsight.timeutil import parse_rfc3339, rfc3339, utcnow
from tests.e2e import scenario
from tests.support import Server

pytest.importorskip("playwright.sync_api")
from playwright.sync_api import Browser, Page, expect  # noqa: E402

from tests.e2e.kit import api, scenario_server, shot, sign_in  # noqa: E402

pytestmark = pytest.mark.e2e

# Links that leave the time on purpose: signing out, and "see it now".
TIMELESS = re.compile(r"^/(static/|logout|login)|^#")


@pytest.fixture(scope="module")
def live() -> Iterator[Server]:
    config: dict[str, Any] = scenario.console_config()
    config["rules"] = {"interval_s": 86400}
    with scenario_server(config) as srv:
        yield srv


def _links_without_the_instant(page: Page, instant: str) -> list[str]:
    hrefs = page.locator("a[href]").evaluate_all(
        "links => links.filter(a => a.id !== 'see-now').map(a => a.getAttribute('href'))"
    )
    missing = []
    for href in hrefs:
        if TIMELESS.search(href) or not href.startswith("/"):
            continue
        if parse_qs(urlparse(href).query).get("as_of") != [instant]:
            missing.append(href)
    return missing


def _events_by(tx: dict[str, Any], when: datetime) -> int:
    return sum(1 for e in tx["events"] if parse_rfc3339(e["occurred_at"]) <= when)


def test_every_page_and_link_keeps_the_instant(browser: Browser, live: Server) -> None:
    # The rules recorded their findings when the fixture evaluated them; a moment later
    # someone acknowledges one. The instant looked at lies between the two.
    instant = rfc3339(utcnow())
    time.sleep(1.1)
    item = api(live, "/api/exceptions?family=unmatched_invoice&limit=1")["items"][0]
    eid = item["exception_id"]
    status, answer = live.request("POST", f"/api/exceptions/{quote(eid, safe='')}/ack", {})
    assert status == 200, answer
    tx = api(live, f"/api/transactions/{quote(item['correlation_id'], safe='')}")
    trace_id = next((s["trace_id"] for s in tx["spans"]), None)
    flow = api(live, "/api/exceptions?family=sla_breach&limit=1")["items"][0]["flow"]
    at = "as_of=" + quote(instant)
    pages = [
        f"/?{at}",
        f"/exceptions?owner=all&{at}",
        f"/exceptions/{quote(eid, safe='')}?{at}",
        f"/transactions/{quote(item['correlation_id'], safe='')}?{at}",
        f"/transactions?list=1&q={quote(item['invoice_number'])}&{at}",
        f"/flows?{at}",
        f"/flows/{quote(flow)}?{at}",
        f"/replenishments?{at}",
        f"/audit?{at}",
        f"/kpis?{at}",
    ]
    if trace_id:
        pages.append(f"/traces/{trace_id}?{at}")
    context = sign_in(browser, live, "ada")
    page = context.new_page()
    for path in pages:
        answer = page.goto(path)
        assert answer is not None and answer.status == 200, path
        if not path.startswith("/kpis"):  # the KPIs page picks a period, not an instant
            expect(page.locator("#as_of")).to_have_value(instant)
        assert _links_without_the_instant(page, instant) == [], path

    # The audit log as of the instant: the acknowledgement was not written yet.
    page.goto("/audit?object_id=" + quote(eid))
    expect(page.locator("#audit tbody tr")).to_have_count(1)
    page.goto(f"/audit?object_id={quote(eid)}&{at}")
    expect(page.locator("#audit")).to_have_count(0)
    expect(page.locator("p.empty")).to_contain_text("as of")
    # The filter form keeps the instant.
    page.get_by_label("Who").fill("ada")
    page.get_by_role("button", name="Filter").click()
    expect(page).to_have_url(re.compile(r"as_of="))

    # The exception as it stood then: open, no acknowledgement in its history, no actions.
    page.goto(f"/exceptions/{quote(eid, safe='')}?{at}")
    expect(page.locator("#exc-status")).to_have_text("open")
    expect(page.locator('#history tr[data-change="acknowledged"]')).to_have_count(0)
    expect(page.locator("#cannot-act")).to_contain_text("as it stood")
    shot(page, "as-of-exception")
    page.locator("#see-now").click()
    expect(page.locator("#exc-status")).to_have_text("acknowledged")
    # Before it opened it did not exist.
    page.goto(f"/exceptions/{quote(eid, safe='')}?as_of=2026-01-01T00:00:00Z")
    expect(page.locator("main")).to_contain_text("did not exist yet")

    # The timeline as of an instant between its first and last event shows what had
    # happened by then, and its exceptions as they stood.
    times = sorted(parse_rfc3339(e["occurred_at"]) for e in tx["events"])
    assert len(times) >= 2 and times[0] < times[-1], tx["events"]
    middle = times[0] + (times[-1] - times[0]) / 2
    cid = quote(item["correlation_id"], safe="")
    page.goto(f"/transactions/{cid}")
    rows_now = page.locator("#event-table tbody tr:not(.linked)").count()
    page.goto(f"/transactions/{cid}?as_of=" + quote(middle.isoformat()))
    shown = page.locator("#event-table tbody tr").evaluate_all(
        "rows => rows.filter(r => !r.classList.contains('linked')"
        " && !r.querySelector('code')).length"
    )
    assert shown == _events_by(tx, middle) < len(tx["events"]) <= rows_now
    shot(page, "as-of-timeline")
    # Before anything happened to it, the timeline says so.
    page.goto(f"/transactions/{cid}?as_of=2026-01-01T00:00:00Z")
    expect(page.locator("main")).to_contain_text("Nothing had happened")
    context.close()


def _doc_item(live: Server, exception: dict[str, Any]) -> str:
    """An item on a line of the exception's PO or invoice (not named by the finding)."""
    tx = api(live, f"/api/transactions/{quote(exception['correlation_id'], safe='')}")
    for event in tx["events"] + tx.get("linked_events", []):
        keyed = (
            exception.get("po_number") and event.get("po_number") == exception["po_number"]
        ) or (
            exception.get("invoice_number")
            and event.get("invoice_number") == exception["invoice_number"]
        )
        for line in event.get("lines") or [] if keyed else []:
            if line.get("item_id"):
                return line["item_id"]
    raise AssertionError(f"no line item for {exception['exception_id']}")


@pytest.mark.parametrize("family", ["delayed_receipt", "unmatched_invoice"])
def test_item_filter_and_search_reach_every_family_about_an_item(
    browser: Browser, live: Server, family: str
) -> None:
    candidates = api(live, f"/api/exceptions?family={family}&limit=50")["items"]
    exception = next(e for e in candidates if e.get("po_number") or e.get("invoice_number"))
    assert "item_id" not in (exception.get("details") or {})
    code = _doc_item(live, exception)
    prefix = code[: max(len(code) - 2, 4)].lower()
    row = f'#exception-table tr[data-id="{exception["exception_id"]}"]'
    context = sign_in(browser, live, "otto")
    page = context.new_page()
    page.goto(f"/exceptions?owner=all&status=any&family={family}")
    page.get_by_label("Item").fill(prefix)
    page.get_by_role("button", name="Apply", exact=True).click()
    expect(page).to_have_url(re.compile(r"item=" + re.escape(quote(prefix))))
    expect(page.locator(row)).to_have_count(1)
    total = int(page.get_by_test_id("exception-total").inner_text())
    assert (
        total == api(live, f"/api/exceptions?family={family}&limit=1&item={quote(prefix)}")["total"]
    )
    assert total < len(candidates) or len(candidates) == 1
    shot(page, f"item-filter-{family}")
    # An item no document carries finds nothing.
    page.goto(f"/exceptions?owner=all&status=any&family={family}&item=zz-no-such-item")
    expect(page.locator("#exception-results")).to_contain_text("No exceptions match")
    # Search by the item code's prefix, in another case.
    page.goto(f"/exceptions?owner=all&status=any&q={quote(prefix.upper())}")
    expect(page.locator(row)).to_have_count(1)
    context.close()
