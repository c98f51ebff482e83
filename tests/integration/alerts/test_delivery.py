"""Alerts stage in-process on real chDB, delivering to a real loopback receiver that fails
on purpose: retries on 5xx, 429 and timeouts, each notification delivered once per
webhook-id; 4xx to dead letters and their replay; a dispatcher turned off; the retention of
the notification log."""

from __future__ import annotations

import time

import pytest

from testkit.receiver import Receiver
from tests.integration.alerts.kit import (
    SECRET,
    Stage,
    config,
    exception_row,
    verify,
)


def test_retry_on_500_and_429_then_delivered_once_per_webhook_id(
    receiver: Receiver, stages
) -> None:
    receiver.script["/flaky"] = [500, 429]
    receiver.response_headers[429] = {"Retry-After": "1"}
    cfg = config({"ap": [receiver.url("/flaky")]}, {"receiver": "ap"})
    cfg["delivery"]["max_attempts"] = 5
    stage = Stage(cfg)
    stages.append(stage)
    stage.exceptions(exception_row("INV-R", 1))
    ok = receiver.wait(1, "/flaky", timeout=10)
    time.sleep(0.5)
    hits = [h for h in receiver.hits if h.path == "/flaky"]
    assert [h.status for h in hits] == [500, 429, 200]
    assert len({h.headers["webhook-id"] for h in hits}) == 1  # stable across retries
    assert hits[2].at - hits[1].at >= 0.95  # Retry-After honoured
    assert all(verify(SECRET, h.headers, h.body) for h in hits)
    assert hits[0].body == hits[2].body
    assert len(ok) == 1
    nid = hits[0].headers["webhook-id"]
    attempts = stage.store.query(
        "SELECT attempt, status_code, outcome, latency_ms FROM alert_delivery_attempts "
        "WHERE notification_id = {id:String} ORDER BY attempt",
        {"id": nid},
    )
    assert [(a["attempt"], a["status_code"], a["outcome"]) for a in attempts] == [
        (1, 500, "retry"),
        (2, 429, "retry"),
        (3, 200, "delivered"),
    ]
    assert all(a["latency_ms"] > 0 for a in attempts)
    metrics = {
        (s.labels.get("receiver"), s.labels.get("outcome")): s.value
        for m in stage.registry.collect()
        if m.name == "rxsight_alert_notifications"
        for s in m.samples
        if s.name.endswith("_total")
    }
    assert metrics[("ap", "delivered")] == 1 and metrics[("ap", "retry")] == 2


def test_4xx_not_retried_and_dead_letter_replay(receiver: Receiver, stages) -> None:
    receiver.script["/gone"] = [410]
    down = Receiver()  # a port with nothing listening yet
    cfg = config(
        {"ap": [receiver.url("/gone")], "down": [down.url("/down")]},
        {
            "receiver": "ap",
            "routes": [{"matchers": ["site=SITE-D"], "receiver": "down"}],
        },
    )
    stage = Stage(cfg)
    stages.append(stage)
    stage.exceptions(exception_row("INV-G", 1), exception_row("INV-D", 1, site="SITE-D"))
    outbox = stage.service.outbox

    def dead() -> list[dict]:
        return stage.store.query(
            "SELECT notification_id, receiver, attempts FROM (SELECT * FROM alert_notifications "
            "ORDER BY notification_id, version DESC LIMIT 1 BY notification_id) "
            "WHERE status = 'dead' ORDER BY receiver"
        )

    rows = stage.wait_for(lambda: len(dead()) == 2 and dead(), timeout=10)
    assert [(r["receiver"], r["attempts"]) for r in rows] == [("ap", 1), ("down", 3)]
    assert len([h for h in receiver.hits if h.path == "/gone"]) == 1
    # The dead row is stored before the outbox lets the notification go: it empties just after.
    stage.wait_for(lambda: outbox.depth == 0, timeout=10)
    # The receiver comes back; the dead letter is replayed with the same webhook-id.
    down.start()
    try:
        down_id = rows[1]["notification_id"]
        outbox.replay(down_id, "tester")
        hit = down.wait(1, "/down")[0]
        assert hit.headers["webhook-id"] == down_id
        assert verify(SECRET, hit.headers, hit.body)
        stage.wait_for(lambda: len(dead()) == 1)
        with pytest.raises(ValueError):
            outbox.replay(down_id, "tester")  # delivered now, nothing to replay
    finally:
        down.stop()


def test_timeout_is_retried(receiver: Receiver, stages) -> None:
    receiver.script["/slow"] = [-1.5]
    cfg = config({"ap": [{"url": receiver.url("/slow"), "timeout": "500ms"}]}, {"receiver": "ap"})
    stage = Stage(cfg)
    stages.append(stage)
    stage.exceptions(exception_row("INV-T", 1))
    hits = receiver.wait(2, "/slow", timeout=10)
    assert hits[0].headers["webhook-id"] == hits[1].headers["webhook-id"]
    nid = hits[0].headers["webhook-id"]
    attempts = stage.wait_for(
        lambda: (
            (
                rows := stage.store.query(
                    "SELECT outcome, status_code, error FROM alert_delivery_attempts "
                    "WHERE notification_id = {id:String} ORDER BY attempt",
                    {"id": nid},
                )
            )
            and len(rows) == 2
            and rows
        )
    )
    assert attempts[0]["outcome"] == "retry" and attempts[0]["status_code"] == 0
    assert attempts[0]["error"].startswith("timeout")
    assert attempts[1]["outcome"] == "delivered"


def test_disabled_dispatcher_and_retention(receiver: Receiver, stages) -> None:
    cfg = config({"ap": [receiver.url("/ap")]}, {"receiver": "ap"})
    cfg.update(enabled=False, retention_days=30)
    stage = Stage(cfg)
    stages.append(stage)
    stage.exceptions(exception_row("INV-X", 1))
    time.sleep(1.0)
    assert receiver.hits == []  # another process owns dispatch
    ddl = stage.store.query_value("SHOW CREATE TABLE alert_notifications")
    assert "toIntervalDay(30)" in ddl
