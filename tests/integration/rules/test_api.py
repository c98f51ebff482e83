"""Rules over HTTP: exception lifecycle and audit, per-site thresholds, custom rules, metrics."""

from __future__ import annotations

from datetime import timedelta
from urllib.parse import quote

from rxsight.timeutil import rfc3339
from tests.integration.rules.api_kit import (
    T0,
    T1,
    TOKEN,
    action,
    current,
    evaluate,
    findings_for,
    send,
    wait_finding,
)
from tests.support import Server


def test_lifecycle_open_ack_assign_autoresolve_reopen_resolve_audit(srv: Server) -> None:
    cid = "life-1"
    send(
        srv,
        {
            "event_type": "replenishment.requested",
            "at": T0,
            "correlation_id": cid,
            "site": "site-a",
            "priority": "stat",
            "item_id": "NDC-1",
            "quantity": 5,
        },
    )
    wait_finding(srv, T0 + timedelta(hours=2), family="open_replenishment", correlation_id=cid)
    body = evaluate(srv, T0 + timedelta(hours=2), persist=True)
    assert body["persisted"] is True
    exc_id = f"open_replenishment:{cid}"

    status, listed = srv.request("GET", "/api/exceptions?family=open_replenishment&status=open")
    assert status == 200
    mine = [e for e in listed["items"] if e["exception_id"] == exc_id]
    assert len(mine) == 1 and listed["total"] >= 1
    exc = mine[0]
    assert exc["status"] == "open" and exc["reason"] == "no_po"
    assert exc["since"] == "2026-03-02T09:00:00.000Z"
    assert exc["owner"] == "pharmacy" and exc["site"] == "site-a"
    assert exc["age_s"] > 0

    status, acked = action(srv, exc_id, "ack")
    assert status == 200 and acked["status"] == "acknowledged"
    status, again = action(srv, exc_id, "ack")
    assert status == 409, again
    status, refused = action(srv, exc_id, "assign", assignee="jdoe")
    assert status == 422 and refused["detail"][0]["loc"] == ["body", "assignee"], refused
    assert "'jdoe' is not a configured user or team" in refused["detail"][0]["msg"]
    status, assigned = action(srv, exc_id, "assign", assignee="buyers")
    assert status == 200 and assigned["assignee"] == "buyers"
    status, _ = action(srv, exc_id, "comment", comment="calling the buyer")
    assert status == 200
    assert action(srv, "open_replenishment:nope", "ack")[0] == 404

    # The PO comes and the goods arrive in full: the condition clears by itself.
    send(
        srv,
        {
            "event_type": "po.created",
            "at": T0 + timedelta(hours=2, minutes=30),
            "correlation_id": cid,
            "po_number": "PO-L1",
            "supplier_id": "SUP-L",
            "site": "site-a",
            "expected_at": rfc3339(T0 + timedelta(hours=6)),
            "lines": [{"line_no": 1, "item_id": "NDC-1", "quantity": 5, "unit_price": "3.10"}],
        },
        {
            "event_type": "goods.received",
            "at": T0 + timedelta(hours=3),
            "correlation_id": cid,
            "po_number": "PO-L1",
            "receipt_id": "GR-L1",
            "site": "site-a",
            "lines": [{"line_no": 1, "item_id": "NDC-1", "quantity": 5}],
        },
    )
    later = T0 + timedelta(hours=4)
    srv.wait_for(
        lambda: (
            not findings_for(evaluate(srv, later), family="open_replenishment", correlation_id=cid)
        ),
        timeout=10,
    )
    evaluate(srv, later, persist=True)
    exc = current(srv, exc_id)
    assert exc["status"] == "resolved"
    assert exc["history"][-1]["change"] == "auto_resolved"
    assert "no_po" in exc["history"][-1]["comment"]
    assert exc["assignee"] == "buyers"

    # Replaying the earlier instant brings the condition back: the exception reopens.
    evaluate(srv, T0 + timedelta(hours=2), persist=True)
    exc = current(srv, exc_id)
    assert exc["status"] == "open" and exc["history"][-1]["change"] == "reopened"

    status, refused = action(srv, exc_id, "resolve")
    assert status == 422 and refused["detail"][0]["loc"] == ["body", "comment"], refused
    status, resolved = action(srv, exc_id, "resolve", comment="PO raised by phone")
    assert status == 200 and resolved["status"] == "resolved"
    # A person's resolve holds while the same condition persists ...
    evaluate(srv, T0 + timedelta(hours=2), persist=True)
    assert current(srv, exc_id)["status"] == "resolved"
    # ... the condition clearing is recorded, and its return reopens the exception.
    evaluate(srv, later, persist=True)
    exc = current(srv, exc_id)
    assert exc["status"] == "resolved" and exc["history"][-1]["change"] == "auto_resolved"
    evaluate(srv, T0 + timedelta(hours=2), persist=True)
    assert current(srv, exc_id)["status"] == "open"
    status, _ = action(srv, exc_id, "resolve", comment="duplicate of a phone order")
    assert status == 200
    status, reopened = action(srv, exc_id, "reopen", comment="not fixed after all")
    assert status == 200 and reopened["status"] == "open"

    exc = current(srv, exc_id)
    changes = [h["change"] for h in exc["history"]]
    assert changes == [
        "opened",
        "acknowledged",
        "assigned",
        "commented",
        "auto_resolved",
        "reopened",
        "resolved",
        "auto_resolved",
        "reopened",
        "resolved",
        "reopened",
    ]
    assert [h["version"] for h in exc["history"]] == list(range(1, 12))
    people = [h for h in exc["history"] if h["actor"] == "admin-token"]
    assert {h["change"] for h in people} == {
        "acknowledged",
        "assigned",
        "commented",
        "resolved",
    } | {"reopened"}

    status, audit = srv.request("GET", f"/api/exceptions/{quote(exc_id, safe='')}/audit")
    assert status == 200
    actions = [(a["actor"], a["action"]) for a in audit["items"]]
    assert actions == [
        ("admin-token", "exception.ack"),
        ("admin-token", "exception.assign"),
        ("admin-token", "exception.comment"),
        ("admin-token", "exception.resolve"),
        ("admin-token", "exception.resolve"),
        ("admin-token", "exception.reopen"),
    ]
    assert audit["items"][3]["detail"]["comment"] == "PO raised by phone"


def test_per_site_thresholds(srv: Server) -> None:
    base = {
        "event_type": "replenishment.requested",
        "at": T1,
        "priority": "stat",
        "item_id": "NDC-1",
        "quantity": 1,
    }
    send(
        srv,
        {**base, "correlation_id": "site-a-1", "site": "site-a"},
        {**base, "correlation_id": "site-b-1", "site": "site-b"},
    )
    at_45 = T1 + timedelta(minutes=45)
    b = wait_finding(srv, at_45, correlation_id="site-b-1")
    assert b["reason"] == "no_po" and b["since"] == "2026-03-09T08:30:00.000Z"
    assert b["owner"] == "site-b-pharmacy"
    assert not findings_for(evaluate(srv, at_45), correlation_id="site-a-1")
    # Boundary: at exactly the default limit the site-a request is late.
    exactly = evaluate(srv, T1 + timedelta(hours=1))
    a = findings_for(exactly, correlation_id="site-a-1")
    assert a and a[0]["since"] == "2026-03-09T09:00:00.000Z"
    before = evaluate(srv, T1 + timedelta(hours=1) - timedelta(milliseconds=1))
    assert not findings_for(before, correlation_id="site-a-1")

    status, open_list = srv.request(
        "GET", f"/api/replenishments/open?as_of={rfc3339(T1 + timedelta(minutes=45))}"
    )
    assert status == 200
    rows = {r["correlation_id"]: r for r in open_list["items"]}
    assert rows["site-b-1"]["late"] is True and rows["site-a-1"]["late"] is False
    assert rows["site-a-1"]["age_s"] == 45 * 60


def test_custom_rule_and_broken_rule(srv: Server) -> None:
    send(
        srv,
        {
            "event_type": "invoice.received",
            "at": T1,
            "correlation_id": "big-1",
            "supplier_id": "SUP-BIG",
            "invoice_number": "INV-BIG-1",
            "po_number": "PO-BIG",
            "amount": "25000.00",
            "lines": [{"line_no": 1, "item_id": "X", "quantity": 1, "unit_price": "25000.00"}],
        },
    )
    at = T1 + timedelta(hours=5)  # past the no_po grace of the built-in rule
    f = wait_finding(srv, at, family="big_invoice")
    assert f["rule_id"] == "big_invoice" and f["reason"] == "over_limit"
    assert f["severity"] == "critical" and f["owner"] == "finance-controller"
    assert f["invoice_number"] == "INV-BIG-1" and f["key"] == "big_invoice:SUP-BIG/INV-BIG-1"
    # The custom rule reads business_events; the built-in reads the per-entity tables, which
    # one insert reaches a moment later.
    wait_finding(srv, at, family="unmatched_invoice", invoice_number="INV-BIG-1")
    body = evaluate(srv, at)
    # The broken rule is reported with its file and the engine's message ...
    errors = {e["rule_id"]: e["error"] for e in body["errors"]}
    assert "broken.yaml" in errors["broken_rule"]
    assert "Syntax error" in errors["broken_rule"]
    # ... and the other rules still ran.
    assert findings_for(body, family="open_replenishment")
    assert findings_for(body, family="unmatched_invoice", invoice_number="INV-BIG-1")

    status, listing = srv.request("GET", "/api/rules")
    assert status == 200
    by_id = {r["id"]: r for r in listing["rules"]}
    assert {"open_replenishment", "unmatched_invoice", "delayed_receipt", "sla_breach"} <= set(
        by_id
    )
    assert by_id["big_invoice"]["kind"] == "custom" and by_id["big_invoice"]["findings"] >= 1
    assert "Syntax error" in by_id["broken_rule"]["last_error"]
    assert by_id["broken_rule"]["source"].endswith("broken.yaml")


def test_metrics_and_flows(srv: Server) -> None:
    evaluate(srv, T1 + timedelta(hours=2), persist=True)
    status, text = srv.request("GET", "/metrics", token=TOKEN)
    assert status == 200
    text = text if isinstance(text, str) else text.decode()
    assert "rxsight_rules_evaluation_seconds_bucket" in text
    assert 'rxsight_rules_findings{family="open_replenishment",reason="no_po"}' in text
    assert 'rxsight_exceptions_open{family="open_replenishment"' in text
    status, flows = srv.request("GET", "/api/flows")
    assert status == 200 and isinstance(flows["flows"], list)
    assert srv.request("GET", "/api/exceptions", token=None)[0] == 401
