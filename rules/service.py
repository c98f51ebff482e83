"""The rules stage at run time: loaded configuration, the scheduler thread, last results."""

from __future__ import annotations

import logging
import math
import threading
import time
from datetime import datetime

from rules import config as rules_config
from rules import replenishments
from rules.engine import Evaluation, RuleRun, evaluate
from rules.incremental import IncrementalPlanner
from rules.lifecycle import EXCEPTIONS_TABLE, persist
from rules.metrics import RulesMetrics
from rxsight.lease import Lease, LeaseKeeper, holder_name
from rxsight.runtime import Runtime
from rxsight.stored import StoredBatch
from rxsight.timeutil import utcnow

log = logging.getLogger(__name__)
# A run at a due instant starts this much after it, so its T (the wall clock) is past it.
_CLOCK_MARGIN_S = 0.005


class RulesService:
    """Evaluates every rule (T = now) and persists the exceptions: after each batch of new
    facts, when a pending finding comes due, and at least every `interval_s`."""

    def __init__(self, runtime: Runtime, loaded: rules_config.LoadedRules) -> None:
        self.runtime = runtime
        self.loaded = loaded
        self.metrics = RulesMetrics(runtime.registry, runtime.store)
        self.last_runs: dict[str, RuleRun] = {}
        self.last_run_at: datetime | None = None
        self.last_scheduled_scoped = False
        self.planner = IncrementalPlanner(loaded.config.full_every_s)
        self._stop = threading.Event()
        # Set by new facts, a stop, or anything else that may move the next run earlier.
        self._wake = threading.Event()
        self._new_facts = threading.Event()
        # The console's kept replenishment rows are brought up to date by whichever process
        # holds the lease: once on gaining it, then after each run.
        self._kept_stale = True
        self._thread: threading.Thread | None = None
        # One scheduler among the processes sharing the store: the others wait on the lease.
        self.lease = Lease(
            runtime.store,
            "rules-scheduler",
            holder_name(runtime.settings.data_dir),
            runtime.settings.config.lease_ttl_s,
        )
        self._keeper = LeaseKeeper(self.lease, self._lease_gained)
        for problem in loaded.problems:
            log.error("custom rule not loaded: %s", problem)

    def start(self) -> None:
        if not self.loaded.config.enabled:
            return
        if self.loaded.config.on_ingest:
            self.runtime.stored.subscribe(self._facts_stored)
        self._keeper.start()
        self._thread = threading.Thread(target=self._loop, name="rules-scheduler", daemon=True)
        self._thread.start()

    def _lease_gained(self) -> None:
        # Another process may have evaluated meanwhile: the first run here is a full one.
        self.planner = IncrementalPlanner(self.loaded.config.full_every_s)
        self._kept_stale = True
        self._wake.set()

    def stop(self) -> None:
        self.runtime.stored.unsubscribe(self._facts_stored)
        self._stop.set()
        self._wake.set()
        self._keeper.stop()
        if self._thread is not None:
            self._thread.join(timeout=30)

    def _facts_stored(self, batch: StoredBatch) -> None:
        # On the writer's thread: take note and return. Our own exceptions are no news.
        if batch.rows.keys() - {EXCEPTIONS_TABLE}:
            self._new_facts.set()
            self._wake.set()

    def _loop(self) -> None:
        cfg = self.loaded.config
        interval = cfg.interval_s
        tick = time.monotonic() + interval
        last_started = -math.inf
        while not self._stop.is_set():
            if self._kept_stale and self.lease.held:
                self._refresh_kept()
            now = time.monotonic()
            # Whichever comes first: the periodic tick, new facts, a pending finding's due
            # instant; the last two no sooner than min_gap_s after the previous run.
            wake_at = tick
            soonest = last_started + cfg.min_gap_s
            if self._new_facts.is_set():
                wake_at = min(wake_at, soonest)
            due = self.planner.next_due
            if due is not None:
                due_in = (due - utcnow()).total_seconds() + _CLOCK_MARGIN_S
                wake_at = min(wake_at, max(now + due_in, soonest))
            if wake_at > now:
                self._wake.wait(wake_at - now)
                self._wake.clear()
                continue
            if not self.lease.held:
                self._new_facts.clear()
                tick, last_started = now + min(interval, 1.0), now
                continue
            # Cleared before the run reads the store: facts stored during it start the next.
            self._new_facts.clear()
            try:
                self.scheduled_run()
            except Exception:  # noqa: BLE001 - the scheduler keeps going; the error is logged
                log.exception("scheduled rule evaluation failed")
            last_started = now
            # Every run is a whole tick (T = now, every rule): the periodic one is due an
            # interval after the last run started; a run that overran starts it at once.
            tick = max(now + interval, time.monotonic())

    def scheduled_run(self, as_of: datetime | None = None) -> Evaluation:
        """One scheduler tick: T = now, incremental when the planner can, persisted."""
        store = self.runtime.store
        when = as_of or utcnow()
        plan = self.planner.plan(store, when)
        result = evaluate(
            store,
            self.loaded,
            self.runtime.settings,
            when,
            scope=plan.scope,
            include_pending=True,
        )
        result = self.planner.record(plan, result)
        self.last_scheduled_scoped = plan.scope is not None
        self._after(result)
        changes = sum(persist(store, result, actor="rules").values())
        if changes:
            # The alert dispatcher hears of them now rather than at its next poll.
            self.runtime.stored.publish(StoredBatch({EXCEPTIONS_TABLE: changes}))
        self._refresh_kept()
        return result

    def _refresh_kept(self) -> None:
        # Off the console's request path: /replenishments only reads these rows (and has
        # the rule judge what arrived since), so a failure here costs speed, not exactness.
        try:
            replenishments.refresh(self.runtime.store, self.runtime.settings)
            self._kept_stale = False
        except Exception:  # noqa: BLE001 - the scheduler keeps going; the error is logged
            log.exception("refreshing the kept replenishment rows failed")

    def _after(self, result: Evaluation) -> None:
        for run in result.runs:
            self.last_runs[run.rule_id] = run
        self.last_run_at = utcnow()
        self.metrics.observe(result)

    def evaluate(self, as_of: datetime, *, persist_findings: bool) -> Evaluation:
        store = self.runtime.store
        result = evaluate(store, self.loaded, self.runtime.settings, as_of)
        self._after(result)
        if persist_findings:
            persist(store, result, actor="rules")
        return result
