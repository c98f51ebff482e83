"""The scheduler in `rxsight serve`: evaluates on its interval and persists exceptions."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest

from tests.support import Server

TOKEN = "scheduler-admin-token-0123456789"
CONFIG = {
    "flows": {"erp-sync": {"tier": 1, "owner": "erp-team", "domain": "supply"}},
    "rules": {
        "interval_s": 0.5,
        "owners": [{"domain": "pharmacy", "owner": "pharmacy-ops"}],
    },
}


@pytest.fixture(scope="module")
def srv() -> Iterator[Server]:
    server = Server(CONFIG, admin_token=TOKEN).start()
    try:
        yield server
    finally:
        server.cleanup()


def test_scheduler_opens_exceptions_for_now(srv: Server) -> None:
    requested = datetime.now(UTC) - timedelta(hours=2)
    event = {
        "event_id": str(uuid.uuid4()),
        "event_type": "replenishment.requested",
        "occurred_at": requested.isoformat().replace("+00:00", "Z"),
        "correlation_id": "sched-1",
        "source_system": "test",
        "site": "main",
        "domain": "pharmacy",
        "priority": "stat",
    }
    status, body = srv.request("POST", "/v1/events", [event])
    assert status == 200, body

    def opened() -> list[dict]:
        _, listed = srv.request("GET", "/api/exceptions?family=open_replenishment")
        return [e for e in listed["items"] if e["correlation_id"] == "sched-1"]

    exc = srv.wait_for(opened, timeout=30, interval=0.5)[0]
    assert exc["status"] == "open" and exc["reason"] == "no_po"
    assert exc["owner"] == "pharmacy-ops"
    status, listing = srv.request("GET", "/api/rules")
    assert status == 200
    runs = {r["id"]: r for r in listing["rules"]}
    assert runs["open_replenishment"]["last_run"] is not None
    assert runs["open_replenishment"]["last_error"] is None

    status, flows = srv.request("GET", "/api/flows")
    assert status == 200
    erp = [f for f in flows["flows"] if f["flow"] == "erp-sync"]
    assert erp and erp[0]["tier"] == 1 and erp[0]["status"] == "never_seen"
