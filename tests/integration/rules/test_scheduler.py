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
        "item_id": "NDC-9",
        "quantity": 2,
    }
    status, body = srv.request("POST", "/v1/events", [event])
    assert status == 200, body

    def opened() -> list[dict]:
        _, listed = srv.request("GET", "/api/exceptions?family=open_replenishment")
        return [e for e in listed["items"] if e["correlation_id"] == "sched-1"]

    exc = srv.wait_for(opened, timeout=30, interval=0.5)[0]
    assert exc["status"] == "open" and exc["reason"] == "no_po"
    assert exc["owner"] == "pharmacy-ops"

    def rule(rule_id: str) -> dict:
        status, listing = srv.request("GET", "/api/rules")
        assert status == 200
        return {r["id"]: r for r in listing["rules"]}[rule_id]

    # After the first (full) run the scheduler looks only at open and touched entities.
    srv.wait_for(lambda: rule("open_replenishment")["incremental"], timeout=20, interval=0.5)
    assert rule("open_replenishment")["last_error"] is None

    # The PO comes and is received in full: an incremental run sees it and auto-resolves.
    later = requested + timedelta(minutes=30)
    follow = [
        {
            "event_id": str(uuid.uuid4()),
            "event_type": "po.created",
            "occurred_at": later.isoformat().replace("+00:00", "Z"),
            "correlation_id": "sched-1",
            "source_system": "test",
            "po_number": "PO-S1",
            "supplier_id": "SUP-S1",
            "lines": [{"line_no": 1, "item_id": "NDC-9", "quantity": 2}],
        },
        {
            "event_id": str(uuid.uuid4()),
            "event_type": "goods.received",
            "occurred_at": (later + timedelta(minutes=5)).isoformat().replace("+00:00", "Z"),
            "correlation_id": "other-correlation",
            "source_system": "test",
            "po_number": "PO-S1",
            "receipt_id": "GR-S1",
            "lines": [{"line_no": 1, "item_id": "NDC-9", "quantity": 2}],
        },
    ]
    status, body = srv.request("POST", "/v1/events", follow)
    assert status == 200, body
    exc_id = "open_replenishment:sched-1"

    def resolved() -> dict | None:
        _, found = srv.request("GET", f"/api/exceptions/{exc_id}")
        return found if found["status"] == "resolved" else None

    done = srv.wait_for(resolved, timeout=30, interval=0.5)
    assert done["history"][-1]["change"] == "auto_resolved"

    # The receipt (85 minutes ago) was never posted: a finding of its own, found by an
    # incremental run from the receipt's arrival. Not necessarily the same run: one insert
    # reaches the per-entity tables one after another, and a run may start in between.
    def not_posted() -> list[dict]:
        _, listed = srv.request("GET", "/api/exceptions?family=delayed_receipt&status=open")
        return [e for e in listed["items"] if e["receipt_id"] == "GR-S1"]

    gr = srv.wait_for(not_posted, timeout=10, interval=0.5)
    assert gr[0]["reason"] == "not_posted" and gr[0]["owner"] == "receiving"

    status, flows = srv.request("GET", "/api/flows")
    assert status == 200
    erp = [f for f in flows["flows"] if f["flow"] == "erp-sync"]
    assert erp and erp[0]["tier"] == 1 and erp[0]["status"] == "never_seen"
