"""The KPI facts kept per PO and request never change an answer: KPI rows with the kept
facts refreshed equal those judged from the raw facts, at any as_of and while new facts
arrive after a refresh; and once refreshed, an entity is read, not judged again."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from metrics import facts
from metrics.kpis import KpiRow, compute_many
from rxsight.config import load_settings
from rxsight.store import Store
from tests.support import store_events

T0 = datetime(2026, 10, 5, 8, tzinfo=UTC)
WEEKS = [(T0 + timedelta(days=7 * i), T0 + timedelta(days=7 * (i + 1))) for i in range(3)]
NOW = datetime(2026, 12, 1, tzinfo=UTC)


def _po(po: str, corr: str, supplier: str, at: datetime, qty: int, **more: Any) -> dict:
    return {
        "event_type": "po.created",
        "po_number": po,
        "correlation_id": corr,
        "supplier_id": supplier,
        "site": "s1",
        "at": at,
        "lines": [
            {"line_no": 1, "item_id": "A", "quantity": qty, "unit_price": "2.00"},
            {"line_no": 2, "item_id": "B", "quantity": 1, "unit_price": "5.00"},
        ],
        **more,
    }


def _receipt(po: str, rid: str, at: datetime, qty_a: int, qty_b: int) -> dict:
    lines = [{"line_no": 1, "item_id": "A", "quantity": qty_a}]
    if qty_b:
        lines.append({"line_no": 2, "item_id": "B", "quantity": qty_b})
    return {
        "event_type": "goods.received",
        "correlation_id": f"dock-{rid}",
        "po_number": po,
        "receipt_id": rid,
        "site": "s1",
        "at": at,
        "lines": lines,
    }


def _request(corr: str, at: datetime, priority: str, site: str = "s1") -> dict:
    return {
        "event_type": "replenishment.requested",
        "correlation_id": corr,
        "site": site,
        "priority": priority,
        "item_id": "A",
        "quantity": 4,
        "at": at,
    }


def _rows(store: Store, settings: Any, as_of: datetime) -> list[list[KpiRow]]:
    # Only the KPIs the kept facts serve: the supplier and replenishment ones.
    kept = {
        "supplier_on_time_rate",
        "supplier_fill_rate",
        "replenishment_on_time_rate",
        "order_cycle_time_hours_p50",
        "order_cycle_time_hours_p90",
    }
    by_period = compute_many(store, settings, WEEKS, as_of)
    return [[r for r in rows if r.kpi in kept] for rows in by_period]


def _judged(store: Store, as_of: datetime) -> int:
    """How many POs and requests a query as of `as_of` would judge from their facts."""
    params = {"as_of": as_of.strftime("%Y-%m-%d %H:%M:%S"), "since": facts.watermark(store)}
    return sum(
        store.query_value(
            f"SELECT count() FROM {view}(as_of = {{as_of:DateTime64(3, 'UTC')}}, "
            "since = {since:DateTime64(3, 'UTC')}, with_kept = 0)",
            params,
        )
        for view in ("kpi_po_facts_as_of", "kpi_request_facts_as_of")
    )


def test_kept_facts_give_the_rows_judged_from_the_facts(store: Store, tmp_path: Path) -> None:
    settings = load_settings(data_dir=tmp_path)
    d = timedelta(days=1)
    h = timedelta(hours=1)
    store_events(
        store,
        # On time and in full; a due from the acknowledgement's promised_at.
        _request("R1", T0, "stat"),
        _po("PO-1", "R1", "SUP-A", T0 + h, 4, expected_at=(T0 + 2 * d).isoformat()),
        {
            "event_type": "po.acknowledged",
            "correlation_id": "R1",
            "po_number": "PO-1",
            "status": "accepted",
            "promised_at": (T0 + d).isoformat(),
            "at": T0 + 2 * h,
        },
        _receipt("PO-1", "GR-1", T0 + 5 * h, 4, 1),
        # Partly received, the rest late: in full only in week two.
        _request("R2", T0 + 2 * d, "urgent"),
        _po("PO-2", "R2", "SUP-A", T0 + 2 * d + h, 10, expected_at=(T0 + 3 * d).isoformat()),
        _receipt("PO-2", "GR-2a", T0 + 2 * d + 3 * h, 6, 1),
        _receipt("PO-2", "GR-2b", T0 + 9 * d, 8, 0),
        # Rejected by the supplier: not counted by the supplier KPIs.
        _request("R3", T0 + 3 * d, "routine", site="s2"),
        _po("PO-3", "R3", "SUP-B", T0 + 3 * d + h, 2, expected_at=(T0 + 4 * d).isoformat()),
        {
            "event_type": "po.acknowledged",
            "correlation_id": "R3",
            "po_number": "PO-3",
            "status": "rejected",
            "at": T0 + 3 * d + 2 * h,
        },
        # Cancelled request.
        _request("R4", T0 + 4 * d, "stat"),
        {"event_type": "replenishment.cancelled", "correlation_id": "R4", "at": T0 + 4 * d + h},
        # A PO whose later version moves it to another request.
        _request("R5", T0 + 5 * d, "routine"),
        _request("R6", T0 + 5 * d, "routine"),
        _po("PO-5", "R5", "SUP-B", T0 + 5 * d + h, 3, expected_at=(T0 + 6 * d).isoformat()),
        _po("PO-5", "R6", "SUP-B", T0 + 8 * d, 3, expected_at=(T0 + 10 * d).isoformat()),
        _receipt("PO-5", "GR-5", T0 + 9 * d, 3, 1),
    )
    instants = [T0 + 3 * d, T0 + 6 * d, T0 + 8 * d + h, T0 + 12 * d, NOW]
    judged = {at: _rows(store, settings, at) for at in instants}  # nothing kept yet
    assert any(rows for rows in judged[NOW]), "the scenario must give supplier and request rows"

    facts.refresh(store, margin=timedelta(0))
    assert store.query_value("SELECT count() FROM kpi_po_facts FINAL") == 4
    assert _judged(store, NOW) == 0  # all read from the kept rows
    assert _judged(store, T0 + 6 * d) > 0  # earlier instants judge what came after them
    for at in instants:
        assert _rows(store, settings, at) == judged[at], at

    # New facts after the refresh: their entities are judged again until the next refresh.
    later = [
        _receipt("PO-3", "GR-3", T0 + 6 * d, 2, 1),
        {
            "event_type": "po.acknowledged",
            "correlation_id": "R2",
            "po_number": "PO-2",
            "status": "accepted",
            "promised_at": (T0 + 10 * d).isoformat(),
            "at": T0 + 2 * d + 2 * h,
        },
        _request("R7", T0 + 13 * d, "stat"),
    ]
    store_events(store, *later)
    # PO-2, PO-3, R3 (PO-3's receipt) and R7; R2's facts hold (an acknowledgement does not
    # change a request).
    assert _judged(store, NOW) == 4
    fresh = {at: _rows(store, settings, at) for at in instants}
    assert fresh[NOW] != judged[NOW]  # the new facts count
    facts.refresh(store, margin=timedelta(0))
    assert _judged(store, NOW) == 0
    for at in instants:
        assert _rows(store, settings, at) == fresh[at], at
