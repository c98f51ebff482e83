"""The supplier KPIs name the supplier as the crosswalk in force at as_of names it (DESIGN
5.7), as the invoice KPIs do: a PO created under the ERP vendor number and acknowledged under
the EDI partner's is one supplier's, in on-time, fill and acknowledgement latency alike; kept
or judged from the facts, the same rows."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from metrics import facts
from metrics.kpis import KpiRow, compute_many
from rxsight.config import load_settings
from rxsight.store import Store
from tests.support import store_events

T0 = datetime(2026, 10, 5, 8, tzinfo=UTC)
WEEK = (T0, T0 + timedelta(days=7))
NOW = datetime(2026, 12, 1, tzinfo=UTC)
SUPPLIER_KPIS = ("supplier_on_time_rate", "supplier_fill_rate", "supplier_ack_latency_hours_p90")


def _po_events(po: str, vendor: str, partner: str, at: datetime, received: int) -> list[dict]:
    """A PO for 4 units created under `vendor`, transmitted, acknowledged under `partner`
    two hours later with a promise for the next day, and `received` units received."""
    h = timedelta(hours=1)
    corr = f"R-{po}"
    events = [
        {
            "event_type": "po.created",
            "po_number": po,
            "correlation_id": corr,
            "supplier_id": vendor,
            "site": "s1",
            "at": at,
            "lines": [{"line_no": 1, "item_id": "A", "quantity": 4, "unit_price": "2.00"}],
        },
        {"event_type": "po.transmitted", "po_number": po, "correlation_id": corr, "at": at + h},
        {
            "event_type": "po.acknowledged",
            "po_number": po,
            "correlation_id": corr,
            "supplier_id": partner,
            "status": "accepted",
            "promised_at": (at + 24 * h).isoformat(),
            "at": at + 3 * h,
        },
    ]
    if received:
        events.append(
            {
                "event_type": "goods.received",
                "correlation_id": f"dock-{po}",
                "po_number": po,
                "receipt_id": f"GR-{po}",
                "site": "s1",
                "at": at + 5 * h,
                "lines": [{"line_no": 1, "item_id": "A", "quantity": received}],
            }
        )
    return events


def _by_supplier(store: Store, settings: object, as_of: datetime) -> dict[tuple, tuple]:
    rows: list[KpiRow] = compute_many(store, settings, [WEEK], as_of)[0]
    return {
        (r.kpi, r.group[0][1]): (r.numerator, r.denominator, r.value)
        for r in rows
        if r.kpi in SUPPLIER_KPIS and r.group and r.group[0][0] == "supplier_id"
    }


def test_supplier_kpis_count_the_crosswalks_canonical_supplier(
    store: Store, tmp_path: Path
) -> None:
    from rules.masterdata import crosswalk
    from rules.masterdata.rows import read_file

    settings = load_settings(data_dir=tmp_path)
    store_events(
        store,
        # Under the ERP vendor number, acknowledged under the EDI partner's: in full.
        *_po_events("PO-1", "V-1001", "EDI-ACME", T0, received=4),
        # The same supplier under its canonical identifier: half received.
        *_po_events("PO-2", "SUP-A", "SUP-A", T0 + timedelta(days=1), received=2),
        # A supplier the crosswalk does not know: as sent.
        *_po_events("PO-3", "V-9", "V-9", T0 + timedelta(days=2), received=4),
    )
    before = _by_supplier(store, settings, NOW)
    # Asking for some KPIs gives exactly their rows of the whole computation.
    every = compute_many(store, settings, [WEEK], NOW)[0]
    assert compute_many(store, settings, [WEEK], NOW, kpis={"supplier_fill_rate"})[0] == [
        r for r in every if r.kpi == "supplier_fill_rate"
    ]
    # With no crosswalk each identifier is a supplier of its own.
    assert before[("supplier_fill_rate", "V-1001")][:2] == (4, 4)
    assert before[("supplier_fill_rate", "SUP-A")][:2] == (2, 4)

    suppliers = (
        "id,name,id.erp,id.edi,valid_from\nSUP-A,Acme,V-1001,EDI-ACME,2026-01-01T00:00:00Z\n"
    )
    parsed = read_file("supplier", "suppliers.csv", suppliers, crosswalk.db_now(store))
    crosswalk.load(store, "supplier", parsed, source="suppliers.csv", actor="test")

    judged = _by_supplier(store, settings, NOW)
    assert judged[("supplier_on_time_rate", "SUP-A")][:2] == (1, 2)
    assert judged[("supplier_fill_rate", "SUP-A")][:2] == (6, 8)
    assert judged[("supplier_ack_latency_hours_p90", "SUP-A")][2] == 2.0
    assert judged[("supplier_fill_rate", "V-9")][:2] == (4, 4)
    named = {supplier for _, supplier in judged}
    assert named == {"SUP-A", "V-9"}, "no row under the ERP vendor or the EDI partner number"

    facts.refresh(store, settings, margin=timedelta(0))
    assert _by_supplier(store, settings, NOW) == judged
