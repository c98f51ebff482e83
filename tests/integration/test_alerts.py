"""Alerts stage in-process on real chDB, delivering to a real loopback receiver: grouping,
repeat, resolved, continue, silences, inhibition, escalation, signatures, retries."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import datetime

import pytest

from tests.integration.test_alerts_kit import (
    SECRET,
    Receiver,
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


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    r = Receiver().start()
    yield r
    r.stop()


@pytest.fixture
def stages() -> Iterator[list[Stage]]:
    made: list[Stage] = []
    yield made
    for s in made:
        s.close()


def iso(dt: datetime) -> str:
    return dt.isoformat().replace("+00:00", "Z")


def test_grouping_signature_v4_payload_and_resolved(receiver: Receiver, stages) -> None:
    cfg = config({"ap": [receiver.url("/ap")]}, {"receiver": "ap", "group_by": ["family", "site"]})
    stage = Stage(cfg)
    stages.append(stage)
    stage.exceptions(*[exception_row(f"INV-{i}", 1) for i in range(3)])
    first = receiver.wait(1, "/ap")[0]
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
