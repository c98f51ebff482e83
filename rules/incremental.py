"""Incremental scheduling: which entities a scheduled run must look at (open or touched)."""

from __future__ import annotations

import dataclasses
import time
from dataclasses import dataclass
from datetime import datetime, timedelta

from rules.engine import SCOPE_KEY, Evaluation, Finding
from rxsight.store import SqlFiles, Store
from rxsight.timeutil import as_utc

SQL = SqlFiles(__file__)
# Facts are stamped on insert by the database clock; a block stamped just before a run's
# watermark may become visible just after it, so each run looks a little further back.
_VISIBILITY_MARGIN = timedelta(seconds=10)
_TOUCHED_COLUMN = {
    "open_replenishment": "correlation_ids",
    "unmatched_invoice": "invoice_po_numbers",
    "delayed_receipt": "po_numbers",
    "receipt_posting": "receipt_ids",
}


@dataclass(frozen=True)
class Plan:
    scope: dict[str, list[str]] | None  # None: evaluate everything
    watermark: datetime
    as_of: datetime


class IncrementalPlanner:
    """After a full run, later runs evaluate only the entities whose facts arrived, or came
    due, since the previous run. With its facts unchanged an entity's outcome is fixed:
    closed stays closed, and a condition keeps its reason and `since` (a grace period that
    runs out turns it into a finding at `since`), so the previous outcome is carried over.
    This gives the same findings as a full run; a full run every `full_every_s` (and after
    any failure) re-checks that anyway."""

    def __init__(self, full_every_s: float) -> None:
        self.full_every_s = full_every_s
        self._carry: dict[str, dict[str, tuple[Finding, ...]]] | None = None
        self._watermark: datetime | None = None
        self._previous_as_of: datetime | None = None
        self._last_full = 0.0

    def plan(self, store: Store, as_of: datetime) -> Plan:
        db_now = as_utc(store.query_value("SELECT now64(3, 'UTC')"))
        watermark = db_now - _VISIBILITY_MARGIN
        due_full = time.monotonic() - self._last_full >= self.full_every_s
        if (
            self._carry is None
            or self._watermark is None
            or self._previous_as_of is None
            or due_full
            or as_utc(as_of) < self._previous_as_of
        ):
            return Plan(None, watermark, as_of)
        touched = store.query(
            SQL["touched"],
            {
                "since": _ch(self._watermark),
                "previous_as_of": _ch(self._previous_as_of),
                "as_of": _ch(as_of),
            },
        )[0]
        scope = {
            rule_id: sorted(set(touched[column])) for rule_id, column in _TOUCHED_COLUMN.items()
        }
        return Plan(scope, watermark, as_of)

    def record(self, plan: Plan, result: Evaluation) -> Evaluation:
        """Remember this run's outcome; returns the complete evaluation (for a scoped run:
        its fresh results plus the carried outcome of every entity it did not look at)."""
        if result.failed_rules & set(SCOPE_KEY):
            # Whatever a failed rule would have said is unknown: start over with a full run.
            self._carry = None
            return result
        self._watermark = plan.watermark
        self._previous_as_of = as_utc(plan.as_of)
        if plan.scope is None or self._carry is None:
            self._carry = {r: dict(v) for r, v in result.entity_findings.items()}
            self._last_full = time.monotonic()
            return result
        as_of = as_utc(plan.as_of)
        findings = [f for f in result.findings if f.rule_id not in plan.scope]
        for rule_id, keys in plan.scope.items():
            carried = self._carry.setdefault(rule_id, {})
            for key in keys:
                carried.pop(key, None)
            carried.update(result.entity_findings.get(rule_id, {}))
            findings.extend(f for fs in carried.values() for f in fs if f.since <= as_of)
        unique: dict[str, Finding] = {}
        for f in findings:
            unique.setdefault(f.key, f)
        counts: dict[str, int] = {}
        for f in unique.values():
            counts[f.rule_id] = counts.get(f.rule_id, 0) + 1
        runs = tuple(dataclasses.replace(r, findings=counts.get(r.rule_id, 0)) for r in result.runs)
        return dataclasses.replace(result, findings=tuple(unique.values()), runs=runs)


def _ch(dt: datetime) -> str:
    return as_utc(dt).strftime("%Y-%m-%d %H:%M:%S.%f")[:-3]
