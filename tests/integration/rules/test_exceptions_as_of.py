"""The exceptions list reads a kept current state (rules/migrations/091) and the history only
for exceptions changed after the instant asked for. At every instant of an exception's life —
before it existed, between two of its versions, after its last change — the list must be what
the append-only history says, filters, SLA clock and counts included (a capped count exact
below its cap); and a store whose history was written before the kept state existed gets it
from its migration."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from rules import config as rules_config
from rules import public as rules_public
from rules import sla as rules_sla
from rules.engine import evaluate
from rules.lifecycle import COLUMNS, persist
from rxsight.config import load_settings
from rxsight.store import Store
from rxsight.store.sql import split_statements
from rxsight.timeutil import as_utc, utcnow
from tests.support import instants_to_check, store_events
from web import data as web_data


def _instant() -> datetime:
    """An instant strictly between the version written before and the one written after."""
    time.sleep(0.01)
    at = utcnow()
    time.sleep(0.01)
    return at


# Targets short enough that the instants below see clocks run out (30 ms to acknowledge a
# stat request), one in its last quarter a day later (the acknowledged stat request's 30 h to
# resolve), an urgent request whose resolve clock runs out before its ack clock (180 ms
# against 240 ms: the one shown while open) and routine requests without any.
CLOCK = rules_sla.parse(
    {
        "open_replenishment": {
            "stat": {"ack_minutes": 0.0005, "resolve_hours": 30},
            "urgent": {"ack_minutes": 0.004, "resolve_hours": 0.00005},
        }
    }
)
_NEVER = datetime.max.replace(tzinfo=UTC)


def _from_history(store: Store, at: datetime, **filters: str) -> list[tuple[str, int]]:
    """The list worked out in Python from every stored version: each exception's highest
    version written by `at`, filtered, oldest `since` first (the clock running out first,
    with sort="due"), the SLA clock as rules/sla.py reads it at `at`."""
    latest: dict[str, dict[str, Any]] = {}
    for row in store.query("SELECT * FROM exception_history ORDER BY exception_id, version"):
        if as_utc(row["at"]) <= as_utc(at):
            latest[row["exception_id"]] = row
    wanted = []
    for row in latest.values():
        details = json.loads(row["details"] or "{}")
        status = filters.get("status", "active")
        if status == "active" and row["status"] == "resolved":
            continue
        if status not in ("active", "") and row["status"] != status:
            continue
        if "priority" in filters and details.get("priority") != filters["priority"]:
            continue
        if "assignee" in filters and row["assignee"] != filters["assignee"]:
            continue
        if (
            "q" in filters
            and filters["q"].lower()
            not in (
                f"{row['exception_id']} {row['summary']} {row['correlation_id']} {row['assignee']} "
                f"{row['details']}"
            ).lower()
        ):
            continue
        if "due" in filters and CLOCK.clock(row, at).state != filters["due"]:
            continue
        wanted.append(row)
    wanted.sort(key=lambda r: (as_utc(r["since"]), r["exception_id"]))
    if filters.get("sort") == "due":
        wanted.sort(key=lambda r: CLOCK.clock(r, at).next_due or _NEVER)
    return [(r["exception_id"], int(r["version"])) for r in wanted]


def _listed(
    store: Store, at: datetime | None, count_cap: int | None = None, **filters: str
) -> list[tuple[str, int]]:
    """The list as rules.public gives it (at None: now, no instant asked for); its count
    checked against its rows (exact, or capped: count_cap + 1 meaning "more than count_cap")."""
    status = filters.get("status", "active")
    assignee = filters.get("assignee")
    rows, total = rules_public.list_exceptions(
        store,
        as_of=at,
        limit=1000,
        status=status or None,
        priority=filters.get("priority"),
        assignees=[assignee] if assignee is not None else None,
        q=filters.get("q"),
        due=filters.get("due"),
        sort=filters.get("sort", "age"),
        sla=CLOCK,
        count_cap=count_cap,
    )
    expected_total = len(rows) if count_cap is None else min(len(rows), count_cap + 1)
    assert total == expected_total, (count_cap, total, len(rows))
    for row in rows:  # the clock each row carries is the one the query filtered on
        assert at is None or row["due_state"] == CLOCK.clock(row, at).state, row
    return [(r["exception_id"], int(r["version"])) for r in rows]


def _request(n: int, priority: str, hours_ago: float, now: datetime) -> dict[str, Any]:
    return {
        "event_type": "replenishment.requested",
        "correlation_id": f"RQ-ASOF-{n}",
        "site": "s1",
        "priority": priority,
        "item_id": f"NDC-ASOF-{n}",
        "quantity": 5,
        "at": now - timedelta(hours=hours_ago),
    }


def test_the_list_at_every_instant_is_what_the_history_says(store: Store, tmp_path: Path) -> None:
    settings = load_settings(data_dir=tmp_path)
    loaded = rules_config.load(settings)
    start = utcnow()
    store_events(
        store,
        _request(1, "stat", 3, start),
        _request(2, "urgent", 30, start),
        _request(3, "routine", 50, start),
    )
    instants = [_instant()]  # before any exception
    persist(store, evaluate(store, loaded, settings, utcnow()))
    instants.append(_instant())  # three opened
    ids = sorted(e for e, _ in _from_history(store, utcnow()) if "RQ-ASOF" in e)
    assert len(ids) == 3, ids
    rules_public.act(store, ids[0], "ack", "ana", comment="on it")
    instants.append(_instant())  # between the first's version 1 and version 3
    rules_public.act(store, ids[0], "assign", "ana", assignee="bob")
    instants.append(_instant())
    rules_public.act(store, ids[1], "comment", "ana", comment="supplier called")
    instants.append(_instant())
    rules_public.act(store, ids[1], "resolve", "ana", comment="ordered by phone")
    instants.append(_instant())
    # The third's request is cancelled: the next evaluation clears it by itself.
    store_events(
        store,
        {
            "event_type": "replenishment.cancelled",
            "correlation_id": "RQ-ASOF-3",
            "site": "s1",
            "at": utcnow(),
        },
    )
    persist(store, evaluate(store, loaded, settings, utcnow()))
    instants.append(_instant())
    rules_public.act(store, ids[1], "reopen", "ana", comment="not delivered after all")
    instants.append(_instant())
    instants.append(utcnow() + timedelta(days=1))

    cases: list[dict[str, str]] = [
        {},
        {"status": ""},
        {"status": "acknowledged"},
        {"status": "resolved"},
        {"priority": "stat"},
        {"assignee": "bob"},
        {"q": "rq-asof-2"},
        # LIKE's wildcards are searched for as typed.
        {"q": "%"},
        {"q": "open_r"},
        *({"status": "", "due": state} for state in rules_public.DUE_STATES),
        {"status": "", "sort": "due"},
    ]
    seen = set()
    states = set()
    checked = instants_to_check(store, instants)
    for at in checked:
        for filters in cases:
            expected = _from_history(store, at, **filters)
            assert _listed(store, at, **filters) == expected, (at, filters)
            if expected and "due" in filters:
                states.add(filters["due"])
            seen.update(expected)
            # A capped count: exact up to the cap, cap + 1 past it; the rows are the same.
            assert _listed(store, at, count_cap=1, **filters) == expected, (at, filters)
    if checked == instants:
        # The clocks were seen in every state.
        assert states == set(rules_public.DUE_STATES), states
        # The instants saw the first exception at three of its versions, the second at four.
        assert {v for e, v in seen if e == ids[0]} == {1, 2, 3}
        assert {v for e, v in seen if e == ids[1]} == {1, 2, 3, 4}
    # Without an instant the list reads the kept rows alone, with the same filters. (The clock's
    # states move within milliseconds here: they are checked at instants only.)
    for filters in cases:
        if "due" not in filters and filters.get("sort") != "due":
            assert _listed(store, None, **filters) == _from_history(store, utcnow(), **filters)
    # The overview's counts read the same states.
    for at in checked:
        summary = web_data.exception_summary(store, None, at)
        assert sum(r["open"] for r in summary) == len(_from_history(store, at)), at


def test_a_history_written_before_the_kept_state_gets_it_from_the_migration(
    store: Store, tmp_path: Path
) -> None:
    settings = load_settings(data_dir=tmp_path)
    now = utcnow()
    store_events(store, _request(7, "stat", 3, now), _request(8, "routine", 50, now))
    persist(store, evaluate(store, rules_config.load(settings), settings, now))
    ids = sorted(e for e, _ in _from_history(store, utcnow()) if "RQ-ASOF" in e)
    rules_public.act(store, ids[0], "ack", "ana")
    expected = _from_history(store, utcnow())
    # As a store written by an older release: no kept state; then its migration again.
    store.command("TRUNCATE TABLE exceptions_now")
    assert _listed(store, utcnow()) == []
    script = (Path(__file__).parents[3] / "rules/migrations/091_exceptions_now.sql").read_text()
    for stmt in split_statements(script):
        store.command(stmt)
    assert _listed(store, utcnow()) == expected
    assert [v for e, v in expected if e == ids[0]] == [2]


def test_the_list_now_shows_each_exceptions_latest_version_even_one_stamped_later(
    store: Store, tmp_path: Path
) -> None:
    """Without an instant the list reads the kept latest rows alone: a version stamped after
    the request's clock (written while the request ran, or by a process whose clock runs
    ahead) is shown, where an instant asked for still shows what stood then."""
    settings = load_settings(data_dir=tmp_path)
    now = utcnow()
    store_events(store, _request(9, "stat", 3, now))
    persist(store, evaluate(store, rules_config.load(settings), settings, now))
    [opened] = store.query("SELECT * FROM exception_history WHERE exception_id LIKE '%RQ-ASOF-9%'")
    before = _instant()
    later = {
        **opened,
        "version": 2,
        "at": utcnow() + timedelta(hours=1),
        "change": "acknowledged",
        "status": "acknowledged",
        "actor": "ana",
    }
    store.insert_rows("exception_history", [[later[c] for c in COLUMNS]], list(COLUMNS))

    rows, total = rules_public.list_exceptions(store, sla=CLOCK)
    assert [(r["exception_id"], r["version"], r["status"]) for r in rows] == [
        (opened["exception_id"], 2, "acknowledged")
    ]
    assert total == 1
    assert _listed(store, before) == [(opened["exception_id"], 1)]
    assert _listed(store, utcnow(), status="acknowledged") == []
