"""What every browser test shares: a live server loaded with the conformance scenario,
signing in, screenshots, API reads."""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from playwright.sync_api import Browser, BrowserContext, Page

from tests.e2e import scenario
from tests.support import REPO, Server

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
ARTIFACTS = REPO / "test-artifacts" / "console"
AS_OF = scenario.meta()["as_of"]


def shot(page: Page, name: str) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)


@contextmanager
def scenario_server(config: dict[str, Any], *extra_events: dict[str, Any]) -> Iterator[Server]:
    """A server with `config`, the scenario (and `extra_events`) loaded and its findings
    persisted as of the scenario's instant."""
    srv = Server(config, admin_token=scenario.ADMIN_TOKEN).start()
    try:
        scenario.load(srv)
        for event in extra_events:
            status, answer = srv.request("POST", "/v1/events", event)
            assert status == 200, answer
        expected = len(scenario.expected())

        def evaluated() -> bool:
            status, answer = scenario.evaluate(srv, AS_OF)
            assert status == 200, answer
            return len(answer["findings"]) == expected

        # Accepted data is visible within about a second; evaluate until all of it counts.
        srv.wait_for(evaluated, timeout=20, interval=1)
        yield srv
    finally:
        srv.cleanup()


def sign_in(browser: Browser, live: Server, user: str, **options: Any) -> BrowserContext:
    options.setdefault("viewport", {"width": 1360, "height": 900})
    context = browser.new_context(base_url=live.url, **options)
    page = context.new_page()
    page.goto("/login")
    page.get_by_label("User name").fill(user)
    page.get_by_label("Password").fill(scenario.PASSWORDS[user])
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(re.compile(r"/$"))
    page.close()
    return context


def api(live: Server, path: str) -> Any:
    status, answer = live.request("GET", path)
    assert status == 200, answer
    return answer


SLA = {
    # Invoices are overdue for acknowledgement the moment they open; a stat request has
    # 15 minutes, other requests 4 hours.
    "unmatched_invoice": {"default": {"ack_minutes": 0.001, "resolve_hours": 72}},
    "open_replenishment": {
        "stat": {"ack_minutes": 15, "resolve_hours": 8},
        "default": {"ack_minutes": 240, "resolve_hours": 72},
    },
}


def workday_server() -> Iterator[Server]:
    """The working-day tests' server: the scenario with SLA targets, teams and item names."""
    config: dict[str, Any] = scenario.console_config()
    config["rules"] = {"interval_s": 86400, "on_ingest": False, "sla": SLA}
    # Notes from the item master carry names; they change no finding.
    config["ingest"] = {"custom_event_types": ["catalog.seen"]}
    config["teams"] = {"east-buyers": {"name": "Mercy East buyers", "members": ["otto"]}}
    with scenario_server(config) as srv:
        yield srv
