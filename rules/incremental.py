"""Incremental scheduling: which entities a scheduled run must look at (open or touched)."""

from __future__ import annotations

import dataclasses
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from itertools import chain
from operator import attrgetter

from rules import families
from rules.definitions import put_scope
from rules.engine import Evaluation
from rules.findings import Finding
from rxsight.store import SqlFiles, Store
from rxsight.timeutil import as_utc

SQL = SqlFiles(__file__)
# Facts are stamped on insert by the database clock; a block stamped just before a run's
# watermark may become visible just after it, so each run looks a little further back.
_VISIBILITY_MARGIN = timedelta(seconds=10)


@dataclass(frozen=True)
class Plan:
    scope: dict[str, list[str]] | None  # None: evaluate everything
    watermark: datetime
    as_of: datetime


@dataclass
class _Carried:
    """One scoped rule's outcome per entity key, split so that a run needs no look at each
    carried finding: `due` holds entities whose every condition is a finding already (since
    <= the run's instant, which only grows), `pending` those with a grace period still running."""

    due: dict[str, tuple[Finding, ...]] = field(default_factory=dict)
    pending: dict[str, tuple[Finding, ...]] = field(default_factory=dict)

    def replace(
        self, keys: list[str], fresh: dict[str, tuple[Finding, ...]], as_of: datetime
    ) -> None:
        for key in keys:
            self.due.pop(key, None)
        for key in self.pending.keys() & keys:
            del self.pending[key]
        self.add(fresh, as_of)

    def add(self, fresh: dict[str, tuple[Finding, ...]], as_of: datetime) -> None:
        due, pending = self.due, self.pending
        for key, found in fresh.items():
            # Most entities have one condition.
            if found[0].since <= as_of if len(found) == 1 else _all_due(found, as_of):
                due[key] = found
            else:
                pending[key] = found

    def next_due(self, as_of: datetime) -> datetime | None:
        """The earliest instant after `as_of` at which a pending condition becomes a finding."""
        return min(
            (f.since for found in self.pending.values() for f in found if f.since > as_of),
            default=None,
        )

    def findings(self, as_of: datetime) -> list[Finding]:
        """The findings as of `as_of`; pending entities whose grace has run out become due."""
        now_due = [k for k, found in self.pending.items() if _all_due(found, as_of)]
        for key in now_due:
            self.due[key] = self.pending.pop(key)
        out = list(chain.from_iterable(self.due.values()))
        out.extend(f for found in self.pending.values() for f in found if f.since <= as_of)
        return out


def _all_due(found: tuple[Finding, ...], as_of: datetime) -> bool:
    return all(f.since <= as_of for f in found)


class IncrementalPlanner:
    """After a full run, later runs evaluate only the entities whose facts arrived, or came
    due, since the previous run. With its facts unchanged an entity's outcome is fixed:
    closed stays closed, and a condition keeps its reason and `since` (a grace period that
    runs out turns it into a finding at `since`), so the previous outcome is carried over.
    This gives the same findings as a full run; a full run every `full_every_s` (and after
    any failure) re-checks that anyway."""

    def __init__(self, full_every_s: float, visibility_margin: timedelta = _VISIBILITY_MARGIN):
        self.full_every_s = full_every_s
        self.visibility_margin = visibility_margin
        self._carry: dict[str, _Carried] | None = None
        self._watermark: datetime | None = None
        self._previous_as_of: datetime | None = None
        self._last_full = 0.0
        # When the carried outcome next changes by the clock alone: the earliest grace period
        # or limit that runs out after the last run (None: nothing pending, or no carry).
        self.next_due: datetime | None = None

    def plan(self, store: Store, as_of: datetime) -> Plan:
        db_now = as_utc(store.query_value("SELECT now64(3, 'UTC')"))
        watermark = db_now - self.visibility_margin
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
        if touched["crosswalk_changes"]:
            # Every entity may match differently now: judge them all.
            return Plan(None, watermark, as_of)
        # groupUniqArray: each key once already.
        columns = families.touched_columns()
        scope = {rule_id: touched[column] for rule_id, column in columns.items()}
        # unmatched_invoice judges the POs billed together with the touched ones.
        scope["unmatched_invoice"] = billed_together(
            store, touched["invoice_seed"], touched["invoice_po_numbers"]
        )
        return Plan(scope, watermark, as_of)

    def record(self, plan: Plan, result: Evaluation) -> Evaluation:
        """Remember this run's outcome; returns the complete evaluation (for a scoped run:
        its fresh results plus the carried outcome of every entity it did not look at)."""
        if result.failed_rules & families.scope_keys().keys():
            # Whatever a failed rule would have said is unknown: start over with a full run.
            self._carry = None
            self.next_due = None
            return result
        self._watermark = plan.watermark
        self._previous_as_of = as_of = as_utc(plan.as_of)
        if plan.scope is None or self._carry is None:
            self._carry = {}
            for rule_id, by_entity in result.entity_findings.items():
                self._carry[rule_id] = carried = _Carried()
                carried.add(by_entity, as_of)
            self._last_full = time.monotonic()
            self.next_due = self._next_due(as_of)
            return result
        findings = [f for f in result.findings if f.rule_id not in plan.scope]
        counts = Counter(map(attrgetter("rule_id"), findings))
        for rule_id, keys in plan.scope.items():
            carried = self._carry.setdefault(rule_id, _Carried())
            carried.replace(keys, result.entity_findings.get(rule_id, {}), as_of)
            found = carried.findings(as_of)
            counts[rule_id] = len(found)
            findings.extend(found)
        if len(set(map(attrgetter("key"), findings))) < len(findings):
            # One finding per key, the first: an entity's condition found under two keys.
            keys = list(map(attrgetter("key"), findings))
            firsts = dict(zip(reversed(keys), reversed(findings), strict=True))
            findings = [f for k, f in zip(keys, findings, strict=True) if firsts[k] is f]
            counts = Counter(map(attrgetter("rule_id"), findings))
        runs = tuple(dataclasses.replace(r, findings=counts.get(r.rule_id, 0)) for r in result.runs)
        self.next_due = self._next_due(as_of)
        return dataclasses.replace(result, findings=tuple(findings), runs=runs)

    def _next_due(self, as_of: datetime) -> datetime | None:
        assert self._carry is not None
        return min(
            (d for c in self._carry.values() if (d := c.next_due(as_of)) is not None),
            default=None,
        )


def billed_together(store: Store, seed: list[str], one_step: list[str]) -> list[str]:
    """The POs of `seed` and of every invoice billing them, and so on until no more come: an
    invoice is judged with all of its events, whichever POs they quote. `one_step` is the
    first step, taken in the planning query; usually it finds nothing new and this is all."""
    pos = set(one_step)
    new = pos.difference(seed)
    while new:
        run_id = put_scope(store, "invoice POs", sorted(new))
        found = {row[0] for row in store.query_rows(SQL["invoice_pos"], {"run_id": run_id})}
        new = found - pos
        pos |= new
    return list(pos)


def _ch(dt: datetime) -> str:
    return as_utc(dt).strftime("%Y-%m-%d %H:%M:%S.%f")[:-3]
