"""MTTA, MTTR and manual intervention rate against the same numbers computed in Python from a
scripted exception lifecycle: opened by the rules, acknowledged by a person, auto-resolved when
the condition clears, resolved by a person (who is later overtaken by the condition clearing)."""

from __future__ import annotations

import math
import time
from datetime import timedelta
from pathlib import Path

from metrics.kpis import compute
from rules import config as rules_config
from rules import public as rules_public
from rules.engine import evaluate
from rules.lifecycle import persist
from rxsight.config import load_settings
from rxsight.store import Store
from rxsight.timeutil import utcnow
from tests.support import store_events


def _hours(later: str, earlier: str) -> float:
    from rxsight.model import parse_rfc3339

    return (parse_rfc3339(later) - parse_rfc3339(earlier)).total_seconds() / 3600


def _nearest_rank(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[math.ceil(len(ordered) * p) - 1]


def test_lifecycle_kpis_match_the_history(store: Store, tmp_path: Path) -> None:
    settings = load_settings(data_dir=tmp_path)
    loaded = rules_config.load(settings)
    started = utcnow()
    requested = started - timedelta(hours=3)  # stat: no PO after 1 h is a finding
    store_events(
        store,
        *(
            {
                "event_type": "replenishment.requested",
                "correlation_id": cid,
                "site": "s1",
                "priority": "stat",
                "item_id": "ITEM-1",
                "quantity": 5,
                "at": requested,
            }
            for cid in ("REQ-ACKED", "REQ-RESOLVED", "REQ-UNTOUCHED")
        ),
    )

    def run_rules() -> None:
        persist(store, evaluate(store, loaded, settings, utcnow()))

    run_rules()  # opens three exceptions
    time.sleep(0.3)
    ids = {
        e["correlation_id"]: e["exception_id"]
        for e in rules_public.list_exceptions(store, family="open_replenishment")[0]
    }
    assert set(ids) == {"REQ-ACKED", "REQ-RESOLVED", "REQ-UNTOUCHED"}
    rules_public.act(store, ids["REQ-ACKED"], "ack", "pat")
    time.sleep(0.2)
    rules_public.act(store, ids["REQ-RESOLVED"], "resolve", "lee", comment="ordered by phone")
    time.sleep(0.2)
    # REQ-ACKED and REQ-RESOLVED get a PO received in full: their conditions clear.
    for cid, po in (("REQ-ACKED", "PO-1"), ("REQ-RESOLVED", "PO-2")):
        store_events(
            store,
            {
                "event_type": "po.created",
                "correlation_id": cid,
                "po_number": po,
                "supplier_id": "SUP-1",
                "site": "s1",
                "item_id": "ITEM-1",
                "quantity": 5,
                "at": requested + timedelta(hours=2),
            },
            {
                "event_type": "goods.received",
                "correlation_id": cid,
                "po_number": po,
                "receipt_id": f"R-{po}",
                "site": "s1",
                "item_id": "ITEM-1",
                "quantity": 5,
                "at": requested + timedelta(hours=2, minutes=30),
            },
        )
    run_rules()  # auto-resolves REQ-ACKED; REQ-RESOLVED's person resolve stays the resolution
    as_of = utcnow()

    history = {cid: rules_public.get_exception(store, eid)["history"] for cid, eid in ids.items()}
    assert [h["change"] for h in history["REQ-ACKED"]] == [
        "opened",
        "acknowledged",
        "auto_resolved",
    ]
    assert [h["change"] for h in history["REQ-RESOLVED"]] == ["opened", "resolved", "auto_resolved"]

    # The same KPIs, computed here from the history alone.
    acked = history["REQ-ACKED"]
    mtta = [_hours(acked[1]["at"], acked[0]["opened_at"])]
    resolutions = [
        (_hours(acked[2]["at"], acked[0]["opened_at"]), False),
        (_hours(history["REQ-RESOLVED"][1]["at"], history["REQ-RESOLVED"][0]["opened_at"]), True),
    ]
    rows = {
        (r.kpi, r.group): r
        for r in compute(store, settings, started - timedelta(minutes=1), as_of, as_of)
    }
    family = (("family", "open_replenishment"),)
    mtta_row = rows[("exception_mtta_hours_p50", family)]
    assert mtta_row.n == 1
    assert math.isclose(mtta_row.value, _nearest_rank(mtta, 0.5), abs_tol=1e-9)
    mttr_row = rows[("exception_mttr_hours_p50", family)]
    assert mttr_row.n == 2  # the auto_resolved after a person's resolve is not a second one
    assert math.isclose(
        mttr_row.value, _nearest_rank([h for h, _ in resolutions], 0.5), abs_tol=1e-9
    )
    for group in ((), family):
        manual = rows[("manual_intervention_rate", group)]
        assert (manual.numerator, manual.denominator) == (1, 2)
        assert manual.value == 0.5

    # A period that ended before the acknowledgement has none of these rows.
    early = compute(store, settings, started - timedelta(hours=1), started, as_of)
    assert not [r for r in early if r.kpi.startswith(("exception_", "manual_"))]
