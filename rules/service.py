"""The rules stage at run time: loaded configuration, the scheduler thread, last results."""

from __future__ import annotations

import logging
import threading
from datetime import datetime

from rules import config as rules_config
from rules.engine import Evaluation, RuleRun, evaluate
from rules.lifecycle import persist
from rules.metrics import RulesMetrics
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
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        for problem in loaded.problems:
            log.error("custom rule not loaded: %s", problem)

    def start(self) -> None:
        if not self.loaded.config.enabled:
            return
        self._thread = threading.Thread(target=self._loop, name="rules-scheduler", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=30)

    def _loop(self) -> None:
        interval = self.loaded.config.interval_s
        while not self._stop.wait(interval):
            try:
                self.evaluate(utcnow(), persist_findings=True)
            except Exception:  # noqa: BLE001 - the scheduler keeps going; the error is logged
                log.exception("scheduled rule evaluation failed")

    def evaluate(self, as_of: datetime, *, persist_findings: bool) -> Evaluation:
        store = self.runtime.store
        result = evaluate(store, self.loaded, self.runtime.settings, as_of)
        for run in result.runs:
            self.last_runs[run.rule_id] = run
        self.last_run_at = utcnow()
        self.metrics.observe(result)
        if persist_findings:
            persist(store, result, actor="rules")
        return result
