"""The rules stage at run time: loaded configuration, the scheduler thread, last results."""

from __future__ import annotations

import logging
import threading
import time
from datetime import datetime

from rules import config as rules_config
from rules.engine import Evaluation, RuleRun, evaluate
from rules.incremental import IncrementalPlanner
from rules.lifecycle import persist
from rules.metrics import RulesMetrics
from rxsight.lease import Lease, LeaseKeeper, holder_name
from rxsight.runtime import Runtime
from rxsight.timeutil import utcnow

log = logging.getLogger(__name__)


class RulesService:
    """Evaluates every rule every `interval_s` (T = now) and persists the exceptions."""

    def __init__(self, runtime: Runtime, loaded: rules_config.LoadedRules) -> None:
        self.runtime = runtime
        self.loaded = loaded
        self.metrics = RulesMetrics(runtime.registry, runtime.store)
        self.last_runs: dict[str, RuleRun] = {}
        self.last_run_at: datetime | None = None
        self.last_scheduled_scoped = False
        self.planner = IncrementalPlanner(loaded.config.full_every_s)
        self._stop = threading.Event()
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
        self._keeper.start()
        self._thread = threading.Thread(target=self._loop, name="rules-scheduler", daemon=True)
        self._thread.start()

    def _lease_gained(self) -> None:
        # Another process may have evaluated meanwhile: the first run here is a full one.
        self.planner = IncrementalPlanner(self.loaded.config.full_every_s)

    def stop(self) -> None:
        self._stop.set()
        self._keeper.stop()
        if self._thread is not None:
            self._thread.join(timeout=30)

    def _loop(self) -> None:
        interval = self.loaded.config.interval_s
        due = time.monotonic() + interval
        while not self._stop.wait(max(0.0, due - time.monotonic())):
            started = time.monotonic()
            if not self.lease.held:
                due = started + min(interval, 1.0)
                continue
            try:
                self.scheduled_run()
            except Exception:  # noqa: BLE001 - the scheduler keeps going; the error is logged
                log.exception("scheduled rule evaluation failed")
            # Fixed rate: due an interval after this run started, so a condition is found
            # within one interval; a run that overran starts the next one at once.
            due = max(started + interval, time.monotonic())

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
        persist(store, result, actor="rules")
        return result

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
