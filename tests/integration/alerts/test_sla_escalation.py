"""The exceptions' SLA clock escalates: an alert whose acknowledgement is overdue goes to the
route's escalation receiver without any escalate_after, one on time does not, and one that
is acknowledged but past its resolve target escalates all the same."""

from __future__ import annotations

import json
import time

from testkit.receiver import Receiver
from tests.integration.alerts.kit import Stage, config, exception_row


def _request(exception_id: str, version: int, priority: str, change: str = "opened") -> dict:
    return exception_row(
        exception_id,
        version,
        change,
        family="open_replenishment",
        rule_id="open_replenishment",
        reason="no_po",
        severity="critical" if priority == "stat" else "warning",
        details=json.dumps({"priority": priority}),
    )


def test_overdue_acknowledgement_and_resolution_escalate(receiver: Receiver) -> None:
    routes = config(
        {"pharmacy": [receiver.url("/pharm")], "oncall": [receiver.url("/oncall")]},
        {"receiver": "pharmacy", "group_by": ["exception_id"], "escalation_receiver": "oncall"},
    )
    sla = {
        "open_replenishment": {
            # 1.5 s to acknowledge a stat request; routine ones have an hour.
            "stat": {"ack_minutes": 0.025, "resolve_hours": 8},
            "default": {"ack_minutes": 60, "resolve_hours": 72},
        },
        "default": {"critical": {"ack_minutes": 60, "resolve_hours": 0.001}},
    }
    stage = Stage(routes, rules_config={"sla": sla})
    try:
        stage.exceptions(_request("REP-STAT", 1, "stat"), _request("REP-ROUTINE", 1, "routine"))
        receiver.wait(2, "/pharm")
        esc = receiver.wait(1, "/oncall", timeout=8)
        time.sleep(1.5)
        escalated = {
            a["labels"]["exception_id"]
            for h in receiver.delivered("/oncall")
            for a in h.json["alerts"]
        }
        assert escalated == {"REP-STAT"}, escalated
        assert esc[0].json["status"] == "firing"
        state = {a["exception_id"]: a["escalated"] for a in stage.alerts()}
        assert state == {"REP-STAT": True, "REP-ROUTINE": False}
        # Acknowledged at once, yet unresolved past its 3.6 s resolve target: escalates.
        flow = dict(family="sla_breach", rule_id="sla_breach", reason="p95", severity="critical")
        stage.exceptions(exception_row("FLOW-1", 1, **flow))
        stage.exceptions(exception_row("FLOW-1", 2, "acknowledged", **flow))
        receiver.wait(1, "/pharm", timeout=5)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            if {a["exception_id"]: a["escalated"] for a in stage.alerts()}.get("FLOW-1"):
                break
            time.sleep(0.2)
        escalated = {
            a["labels"]["exception_id"]
            for h in receiver.delivered("/oncall")
            for a in h.json["alerts"]
        }
        assert "FLOW-1" in escalated or any(
            a["exception_id"] == "FLOW-1" and a["escalated"] for a in stage.alerts()
        )
    finally:
        stage.close()
