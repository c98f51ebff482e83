"""What the console's alerts page reads: how many alerts are firing, suppressed and resolved,
and only the oldest few of each (at a million alerts, describing every one took seconds)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from tests.integration.alerts.kit import Stage, exception_row


def _silence_site_b(stage: Stage, now: datetime) -> None:
    stage.service.silences.create(
        {
            "matchers": [{"name": "site", "value": "SITE-B"}],
            "endsAt": (now + timedelta(hours=1)).isoformat().replace("+00:00", "Z"),
            "comment": "site B is migrating its ERP",
        },
        "tester",
    )


def test_the_board_counts_every_alert_and_describes_the_oldest_of_each_state(
    ap_stage: Stage,
) -> None:
    now = datetime.now(UTC)
    _silence_site_b(ap_stage, now)
    # Five firing, started a minute apart (INV-0 oldest), three silenced, one resolved.
    ap_stage.exceptions(
        *(exception_row(f"INV-{i}", 1, since=now - timedelta(minutes=10 - i)) for i in range(5)),
        *(exception_row(f"INV-B{i}", 1, site="SITE-B") for i in range(3)),
        exception_row("INV-R", 1),
    )
    ap_stage.exceptions(exception_row("INV-R", 2, change="auto_resolved"))
    ap_stage.wait_for(
        lambda: (
            len(ap_stage.alerts()) == 9
            and any(
                a["exception_id"] == "INV-R" and a["status"]["state"] == "resolved"
                for a in ap_stage.alerts()
            )
        )
    )
    every = ap_stage.alerts()

    counts, shown = ap_stage.service.dispatcher.board(show=2)

    assert counts == {"firing": 5, "suppressed": 3, "resolved": 1}
    oldest = {}
    for state in counts:
        of_state = [a for a in every if a["status"]["state"] == state]
        oldest[state] = sorted(of_state, key=lambda a: (a["startsAt"], a["fingerprint"]))[:2]
    assert sorted(shown, key=lambda a: (a["startsAt"], a["fingerprint"])) == sorted(
        (a for state in counts for a in oldest[state]),
        key=lambda a: (a["startsAt"], a["fingerprint"]),
    )
    assert [a["status"]["state"] for a in shown].count("firing") == 2


def test_the_counts_follow_alerts_that_change_after_the_board_was_read(ap_stage: Stage) -> None:
    now = datetime.now(UTC)
    _silence_site_b(ap_stage, now)
    ap_stage.exceptions(exception_row("INV-1", 1), exception_row("INV-B1", 1, site="SITE-B"))
    ap_stage.wait_for(lambda: len(ap_stage.alerts()) == 2)
    assert ap_stage.service.dispatcher.board(show=1)[0] == {
        "firing": 1,
        "suppressed": 1,
        "resolved": 0,
    }

    # A new alert at the silenced site, one that resolves, and one whose reason changes (its
    # old alert resolves, a new one fires).
    ap_stage.exceptions(
        exception_row("INV-B2", 1, site="SITE-B"),
        exception_row("INV-B1", 2, change="resolved", site="SITE-B"),
        exception_row("INV-1", 2, change="updated", reason="quantity_variance"),
    )
    ap_stage.wait_for(lambda: len(ap_stage.alerts()) == 4)
    counts, shown = ap_stage.service.dispatcher.board(show=1)

    assert counts == {"firing": 1, "suppressed": 1, "resolved": 2}
    state = {(a["exception_id"], a["labels"]["reason"]): a["status"]["state"] for a in shown}
    assert state[("INV-1", "quantity_variance")] == "firing"
    assert state[("INV-B2", "price_variance")] == "suppressed"
    assert list(state.values()).count("resolved") == 1
    # What Prometheus scrapes says the same.
    scraped = {
        s.labels["state"]: s.value
        for family in ap_stage.registry.collect()
        if family.name == "rxsight_alerts"
        for s in family.samples
    }
    assert scraped == {"firing": 1, "suppressed": 1, "resolved": 2}


def test_a_change_written_late_is_still_seen(
    ap_stage: Stage, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A version whose `at` is older than the poll's window (another writer committed it
    late) is found by the dispatcher's resync, which compares its versions with the store's."""
    monkeypatch.setattr("alerts.dispatch.RESYNC_EVERY_S", 0.5)
    ap_stage.exceptions(exception_row("INV-1", 1))
    ap_stage.wait_for(lambda: len(ap_stage.alerts()) == 1)
    # Outside the poll's 30 s overlap, inside the hour a resolved alert is kept.
    earlier = datetime.now(UTC) - timedelta(minutes=10)
    ap_stage.exceptions(
        exception_row("INV-1", 2, change="resolved", at=earlier),
        exception_row("INV-2", 1, at=earlier, since=earlier, opened_at=earlier),
    )
    ap_stage.wait_for(
        lambda: (
            {a["exception_id"]: a["status"]["state"] for a in ap_stage.alerts()}
            == {"INV-1": "resolved", "INV-2": "firing"}
        )
    )
