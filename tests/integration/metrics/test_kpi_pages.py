"""The KPI page's kept results: with an explicit as_of, reused while nothing the KPIs read has
changed and computed again as soon as a fact arrives; without one, the latest result (its
instant said on the page), computed again in the background once older than the TTL."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from metrics.kpi_cache import KpiPages, compute_page
from metrics.periods import containing
from rxsight.config import load_settings
from rxsight.store import Store
from rxsight.timeutil import utcnow
from tests.support import store_events

T0 = datetime(2026, 11, 2, 8, tzinfo=UTC)
AS_OF = datetime(2026, 11, 30, tzinfo=UTC)


def _received_request(corr: str, at: datetime, late: bool) -> list[dict]:
    po = f"PO-{corr}"
    received = at + timedelta(hours=80 if late else 2)
    return [
        {
            "event_type": "replenishment.requested",
            "correlation_id": corr,
            "site": "s1",
            "priority": "routine",
            "item_id": "A",
            "quantity": 2,
            "at": at,
        },
        {
            "event_type": "po.created",
            "correlation_id": corr,
            "po_number": po,
            "supplier_id": "SUP-A",
            "site": "s1",
            "at": at + timedelta(minutes=30),
            "lines": [{"line_no": 1, "item_id": "A", "quantity": 2, "unit_price": "1.00"}],
        },
        {
            "event_type": "goods.received",
            "correlation_id": f"dock-{corr}",
            "po_number": po,
            "receipt_id": f"GR-{corr}",
            "site": "s1",
            "at": received,
            "lines": [{"line_no": 1, "item_id": "A", "quantity": 2}],
        },
    ]


def _on_time(page: object) -> float:
    rows = page.report.rows  # type: ignore[attr-defined]
    return next(c.row.value for c in rows if c.row.key == ("replenishment_on_time_rate", ()))


def test_an_explicit_as_of_is_reused_until_a_fact_arrives(store: Store, tmp_path: Path) -> None:
    settings = load_settings(data_dir=tmp_path)
    store_events(store, *_received_request("R1", T0, late=False))
    month = containing("month", T0)
    pages = KpiPages(ttl_s=300)
    first = pages.page(store, settings, month, AS_OF)
    assert _on_time(first) == 1.0
    assert first.trend[("replenishment_on_time_rate", ())][-1] == 1.0
    assert pages.page(store, settings, month, AS_OF) is first  # nothing changed: kept

    # A late-arriving request, dated before as_of: the page counts it at once.
    store_events(store, *_received_request("R2", T0 + timedelta(days=3), late=True))
    second = pages.page(store, settings, month, AS_OF)
    assert _on_time(second) == 0.5
    assert second.report.rows == compute_page(store, settings, month, AS_OF).report.rows
    # Another instant is another result.
    earlier = pages.page(store, settings, month, T0 + timedelta(days=1))
    assert earlier.as_of == T0 + timedelta(days=1)
    assert earlier is not second


def test_now_shows_the_latest_result_and_refreshes_it_in_the_background(
    store: Store, tmp_path: Path
) -> None:
    settings = load_settings(data_dir=tmp_path)
    now = utcnow()
    store_events(store, *_received_request("R1", now - timedelta(days=1), late=False))
    month = containing("month", now - timedelta(days=1))
    kept = KpiPages(ttl_s=3600)
    first = kept.page(store, settings, month, None)
    assert now <= first.as_of <= utcnow()
    assert kept.page(store, settings, month, None) is first

    stale = KpiPages(ttl_s=0)
    shown = stale.page(store, settings, month, None)
    again = stale.page(store, settings, month, None)
    assert again is shown  # shown once more while it is computed again
    deadline = time.monotonic() + 60
    while stale.page(store, settings, month, None).as_of == shown.as_of:
        assert time.monotonic() < deadline, "the background refresh never finished"
        time.sleep(0.2)
    stale.settle()
