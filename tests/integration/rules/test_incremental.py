"""Scheduled runs that look only at touched entities give a full run's findings, in chDB."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from rules.config import LoadedRules, RulesConfig
from rules.engine import Evaluation, evaluate
from rules.incremental import IncrementalPlanner
from rxsight.config import Settings
from rxsight.store import Store
from tests.integration.rules import replenishment_events as events
from tests.support import store_events

T = datetime(2026, 3, 9, 8, 0, tzinfo=UTC)
RULES = LoadedRules(RulesConfig(), (), ())


def _request(corr: str, at: datetime) -> dict[str, Any]:
    return events.request(corr, at, item="NDC-1", quantity=5, site="site-a")


def _po(corr: str, po: str, at: datetime) -> dict[str, Any]:
    return events.po(corr, po, at, item="NDC-1", quantity=5)


def _receipt(corr: str, po: str, receipt: str, at: datetime) -> dict[str, Any]:
    return events.receipt(corr, po, receipt, at, item="NDC-1", quantity=5)


def _outcome(result: Evaluation) -> dict[str, tuple[str, datetime]]:
    return {f.key: (f.reason, f.since) for f in result.findings}


def test_incremental_runs_carry_grace_periods_and_follow_changes(store: Store, tmp_path: Path):
    settings = Settings(dsn=store.dsn, data_dir=tmp_path)
    # No margin: the facts sent before a run are certainly visible to it, so only what is sent
    # after it counts as touched in the next.
    planner = IncrementalPlanner(full_every_s=3600, visibility_margin=timedelta(0))

    def scheduled(as_of: datetime) -> tuple[Evaluation, dict[str, list[str]] | None]:
        plan = planner.plan(store, as_of)
        result = evaluate(store, RULES, settings, as_of, scope=plan.scope, include_pending=True)
        return planner.record(plan, result), plan.scope

    store_events(
        store,
        _request("late", T - timedelta(hours=30)),  # no PO in 24 h: a finding at T
        _request("grace", T - timedelta(hours=23)),  # its 24 h run out at T + 1 h
        _request("fixed", T - timedelta(hours=26)),  # no PO at T; a PO arrives later
        _request("done", T - timedelta(hours=2)),
        _po("done", "PO-DONE", T - timedelta(hours=1)),
    )
    first, scope = scheduled(T)
    assert scope is None
    assert _outcome(first) == _outcome(evaluate(store, RULES, settings, T))
    assert {
        f.correlation_id: f.reason for f in first.findings if f.family == "open_replenishment"
    } == {
        "late": "no_po",
        "fixed": "no_po",
    }

    # New facts for one request, none for the others: "grace" comes due untouched.
    store_events(store, _po("fixed", "PO-FIXED", T + timedelta(minutes=30)))
    later = T + timedelta(hours=2)
    second, scope = scheduled(later)
    assert scope is not None and scope["open_replenishment"] == ["fixed"]
    assert _outcome(second) == _outcome(evaluate(store, RULES, settings, later))
    assert {
        f.correlation_id: f.reason for f in second.findings if f.family == "open_replenishment"
    } == {
        "late": "no_po",
        "grace": "no_po",
    }
    assert [r.findings for r in second.runs if r.rule_id == "open_replenishment"] == [2]


def _invoice(number: str, po: str, at: datetime, corr: str) -> dict[str, Any]:
    return {
        "event_type": "invoice.received",
        "correlation_id": corr,
        "at": at,
        "supplier_id": "SUP-1",
        "invoice_number": number,
        "po_number": po,
        "lines": [{"line_no": 1, "item_id": "NDC-1", "quantity": 5, "unit_price": "2"}],
    }


def test_an_invoice_billed_on_two_pos_is_judged_whole_when_one_po_is_touched(
    store: Store, tmp_path: Path
):
    settings = Settings(dsn=store.dsn, data_dir=tmp_path)
    planner = IncrementalPlanner(full_every_s=3600, visibility_margin=timedelta(0))

    def scheduled(as_of: datetime) -> Evaluation:
        plan = planner.plan(store, as_of)
        result = evaluate(store, RULES, settings, as_of, scope=plan.scope, include_pending=True)
        return planner.record(plan, result)

    store_events(
        store,
        _po("c-a", "PO-A", T - timedelta(days=3)),
        _po("c-b", "PO-B", T - timedelta(days=3)),
        # The same invoice twice, the second time quoting another PO: a duplicate.
        _invoice("INV-1", "PO-A", T - timedelta(days=2), "ap-1"),
        _invoice("INV-1", "PO-B", T - timedelta(days=1), "ap-2"),
    )
    first = scheduled(T)
    assert {f.invoice_number: f.reason for f in first.findings if f.invoice_number} == {
        "INV-1": "duplicate"
    }
    # Goods arrive on PO B only: B is touched, A is not.
    store_events(store, _receipt("c-b", "PO-B", "GR-B", T + timedelta(minutes=5)))
    later = T + timedelta(hours=1)
    assert _outcome(scheduled(later)) == _outcome(evaluate(store, RULES, settings, later))
    # And once more, now that B's outcome was carried: A touched alone.
    store_events(store, _receipt("c-a", "PO-A", "GR-A", later + timedelta(minutes=5)))
    last = later + timedelta(hours=1)
    assert _outcome(scheduled(last)) == _outcome(evaluate(store, RULES, settings, last))
