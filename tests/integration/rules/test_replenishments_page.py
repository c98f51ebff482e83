"""/replenishments reads which requests are open from a kept row per request
(rules/migrations/081), refreshed by the rules scheduler (here: `replenishments.refresh`, as
the scheduler calls it), and asks the open_replenishment rule only about requests those rows
cannot settle. At every instant of a request's life — before its PO, after a partial and a
full receipt, after a cancel, and after a fact arriving late with an earlier event time,
before and after the next refresh — the page's rows, order and counts must be what the rule
over every request says."""

from __future__ import annotations

import time
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from prometheus_client import CollectorRegistry

from rules import config as rules_config
from rules import public as rules_public
from rules import replenishments
from rules.service import RulesService
from rxsight.config import Settings, load_settings
from rxsight.runtime import Runtime
from rxsight.store import Store
from rxsight.timeutil import utcnow
from tests.integration.rules import replenishment_events as events
from tests.support import instants_to_check, store_events


def _request(corr: str, at: datetime, **fields: Any) -> dict[str, Any]:
    return events.request(
        corr, at, **{"item": f"NDC-{corr}", "quantity": 10, "site": "s1", **fields}
    )


def _po(corr: str, po: str, at: datetime, qty: int = 10) -> dict[str, Any]:
    return events.po(corr, po, at, item=f"NDC-{corr}", quantity=qty)


def _receipt(corr: str, po: str, receipt: str, at: datetime, qty: int) -> dict[str, Any]:
    return events.receipt(corr, po, receipt, at, item=f"NDC-{corr}", quantity=qty)


def _by_the_rule(rows: list[replenishments.OpenReplenishment], **f: Any) -> tuple:
    """The page worked out from the full rule's open requests (`rows`), filtered and ordered."""
    chosen = [
        r
        for r in rows
        if (not f.get("site") or r.site == f["site"])
        and (not f.get("priority") or r.priority == f["priority"])
        and (r.item_id or "").lower().startswith(f.get("item", "").lower())
        and (not f.get("late_only") or r.late)
    ]
    chosen.sort(key=lambda r: (not r.late, r.requested_at, r.correlation_id))
    return (
        [_shown(r) for r in chosen],
        sum(1 for r in chosen if r.late),
        sorted({r.site for r in rows}),
        sorted({r.priority for r in rows}),
    )


def _shown(r: replenishments.OpenReplenishment) -> tuple:
    """What a row shows, but its age (which the clock moves)."""
    return (
        r.correlation_id,
        r.site,
        r.domain,
        r.priority,
        r.item_id,
        r.quantity,
        r.requested_at,
        r.po_numbers,
        r.ordered,
        r.received,
        r.stage,
        r.due_at,
        r.late,
        r.reason,
    )


def _paged(store: Store, settings: Settings, at: datetime, **f: Any) -> tuple:
    rows: list = []
    first = None
    while True:
        got = replenishments.page(store, settings, at, limit=2, offset=len(rows), **f)
        first = first or got
        assert got.total == first.total
        rows += [_shown(r) for r in got.rows]
        if len(got.rows) < 2:
            break
    assert len(rows) == first.total
    return rows, first.late_total, first.sites, first.priorities


def _unsettled(store: Store, at: datetime) -> list[str]:
    row = store.query(
        "SELECT groupArray(correlation_id) AS keys FROM rules_replenishments_kept FINAL "
        "WHERE requested_at <= {at:DateTime64(3, 'UTC')} "
        "AND last_fact_at > {at:DateTime64(3, 'UTC')}",
        {"at": at.strftime("%Y-%m-%d %H:%M:%S.%f")[:-3]},
    )[0]
    return list(row["keys"])


FILTERS: list[dict[str, Any]] = [
    {},
    {"site": "s2"},
    {"priority": "stat"},
    {"item": "ndc-rq-a"},
    {"late_only": True},
]


def _same_at(store: Store, settings: Settings, instants: list[datetime]) -> None:
    for at in instants_to_check(store, instants):
        # GET /api/replenishments/open: every open request, oldest first.
        everything = replenishments.judged(store, settings, at, None)
        everything.sort(key=lambda r: (r.requested_at or "", r.correlation_id))
        assert [_shown(r) for r in rules_public.open_replenishments(store, settings, at)] == [
            _shown(r) for r in everything
        ], at
        for f in FILTERS:
            assert _paged(store, settings, at, **f) == _by_the_rule(everything, **f), (
                at,
                f,
            )


def _kept_open(store: Store) -> list[str]:
    """The requests the kept rows hold open with every fact (as of their last refresh)."""
    row = store.query(
        "SELECT arraySort(groupArray(correlation_id)) AS keys "
        "FROM rules_replenishments_kept FINAL WHERE open_at_end = 1"
    )[0]
    return list(row["keys"])


def test_the_page_at_every_instant_is_what_the_rule_says(store: Store, tmp_path: Path) -> None:
    settings = load_settings(data_dir=tmp_path)
    t0 = utcnow()
    h = timedelta(hours=1)
    store_events(
        store,
        _request("RQ-A", t0 - 40 * h),
        _po("RQ-A", "PO-A", t0 - 38 * h),
        _receipt("RQ-A", "PO-A", "GR-A1", t0 - 36 * h, 4),
        _receipt("RQ-A", "PO-A", "GR-A2", t0 - 30 * h, 6),
        _request("RQ-B", t0 - 39 * h, priority="stat"),
        {"event_type": "replenishment.cancelled", "correlation_id": "RQ-B", "at": t0 - 33 * h},
        _request("RQ-C", t0 - 37 * h, priority="stat", site="s2"),
        _request("RQ-D", t0 - 35 * h, priority="urgent"),
        _po("RQ-D", "PO-D", t0 - 34 * h),
        _request("RQ-E", t0 - 20 * h),
        _request("RQ-AB", t0 - 2 * h, site="s2"),
    )
    instants = [t0 - 39.5 * h, t0 - 37 * h, t0 - 35 * h, t0 - 32 * h, t0 - 25 * h, t0, t0 + 100 * h]
    # Never refreshed: the rule judges every request.
    _same_at(store, settings, [t0, t0 - 35 * h])
    replenishments.refresh(store, settings)
    assert _kept_open(store) == ["RQ-AB", "RQ-C", "RQ-D", "RQ-E"]
    _same_at(store, settings, instants)
    # Both ways of knowing were taken: long after every fact the kept rows settle every
    # request; amid A's receipts the rule was asked about the requests still changing.
    assert _unsettled(store, t0 + 100 * h) == []
    assert "RQ-A" in _unsettled(store, t0 - 35 * h)
    # Facts arriving after the kept rows were refreshed, dated earlier: C cancelled, D's PO
    # fully received, E given a PO and part of it, A's PO enlarged (a later version of it).
    store_events(
        store,
        {"event_type": "replenishment.cancelled", "correlation_id": "RQ-C", "at": t0 - 31 * h},
        _receipt("RQ-D", "PO-D", "GR-D1", t0 - 26 * h, 10),
        _po("RQ-E", "PO-E", t0 - 19 * h),
        _receipt("RQ-E", "PO-E", "GR-E1", t0 - 18 * h, 3),
        _po("RQ-A", "PO-A", t0 - 3 * h, qty=15),
        _request("RQ-F", t0 - 5 * h, priority="urgent"),
    )
    # The page changes at once, before any refresh: its kept rows still say C and D are open
    # and know nothing of F.
    assert _kept_open(store) == ["RQ-AB", "RQ-C", "RQ-D", "RQ-E"]
    now_open = {r[0] for r in _paged(store, settings, t0)[0]}
    assert {"RQ-A", "RQ-F"} <= now_open and not {"RQ-C", "RQ-D"} & now_open
    later = [*instants, t0 - 18.5 * h, t0 - 10 * h]
    _same_at(store, settings, later)
    replenishments.refresh(store, settings)
    assert _kept_open(store) == ["RQ-A", "RQ-AB", "RQ-E", "RQ-F"]
    _same_at(store, settings, later)
    assert _paged(store, settings, t0)[0], "some request is open now"


def test_the_rules_scheduler_keeps_the_rows_the_page_reads(store: Store, tmp_path: Path) -> None:
    settings = load_settings(data_dir=tmp_path)
    runtime = Runtime(settings=settings, store=store, registry=CollectorRegistry(), auth=None)  # type: ignore[arg-type]
    service = RulesService(runtime, rules_config.load(settings))
    t0 = utcnow()
    h = timedelta(hours=1)
    store_events(store, _request("RQ-S", t0 - 30 * h), _request("RQ-T", t0 - 29 * h))
    # On gaining the scheduler's lease, before its first run (due an interval later).
    service.start()
    try:
        deadline = time.monotonic() + 60
        while _kept_open(store) != ["RQ-S", "RQ-T"]:
            assert time.monotonic() < deadline, _kept_open(store)
            time.sleep(0.2)
    finally:
        service.stop()
    # After each run: S fully received, T cancelled.
    store_events(
        store,
        _po("RQ-S", "PO-S", t0 - 28 * h),
        _receipt("RQ-S", "PO-S", "GR-S", t0 - 27 * h, 10),
        {"event_type": "replenishment.cancelled", "correlation_id": "RQ-T", "at": t0 - 26 * h},
        _request("RQ-U", t0 - 25 * h),
    )
    service.scheduled_run()
    assert _kept_open(store) == ["RQ-U"]
    _same_at(store, settings, [t0 - 27.5 * h, t0])
