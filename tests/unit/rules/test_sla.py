"""The SLA clock: which targets apply, where an exception stands, and config errors that
name the path."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest

from rules import sla

CLOCK = sla.parse(
    {
        "open_replenishment": {
            "stat": {"ack_minutes": 15, "resolve_hours": 8},
            "critical": {"ack_minutes": 30},
            "default": {"ack_minutes": 240, "resolve_hours": 72},
        },
        "default": {"critical": {"ack_minutes": 60, "resolve_hours": 4}},
    }
)
OPENED = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)


def _exc(status: str = "open", **fields: object) -> dict[str, object]:
    return {
        "family": "open_replenishment",
        "severity": "warning",
        "status": status,
        "opened_at": OPENED,
        "details": '{"priority": "stat"}',
        **fields,
    }


def test_priority_beats_severity_beats_family_default_beats_default_family() -> None:
    assert CLOCK.targets("open_replenishment", "critical", "stat").ack_minutes == 15
    assert CLOCK.targets("open_replenishment", "critical", "urgent").ack_minutes == 30
    assert CLOCK.targets("open_replenishment", "warning", "urgent").ack_minutes == 240
    assert CLOCK.targets("sla_breach", "critical", None).resolve_hours == 4
    assert CLOCK.targets("sla_breach", "warning", None) == sla.Targets()


def test_clock_states_through_a_day() -> None:
    due = CLOCK.clock(_exc(), OPENED + timedelta(minutes=5))
    assert (due.ack_due, due.state) == (OPENED + timedelta(minutes=15), "on_time")
    assert CLOCK.clock(_exc(), OPENED + timedelta(minutes=12)).state == "due_soon"
    late = CLOCK.clock(_exc(), OPENED + timedelta(minutes=16))
    assert (late.ack_state, late.state, late.next_due) == ("overdue", "overdue", late.ack_due)
    # Acknowledged: the resolve clock is the one that runs.
    acked = CLOCK.clock(_exc("acknowledged"), OPENED + timedelta(hours=7, minutes=30))
    assert (acked.ack_state, acked.state, acked.next_due) == ("met", "due_soon", acked.resolve_due)
    done = CLOCK.clock(_exc("resolved"), OPENED + timedelta(days=9))
    assert (done.state, done.next_due) == ("met", None)
    none = CLOCK.clock(_exc(family="delayed_receipt", details="{}"), OPENED)
    assert (none.state, none.ack_due) == ("none", None)


def test_lookup_arrays_give_the_clock_that_runs_for_each_key_and_status() -> None:
    # Beside CLOCK's targets: a class whose resolve target is nearer than its ack target.
    clock = sla.parse(
        {**CLOCK.by_family, "sla_breach": {"info": {"ack_minutes": 600, "resolve_hours": 2}}}
    )
    params = clock.lookup_params()
    running = params["sla_running_ms"]
    assert running[:3] == [0, 0, 0]  # no targets: no clock
    for i, key in enumerate(params["sla_keys"], start=1):
        family, severity, priority = key.split("|")
        exc = _exc(
            family="unnamed_family" if family == "*" else family,
            severity=severity,
            details=json.dumps({"priority": priority} if priority else {}),
        )
        for offset, status in enumerate(("open", "resolved", "acknowledged"), start=1):
            due = clock.clock({**exc, "status": status}, OPENED)
            ms = running[i * 3 + offset - 1]
            assert (due.next_due - OPENED if due.next_due else None) == (
                timedelta(milliseconds=ms) if ms else None
            ), (key, status)
    triples = [tuple(running[j : j + 3]) for j in range(3, len(running), 3)]
    table = dict(zip(params["sla_keys"], triples, strict=True))
    assert table["open_replenishment|warning|stat"] == (15 * 60_000, 0, 8 * 3_600_000)
    assert table["sla_breach|info|"] == (2 * 3_600_000, 0, 2 * 3_600_000)
    assert table["open_replenishment|critical|"] == (30 * 60_000, 0, 0)
    assert "*|warning|" not in table


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ({"unmatched_invoice": {"stat-ish": {"ack_minutes": 5}}}, "rules.sla.unmatched_invoice"),
        ({"unmatched_invoice": {"default": {"ack_minutes": -5}}}, "ack_minutes"),
        ({"unmatched_invoice": {"default": {"ack_in": 5}}}, "ack_in"),
    ],
)
def test_bad_config_names_the_path(raw: dict[str, object], message: str) -> None:
    with pytest.raises(sla.SlaConfigError) as err:
        sla.parse(raw, "rxsight.yaml")
    assert message in str(err.value) and str(err.value).startswith("rxsight.yaml: rules.sla")
