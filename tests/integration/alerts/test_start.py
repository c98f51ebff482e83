"""A dispatcher starting on a store reads each exception's latest version (exceptions_now
names it), and so holds the alerts a dispatcher that saw every change as it came holds."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from alerts.dispatch import Dispatcher
from tests.integration.alerts.kit import Stage, exception_row


def _alerts(states: list[dict]) -> dict[str, tuple]:
    return {
        a["fingerprint"]: (a["exception_id"], a["status"]["state"], a["labels"], a["endsAt"])
        for a in states
    }


def test_a_dispatcher_started_later_holds_the_alerts_of_the_latest_versions(
    ap_stage: Stage, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("alerts.dispatch.RESYNC_EVERY_S", 0.5)
    two_days_ago = datetime.now(UTC) - timedelta(days=2)
    # Several versions each: acknowledged, resolved, a changed reason, resolved and reopened,
    # and one resolved two days ago (its resolved notice is no longer owed: not loaded).
    ap_stage.exceptions(*(exception_row(f"INV-{i}", 1) for i in range(6)))
    ap_stage.wait_for(lambda: len(ap_stage.alerts()) == 6)
    ap_stage.exceptions(
        exception_row("INV-0", 2, change="acknowledged"),
        exception_row("INV-1", 2, change="acknowledged"),
        exception_row("INV-2", 2, change="updated", reason="quantity_variance"),
        exception_row("INV-3", 2, change="resolved"),
    )
    ap_stage.wait_for(lambda: len(ap_stage.alerts()) == 7)
    ap_stage.exceptions(
        exception_row("INV-1", 3, change="resolved"),
        exception_row("INV-3", 3, change="reopened"),
        exception_row("INV-4", 2, change="resolved", at=two_days_ago),
    )
    ap_stage.wait_for(
        lambda: (
            {a["exception_id"]: a["status"]["state"] for a in ap_stage.alerts()}["INV-3"]
            == "firing"
        )
    )
    # Written with an old `at`, the resync finds it; resolved two days ago, it is then
    # forgotten as soon as its group has been notified (resolved_retention).
    ap_stage.wait_for(
        lambda: (
            not any(
                a["exception_id"] == "INV-4" and a["status"]["state"] == "firing"
                for a in ap_stage.alerts()
            )
        )
    )
    live = ap_stage.service
    started = Dispatcher(
        ap_stage.store, live.outbox, live.silences, lambda: live.config, live.console_base
    )
    started.load()

    seen = _alerts(ap_stage.alerts())
    loaded = _alerts(started.snapshot())
    # The running dispatcher also keeps what it saw end (INV-2's first reason, INV-4); the
    # one started later has only what is current, with the same state, labels and end.
    current = {
        fp: a
        for fp, a in seen.items()
        if a[0] != "INV-4" and not (a[0] == "INV-2" and a[2]["reason"] == "price_variance")
    }
    assert loaded == current
    assert {a[0]: a[1] for a in loaded.values()} == {
        "INV-0": "firing",
        "INV-1": "resolved",
        "INV-2": "firing",
        "INV-3": "firing",
        "INV-5": "firing",
    }
