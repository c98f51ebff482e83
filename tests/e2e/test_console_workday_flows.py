"""The operator's working day in real headless Chromium (issue 24), continued: flows that say
what is happening (too few spans to judge, the trace waterfall) and names next to codes with
times in the site's zone."""

from __future__ import annotations

import re
import time
from typing import Any
from urllib.parse import quote

import pytest

pytest.importorskip("playwright.sync_api")
from playwright.sync_api import Browser, expect  # noqa: E402

from tests.e2e.kit import api, shot, sign_in, workday_server  # noqa: E402
from tests.support import Server  # noqa: E402

pytestmark = pytest.mark.e2e

live = pytest.fixture(scope="module")(workday_server)


def _thin_trace(trace_id: str, correlation_id: str) -> dict[str, Any]:
    """Three spans of a tier-1 flow a minute ago, one failed after a retry event: too few
    to judge its 33 % error rate, and a waterfall with attributes and events."""
    t0 = time.time_ns() - 60 * 10**9

    def span(span_id: str, parent: str, name: str, start_ms: int, end_ms: int, **extra: Any):
        attrs = [
            {"key": "integration.flow", "value": {"stringValue": "e2e-thin-flow"}},
            {"key": "correlation.id", "value": {"stringValue": correlation_id}},
            {"key": "erp.endpoint", "value": {"stringValue": f"/{name}"}},
        ]
        return {
            "traceId": trace_id,
            "spanId": span_id,
            "parentSpanId": parent,
            "name": name,
            "kind": 2,
            "startTimeUnixNano": str(t0 + start_ms * 10**6),
            "endTimeUnixNano": str(t0 + end_ms * 10**6),
            "attributes": attrs,
            "status": {"code": 1},
            **extra,
        }

    retry = {
        "timeUnixNano": str(t0 + 900 * 10**6),
        "name": "retry",
        "attributes": [{"key": "attempt", "value": {"stringValue": "2"}}],
    }
    spans = [
        span("a000000000000001", "", "handle", 0, 2400),
        span(
            "a000000000000002",
            "a000000000000001",
            "erp.post",
            200,
            1900,
            events=[retry],
            status={"code": 2, "message": "ERP answered 503"},
        ),  # fmt: skip
        span("a000000000000003", "a000000000000002", "erp.auth", 250, 400),
    ]
    resource = {
        "attributes": [
            {"key": "service.name", "value": {"stringValue": "e2e-bridge"}},
            {"key": "integration.tier", "value": {"stringValue": "1"}},
        ]
    }
    return {"resourceSpans": [{"resource": resource, "scopeSpans": [{"spans": spans}]}]}


def test_flows_say_what_is_happening(browser: Browser, live: Server) -> None:
    trace_id = "e2e0000000000000000000000000beef"
    status, answer = live.request("POST", "/v1/traces", _thin_trace(trace_id, "corr-e2e-thin"))
    assert status == 200, answer
    live.wait_for(
        lambda: any(f["flow"] == "e2e-thin-flow" for f in api(live, "/api/flows")["flows"]),
        timeout=10,
        interval=0.5,
    )
    context = sign_in(browser, live, "otto")
    page = context.new_page()
    page.goto("/flows")
    row = page.locator('#flows tr[data-flow="e2e-thin-flow"]')
    expect(row).to_contain_text("too few spans to judge")
    expect(row.locator(".pill.good")).to_have_count(0)
    # A breaching flow: since when, and its history.
    breach = api(live, "/api/exceptions?family=sla_breach&status=active&limit=1")["items"][0]
    page.goto("/flows/" + quote(breach["flow"]))
    expect(page.locator("#breaching-since")).to_contain_text("breaching since")
    expect(page.locator("#breach-history tbody tr").first).to_contain_text("ongoing")
    # Its exception shows the flow's figures now beside the summary frozen at opening.
    page.goto("/exceptions/" + quote(breach["exception_id"], safe=""))
    expect(page.locator("#flow-now")).to_contain_text("Last span")
    assert not re.search(r"\d\.\d{7,}", page.locator("main").inner_text())
    # The waterfall: tree order, the failure, attributes and the retry event.
    page.goto("/transactions/corr-e2e-thin")
    page.get_by_role("link", name=re.compile("trace e2e0000")).first.click()
    expect(page).to_have_url(re.compile(f"/traces/{trace_id}"))
    spans = page.locator("#waterfall details.wf-span")
    expect(spans).to_have_count(3)
    assert [spans.nth(i).get_attribute("data-span-id")[-1] for i in range(3)] == ["1", "2", "3"]
    failed = page.locator('details[data-span-id="a000000000000002"]')
    expect(failed).to_have_class(re.compile("error"))
    failed.locator("summary").first.click()
    expect(failed).to_contain_text("ERP answered 503")
    expect(failed).to_contain_text("erp.endpoint")
    expect(failed.locator(".wf-events")).to_contain_text("retry")
    expect(failed.locator(".wf-events")).to_contain_text("attempt")
    shot(page, "w5-trace-waterfall")
    # A transaction of seconds labels its time axis with seconds.
    page.goto("/transactions/corr-e2e-thin")
    ticks = page.locator(".ticks span").all_inner_texts()
    assert ticks and all(re.search(r"\d\d:\d\d:\d\d", t) for t in ticks), ticks
    context.close()


def test_names_next_to_codes_and_times_in_the_site_zone(browser: Browser, live: Server) -> None:
    request = api(live, "/api/exceptions?family=open_replenishment&status=active&limit=1")
    exc = request["items"][0]
    item = exc["details"]["item_id"]
    note = {
        "event_id": "e2e-catalog-note-1",
        "event_type": "catalog.seen",
        "occurred_at": "2026-11-20T13:00:00Z",
        "correlation_id": exc["correlation_id"],
        "source_system": "item-master",
        "item_id": item,
        "attributes": {"item.description": "Heparin 5,000 units/mL vial"},
    }
    status, answer = live.request("POST", "/v1/events", note)
    assert status == 200, answer
    context = sign_in(browser, live, "otto")
    page = context.new_page()
    page.goto("/exceptions?owner=all&q=" + quote(exc["correlation_id"]))
    row = page.locator(f'#exception-table tr[data-id="{exc["exception_id"]}"]')
    expect(row.locator(".names")).to_have_text("Heparin 5,000 units/mL vial")
    page.goto("/exceptions/" + quote(exc["exception_id"], safe=""))
    details = page.locator("dl.details")
    expect(details).to_contain_text("Heparin 5,000 units/mL vial")
    # The request time: the site's zone, named, to the second; no raw fractions.
    requested = details.locator("dt", has_text="requested at").locator(
        "xpath=following-sibling::dd[1]"
    )
    expect(requested).to_have_text(re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d (C|E|M)[SD]T$"))
    shot(page, "w6-names-and-zones")
    page.goto("/transactions/" + quote(exc["correlation_id"]))
    expect(page.locator("main")).to_contain_text("(Heparin 5,000 units/mL vial)")
    context.close()
