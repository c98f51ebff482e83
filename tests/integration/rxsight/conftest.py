"""A guarded rxsight for the access tests: console users of every role (one scoped to the
accounts-payable owner), an ingest token, receivers for two owners whose webhooks go dead at
once, and helpers that open exceptions of either owner."""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from tests.e2e.scenario import PASSWORDS, console_config
from tests.support import Server, free_port

ADMIN_TOKEN = "access-admin-token-0123456789"
INGEST_TOKEN = "access-ingest-token-0123456789"
SECRET = "access-webhook-secret-0123456789"
# Owner of each built-in family the helpers open (rules/families/<family>/).
PHARMACY, AP = "pharmacy", "accounts-payable"


def guarded_config() -> dict[str, Any]:
    dead_end = f"http://127.0.0.1:{free_port()}/hook"  # nothing listens: delivery fails
    receivers = [
        {"name": f"{owner}-team", "owner": owner, "secret": SECRET, "webhooks": [{"url": dead_end}]}
        for owner in (PHARMACY, AP)
    ]
    return {
        **console_config(),
        "ingest": {"tokens": [{"name": "erp", "token": INGEST_TOKEN}]},
        "alerts": {
            "route": {
                "receiver": f"{PHARMACY}-team",
                "group_wait": "0s",
                "group_interval": "1s",
                "routes": [{"matchers": [f'owner="{AP}"'], "receiver": f"{AP}-team"}],
            },
            "receivers": receivers,
            "delivery": {"max_attempts": 1},
        },
    }


def sign_in(base_url: str, username: str, password: str | None = None) -> httpx.Client:
    """A browser-like client signed in to the console, sending its CSRF token on writes."""
    client = httpx.Client(base_url=base_url, timeout=30)
    form = client.get("/login").text
    token = re.search(r'name="login_token" value="([^"]+)"', form)
    assert token, form[:300]
    answer = client.post(
        "/login",
        data={
            "username": username,
            "password": PASSWORDS[username] if password is None else password,
            "login_token": token.group(1),
            "next": "/",
        },
    )
    assert answer.status_code == 303, answer.text[:300]
    page = client.get("/alerts").text
    csrf = re.search(r'"X-CSRF-Token": "([^"]+)"', page)
    assert csrf, page[:300]
    client.headers["X-CSRF-Token"] = csrf.group(1)
    return client


@contextmanager
def signed_in(base_url: str, username: str) -> Iterator[httpx.Client]:
    client = sign_in(base_url, username)
    try:
        yield client
    finally:
        client.close()


@dataclass
class Guarded:
    server: Server

    @property
    def url(self) -> str:
        return self.server.url

    def admin(self, method: str, path: str, body: Any = None) -> tuple[int, Any]:
        return self.server.request(method, path, body, token=ADMIN_TOKEN)

    def open_exception(self, owner: str) -> str:
        """A new open exception of `owner` (pharmacy: a stat request with no PO for 3 h;
        accounts-payable: an invoice for a PO nobody raised, 6 h ago); returns its id."""
        tag = uuid.uuid4().hex[:10]
        now = datetime.now(UTC)
        common = {"event_id": f"ev-{tag}", "source_system": "erp", "correlation_id": f"c-{tag}"}
        if owner == PHARMACY:
            event = {
                **common,
                "event_type": "replenishment.requested",
                "occurred_at": (now - timedelta(hours=3)).isoformat(),
                "site": "mercy-main",
                "item_id": "NDC-1",
                "quantity": 2,
                "priority": "stat",
            }
            key = f"open_replenishment:c-{tag}"
        else:
            event = {
                **common,
                "event_type": "invoice.received",
                "occurred_at": (now - timedelta(hours=6)).isoformat(),
                "supplier_id": "SUP-1",
                "invoice_number": f"INV-{tag}",
                "po_number": f"PO-{tag}",
                "amount": "10.00",
                "lines": [{"line_no": 1, "item_id": "X", "quantity": 1, "unit_price": "10.00"}],
            }
            key = f"unmatched_invoice:SUP-1/INV-{tag}"
        status, answer = self.server.request("POST", "/v1/events", event, token=INGEST_TOKEN)
        assert status == 200 and answer["accepted"] == 1, answer

        def opened() -> dict[str, Any] | None:
            self.admin("POST", "/api/rules/evaluate?persist=true")
            status, found = self.admin("GET", f"/api/exceptions/{key}")
            return found if status == 200 else None

        found = self.server.wait_for(opened, timeout=20, interval=0.5)
        assert found["owner"] == owner, found
        return key

    def dead_letter(self, owner: str) -> str:
        """A dead notification to the receiver serving `owner` (made when there is none)."""

        def dead() -> str | None:
            status, body = self.admin("GET", f"/api/dead-letters?receiver={owner}-team")
            items = body.get("dead_letters", []) if status == 200 else []
            return items[0]["id"] if items else None

        if dead() is None:
            self.open_exception(owner)
        return self.server.wait_for(dead, timeout=30, interval=0.5)

    def silence(self, owner: str) -> str:
        """An active silence pinned to `owner`, made by the admin token."""
        status, body = self.admin(
            "POST",
            "/api/silences",
            {
                "matchers": [f'owner="{owner}"', 'family="no_such_family"'],
                "endsAt": (datetime.now(UTC) + timedelta(hours=1)).isoformat(),
                "comment": "access test",
            },
        )
        assert status == 201, body
        return body["id"]


@pytest.fixture(scope="session")
def guarded() -> Iterator[Guarded]:
    server = Server(guarded_config(), admin_token=ADMIN_TOKEN).start()
    try:
        yield Guarded(server)
    finally:
        server.cleanup()
