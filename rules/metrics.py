"""Prometheus metrics of the rules stage: evaluation duration, findings, open exceptions."""

from __future__ import annotations

import logging
import time
from collections import Counter
from collections.abc import Iterator

from prometheus_client import CollectorRegistry, Gauge, Histogram
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from rules.engine import Evaluation
from rxsight.store import SqlFiles, Store

log = logging.getLogger(__name__)
SQL = SqlFiles(__file__)
_CACHE_S = 5.0


class OpenExceptions(Collector):
    """Read at scrape time from exception_history, so every process reports the same truth."""

    def __init__(self, store: Store) -> None:
        self._store = store
        self._cached: list[tuple[str, str, str, str, int]] = []
        self._at = 0.0

    def collect(self) -> Iterator[GaugeMetricFamily]:
        family = GaugeMetricFamily(
            "rxsight_exceptions_open",
            "Exceptions not resolved, by family, reason, site and owner",
            labels=["family", "reason", "site", "owner"],
        )
        if time.monotonic() - self._at > _CACHE_S:
            try:
                rows = self._store.query_rows(SQL["open_exceptions_by_label"])
                self._cached = [(r[0], r[1], r[2], r[3], int(r[4])) for r in rows]
                self._at = time.monotonic()
            except Exception:  # noqa: BLE001 - a scrape must not fail because the store did
                log.warning("open exception counts unavailable", exc_info=True)
        for fam, reason, site, owner, n in self._cached:
            family.add_metric([fam, reason, site, owner], n)
        yield family


class RulesMetrics:
    def __init__(self, registry: CollectorRegistry, store: Store) -> None:
        self.duration = Histogram(
            "rxsight_rules_evaluation_seconds",
            "Time to evaluate one rule (rule=all: the whole evaluation)",
            ["rule"],
            buckets=(0.01, 0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60),
            registry=registry,
        )
        self.findings = Gauge(
            "rxsight_rules_findings",
            "Findings of the latest evaluation by family and reason",
            ["family", "reason"],
            registry=registry,
        )
        self.errors = Gauge(
            "rxsight_rules_rule_failed",
            "1 when the rule failed in the latest evaluation",
            ["rule"],
            registry=registry,
        )
        self.last = Gauge(
            "rxsight_rules_last_evaluation_timestamp_seconds",
            "When the latest evaluation finished",
            registry=registry,
        )
        registry.register(OpenExceptions(store))
        self._seen: set[tuple[str, str]] = set()

    def observe(self, result: Evaluation) -> None:
        for run in result.runs:
            self.duration.labels(run.rule_id).observe(run.duration_s)
            self.errors.labels(run.rule_id).set(1 if run.error else 0)
        self.duration.labels("all").observe(result.duration_s)
        counts = Counter((f.family, f.reason) for f in result.findings)
        for key in self._seen - set(counts):
            self.findings.labels(*key).set(0)
        for key, n in counts.items():
            self.findings.labels(*key).set(n)
        self._seen |= set(counts)
        self.last.set(time.time())
