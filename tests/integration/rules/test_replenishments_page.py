"""/replenishments reads which requests are open from a kept row per request
(rules/migrations/080) and asks the open_replenishment rule only about the page's requests.
At every instant of a request's life — before its PO, after a partial and a full receipt,
after a cancel, and after a fact arriving late with an earlier event time — the page's rows,
order and counts must be what the rule over every request says."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from rules import public as rules_public
from rxsight.config import Settings, load_settings
from rxsight.store import Store
from rxsight.timeutil import utcnow
from tests.support import store_events


def _request(corr: str, at: datetime, **fields: Any) -> dict[str, Any]:
    return {
        "event_type": "replenishment.requested",
        "correlation_id": corr,
        "at": at,
        "site": "s1",
        "priority": "routine",
        "item_id": f"NDC-{corr}",
        "quantity": 10,
        **fields,
    }


def _po(corr: str, po: str, at: datetime, qty: int = 10) -> dict[str, Any]:
    return {
        "event_type": "po.created",
        "correlation_id": corr,
        "at": at,
        "po_number": po,
        "supplier_id": "SUP-1",
        "lines": [{"line_no": 1, "item_id": f"NDC-{corr}", "quantity": qty, "unit_price": "2"}],
    }


def _receipt(corr: str, po: str, receipt: str, at: datetime, qty: int) -> dict[str, Any]:
    return {
        "event_type": "goods.received",
        "correlation_id": corr,
        "at": at,
        "po_number": po,
        "receipt_id": receipt,
        "lines": [{"line_no": 1, "item_id": f"NDC-{corr}", "quantity": qty}],
    }


def _by_the_rule(store: Store, settings: Settings, at: datetime, **f: Any) -> tuple:
    """The page worked out from the full rule: every open request, filtered and ordered."""
    rows = rules_public.open_replenishments(store, settings, at)
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
        [(r.correlation_id, r.stage, r.ordered, r.received, r.late) for r in chosen],
        sum(1 for r in chosen if r.late),
        sorted({r.site for r in rows}),
        sorted({r.priority for r in rows}),
    )


def _paged(store: Store, settings: Settings, at: datetime, **f: Any) -> tuple:
    rows: list = []
    first = None
    while True:
        got = rules_public.replenishments_page(store, settings, at, limit=2, offset=len(rows), **f)
        first = first or got
        assert got.total == first.total
        rows += [(r.correlation_id, r.stage, r.ordered, r.received, r.late) for r in got.rows]
        if len(got.rows) < 2:
            break
    assert len(rows) == first.total
    return rows, first.late_total, first.sites, first.priorities


def _unsettled(store: Store, at: datetime) -> list[str]:
    row = store.query(
        "SELECT groupArray(correlation_id) AS keys FROM rules_replenishment_requests FINAL "
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
    for at in instants:
        for f in FILTERS:
            assert _paged(store, settings, at, **f) == _by_the_rule(store, settings, at, **f), (
                at,
                f,
            )


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
    )
    _same_at(store, settings, [*instants, t0 - 18.5 * h, t0 - 10 * h])
    assert _paged(store, settings, t0)[0], "some request is open now"
