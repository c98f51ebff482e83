"""Alerts stage in-process on real chDB, delivering to a real loopback receiver: grouping,
repeat, resolved, continue, silences, inhibition, escalation, signatures (retries and dead
letters: test_delivery.py)."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

from rxsight.timeutil import rfc3339
from testkit.receiver import Receiver
from tests.integration.alerts.kit import (
    SECRET,
    Stage,
    config,
    exception_row,
    verify,
)

AM_TOP = {
    "version",
    "groupKey",
    "truncatedAlerts",
    "status",
    "receiver",
    "groupLabels",
    "commonLabels",
    "commonAnnotations",
    "externalURL",
    "alerts",
}
AM_ALERT = {
    "status",
    "labels",
    "annotations",
    "startsAt",
    "endsAt",
    "generatorURL",
    "fingerprint",
}


def test_grouping_signature_v4_payload_and_resolved(receiver: Receiver, stages) -> None:
    cfg = config({"ap": [receiver.url("/ap")]}, {"receiver": "ap", "group_by": ["family", "site"]})
    stage = Stage(cfg)
    stages.append(stage)
    t0 = time.time()
    stage.exceptions(*[exception_row(f"INV-{i}", 1) for i in range(3)])
    first = receiver.wait(1, "/ap")[0]
    assert first.at - t0 >= 0.3  # group_wait: the group waited for company
    time.sleep(0.6)  # nothing else arrives: the three were one group
    assert len(receiver.delivered("/ap")) == 1
    body = first.json
    assert set(body) == AM_TOP
    assert body["version"] == "4" and body["status"] == "firing" and body["receiver"] == "ap"
    assert body["groupLabels"] == {"family": "unmatched_invoice", "site": "SITE-A"}
    assert body["commonLabels"]["owner"] == "accounts-payable"
    assert body["truncatedAlerts"] == 0 and body["externalURL"] == "http://console"
    assert len(body["alerts"]) == 3
    for alert in body["alerts"]:
        assert set(alert) == AM_ALERT
        assert alert["endsAt"] == "0001-01-01T00:00:00Z"
        assert alert["generatorURL"].startswith("http://console/exceptions/INV-")
        for label in ("family", "reason", "site", "owner", "severity"):
            assert alert["labels"][label]
        assert alert["annotations"]["summary"] and alert["annotations"]["console"]
    assert verify(SECRET, first.headers, first.body)
    assert first.headers["idempotency-key"] == first.headers["webhook-id"]
    assert not verify(SECRET, first.headers, first.body + b" ")

    # One resolves: a notification with it resolved and the other two still firing.
    stage.exceptions(exception_row("INV-0", 2, "auto_resolved"))
    second = receiver.wait(2, "/ap")[1].json
    by_status = {a["labels"]["exception_id"]: a["status"] for a in second["alerts"]}
    assert by_status == {"INV-0": "resolved", "INV-1": "firing", "INV-2": "firing"}
    # All resolve: the group's last word is "resolved".
    stage.exceptions(exception_row("INV-1", 2, "resolved"), exception_row("INV-2", 2, "resolved"))
    last = receiver.wait(3, "/ap")[2].json
    assert last["status"] == "resolved"
    assert {a["status"] for a in last["alerts"]} == {"resolved"}
    assert all(a["endsAt"] != "0001-01-01T00:00:00Z" for a in last["alerts"])
    time.sleep(1.0)
    assert len(receiver.delivered("/ap")) == 3  # and then silence
    states = {a["exception_id"]: a["status"]["state"] for a in stage.alerts()}
    assert set(states.values()) == {"resolved"}
    # The condition returns: the reopened exception fires again.
    stage.exceptions(exception_row("INV-1", 3, "reopened"))
    again = receiver.wait(4, "/ap")[3].json
    assert [(a["labels"]["exception_id"], a["status"]) for a in again["alerts"]] == [
        ("INV-1", "firing")
    ]


def test_repeat_interval_and_continue(receiver: Receiver, stages) -> None:
    cfg = config(
        {
            "default": [receiver.url("/default")],
            "ap": [receiver.url("/ap")],
            "audit": [{"url": receiver.url("/audit"), "format": "rxsight"}],
        },
        {
            "receiver": "default",
            "group_by": ["family"],
            "routes": [
                # continue: the audit trail sees it and routing goes on to the owner route.
                {
                    "matchers": ['severity=~"warning|critical"'],
                    "receiver": "audit",
                    "continue": True,
                },
                {
                    "matchers": ["owner = accounts-payable"],
                    "receiver": "ap",
                    "repeat_interval": "1s",
                },
                {"matchers": ["owner != accounts-payable"], "receiver": "default"},
            ],
        },
    )
    stage = Stage(cfg)
    stages.append(stage)
    stage.exceptions(exception_row("INV-9", 1))
    receiver.wait(1, "/ap")
    receiver.wait(1, "/audit")
    # repeat_interval 1s on the ap route: the unchanged group is sent again; audit (1h) is not.
    hits = receiver.wait(3, "/ap", timeout=6)
    # Judged by when the dispatcher decided each send, not by when it arrived: delivery
    # takes longer for one than another on a busy machine.
    sent = [
        row["created_at"]
        for row in stage.store.query(
            "SELECT notification_id, min(created_at) AS created_at FROM alert_notifications"
            " WHERE receiver = 'ap' GROUP BY notification_id ORDER BY created_at"
        )
    ]
    gaps = [(b - a).total_seconds() for a, b in zip(sent, sent[1:], strict=False)]
    assert len(sent) >= 3 and all(g >= 1.0 for g in gaps), gaps
    assert len({h.headers["webhook-id"] for h in hits}) == len(hits)
    assert len(receiver.delivered("/audit")) == 1
    assert receiver.delivered("/default") == []
    audit = receiver.delivered("/audit")[0].json
    assert audit["type"] == "rxsight.alerts" and audit["alerts"][0]["exception_id"] == "INV-9"
    assert audit["alerts"][0]["console_url"] == "http://console/exceptions/INV-9"
    assert verify(
        SECRET, receiver.delivered("/audit")[0].headers, receiver.delivered("/audit")[0].body
    )


def test_silence_suppresses_and_expiry_unsuppresses(receiver: Receiver, stages) -> None:
    cfg = config({"ap": [receiver.url("/ap")]}, {"receiver": "ap", "group_by": ["site"]})
    stage = Stage(cfg)
    stages.append(stage)
    silences = stage.service.silences
    now = datetime.now(UTC)
    silence = silences.create(
        {
            "matchers": [{"name": "site", "value": "SITE-B"}],
            "endsAt": rfc3339(now + timedelta(seconds=3)),
            "comment": "site B is migrating its ERP",
        },
        "tester",
    )
    stage.exceptions(exception_row("INV-A", 1), exception_row("INV-B", 1, site="SITE-B"))
    first = receiver.wait(1, "/ap")[0].json
    assert [a["labels"]["site"] for a in first["alerts"]] == ["SITE-A"]
    state = {a["exception_id"]: a["status"] for a in stage.alerts()}
    assert state["INV-B"]["state"] == "suppressed"
    assert state["INV-B"]["silencedBy"] == [silence.id]
    assert state["INV-A"]["state"] == "firing"
    time.sleep(1.0)
    assert len(receiver.delivered("/ap")) == 1
    # The silence ends by itself: the alert is no longer suppressed and is notified.
    second = receiver.wait(2, "/ap", timeout=6)[1].json
    assert [a["labels"]["site"] for a in second["alerts"]] == ["SITE-B"]
    assert {a["exception_id"]: a["status"]["state"] for a in stage.alerts()}["INV-B"] == "firing"
    assert silences.get(silence.id).state(datetime.now(UTC)) == "expired"

    # A silence created while firing mutes it from then on; expiring it early lifts it.
    s2 = silences.create(
        {
            "matchers": ['site="SITE-A"'],
            "endsAt": rfc3339(now + timedelta(hours=1)),
            "comment": "x",
        },
        "tester",
    )
    stage.wait_for(
        lambda: (
            {a["exception_id"]: a["status"]["state"] for a in stage.alerts()}["INV-A"]
            == "suppressed"
        )
    )
    silences.expire(s2.id, "tester")
    stage.wait_for(
        lambda: (
            {a["exception_id"]: a["status"]["state"] for a in stage.alerts()}["INV-A"] == "firing"
        )
    )


def test_inhibition_suppresses_and_lifts(receiver: Receiver, stages) -> None:
    cfg = config(
        {"ap": [receiver.url("/ap")], "integration": [receiver.url("/int")]},
        {
            "receiver": "ap",
            "group_by": ["family", "site"],
            "routes": [{"matchers": ["family=sla_breach"], "receiver": "integration"}],
        },
        inhibit_rules=[
            {
                "source_matchers": ["family=sla_breach", "tier=1", 'flow=~"erp.*"'],
                "target_matchers": ["family=unmatched_invoice"],
                "equal": ["site"],
            }
        ],
    )
    stage = Stage(cfg)
    stages.append(stage)
    breach = dict(
        family="sla_breach",
        rule_id="sla_breach",
        reason="error_rate",
        owner="integration",
        flow="erp-invoices",
        tier="1",
        severity="critical",
    )
    stage.exceptions(
        exception_row("SLA-ERP-A", 1, **breach),
        exception_row("INV-A1", 1),
        exception_row("INV-B1", 1, site="SITE-B"),
    )
    receiver.wait(1, "/int")
    first = receiver.wait(1, "/ap")
    time.sleep(0.8)
    ap = receiver.delivered("/ap")
    # Only site B's invoice went out: site A's is inhibited by the ERP breach at site A.
    assert [a["labels"]["exception_id"] for h in ap for a in h.json["alerts"]] == ["INV-B1"]
    state = {a["exception_id"]: a["status"] for a in stage.alerts()}
    assert state["INV-A1"]["state"] == "suppressed"
    assert state["INV-A1"]["inhibitedBy"]
    assert first
    # The breach clears: the invoice alert is no longer inhibited and is sent.
    stage.exceptions(exception_row("SLA-ERP-A", 2, "auto_resolved", **breach))
    got = receiver.wait(len(ap) + 1, "/ap", timeout=6)[-1].json
    assert [a["labels"]["exception_id"] for a in got["alerts"]] == ["INV-A1"]


def test_escalation_and_acknowledgement(receiver: Receiver, stages) -> None:
    cfg = config(
        {"pharmacy": [receiver.url("/pharm")], "oncall": [receiver.url("/oncall")]},
        {
            "receiver": "pharmacy",
            "group_by": ["exception_id"],
            "escalate_after": "2s",
            "escalation_receiver": "oncall",
        },
    )
    stage = Stage(cfg)
    stages.append(stage)
    fam = dict(family="open_replenishment", rule_id="open_replenishment", reason="no_po")
    stage.exceptions(exception_row("REP-1", 1, **fam), exception_row("REP-2", 1, **fam))
    receiver.wait(2, "/pharm")
    # REP-2 is acknowledged before escalate_after: only REP-1 escalates.
    stage.exceptions(exception_row("REP-2", 2, "acknowledged", **fam))
    esc = receiver.wait(1, "/oncall", timeout=6)
    time.sleep(1.2)
    escalated = [
        a["labels"]["exception_id"] for h in receiver.delivered("/oncall") for a in h.json["alerts"]
    ]
    assert escalated == ["REP-1"], escalated
    assert esc[0].json["status"] == "firing"
    assert {a["exception_id"]: a["escalated"] for a in stage.alerts()} == {
        "REP-1": True,
        "REP-2": False,
    }
    # Resolving the escalated one tells the escalation receiver too.
    stage.exceptions(exception_row("REP-1", 2, "resolved", **fam))
    last = receiver.wait(2, "/oncall", timeout=6)[-1].json
    assert last["status"] == "resolved"
