"""Rule queries in chDB over revised and repeated facts: the value a later version leaves out
is the earlier one's, and a result does not change when the parts holding it merge."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from rules.config import LoadedRules, RulesConfig
from rules.engine import evaluate
from rules.findings import Finding
from rxsight.config import Settings
from rxsight.store import Store
from tests.support import store_events

T = datetime(2026, 5, 4, 8, 0, tzinfo=UTC)
RULES = LoadedRules(RulesConfig(), (), ())


def _findings(store: Store, tmp_path: Path, as_of: datetime) -> dict[str, Finding]:
    settings = Settings(dsn=store.dsn, data_dir=tmp_path)
    return {f.key: f for f in evaluate(store, RULES, settings, as_of).findings}


def test_a_po_version_without_expected_at_keeps_the_earlier_one(store: Store, tmp_path: Path):
    po = {"event_type": "po.created", "correlation_id": "c-1", "po_number": "PO-1"}
    line_1 = {"line_no": 1, "item_id": "NDC-1", "quantity": 4, "unit_price": "3"}
    line_2 = {"line_no": 2, "item_id": "NDC-9", "quantity": 1, "unit_price": "8"}
    store_events(
        store,
        {
            **po,
            "at": T - timedelta(days=3),
            "expected_at": (T - timedelta(days=1)).isoformat(),
            "lines": [line_1, line_2],
        },
        # A revision of line 1 that names no date: line 2 still carries the first one's.
        {**po, "at": T - timedelta(days=2), "lines": [line_1]},
    )
    found = _findings(store, tmp_path, T)["delayed_receipt:PO-1"]
    assert found.reason == "not_received"
    assert found.since == T - timedelta(days=1) + timedelta(hours=4)


def test_a_request_repeated_with_a_quantity_reports_that_quantity(store: Store, tmp_path: Path):
    request = {"event_type": "replenishment.requested", "correlation_id": "c-2", "site": "s"}
    store_events(
        store,
        {**request, "at": T - timedelta(days=3), "item_id": "NDC-2"},
        {**request, "at": T - timedelta(days=2), "item_id": "NDC-2", "quantity": "7.5"},
    )
    found = _findings(store, tmp_path, T)["open_replenishment:c-2"]
    assert found.reason == "no_po"
    assert found.details["quantity"] == "7.5"
    assert found.details["requested_at"].startswith(str((T - timedelta(days=3)).date()))


def test_an_invoice_judged_before_and_after_its_parts_merge_is_judged_alike(
    store: Store, tmp_path: Path
):
    store_events(
        store,
        {
            "event_type": "po.created",
            "correlation_id": "c-3",
            "po_number": "PO-3",
            "at": T - timedelta(days=3),
            "lines": [{"line_no": 2, "item_id": "NDC-3", "quantity": 4, "unit_price": "3"}],
        },
        {
            "event_type": "goods.received",
            "correlation_id": "c-3",
            "po_number": "PO-3",
            "receipt_id": "GR-3",
            "at": T - timedelta(days=2),
            "lines": [{"line_no": 2, "item_id": "NDC-3", "quantity": 4}],
        },
    )
    invoice = {
        "event_id": "INV-3-received",
        "event_type": "invoice.received",
        "correlation_id": "ap-3",
        "supplier_id": "SUP-3",
        "invoice_number": "INV-3",
        "po_number": "PO-3",
        "at": T - timedelta(days=1),
        # Two lines end up numbered 2 (the second by its position): one line of the event,
        # as its table keeps one row per event and line number once its parts merge.
        "lines": [{"line_no": 2, "quantity": 3, "unit_price": "3"}, {"quantity": 3}],
    }
    store_events(store, invoice)
    store_events(store, invoice)  # delivered twice: two parts until they merge
    before = {k: (f.reason, f.since) for k, f in _findings(store, tmp_path, T).items()}
    store.command("OPTIMIZE TABLE rules_po_invoice_lines FINAL")
    after = {k: (f.reason, f.since) for k, f in _findings(store, tmp_path, T).items()}
    assert before == after
    assert "unmatched_invoice:SUP-3/INV-3" not in before  # 3 invoiced of 4 received
