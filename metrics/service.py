"""The metrics stage at run time: /metrics' registry contents and the scheduled exports."""

from __future__ import annotations

import platform

import prometheus_client
from prometheus_client import Gauge, PlatformCollector, ProcessCollector

from metrics.business import BusinessMetrics
from metrics.config import MetricsConfig, parse_kpis_config, parse_metrics_config
from metrics.facts import FactsRefresher
from metrics.scheduler import ExportScheduler
from rxsight import __version__
from rxsight.runtime import Runtime


class MetricsStage:
    def __init__(self, runtime: Runtime) -> None:
        self.config: MetricsConfig = parse_metrics_config(runtime.settings)
        self.scheduler = ExportScheduler(runtime, parse_kpis_config(runtime.settings))
        registry = runtime.registry
        # Prometheus derives counters' start from resets; the `_created` series only doubles
        # the series count (a process-wide switch in prometheus_client).
        prometheus_client.disable_created_metrics()
        ProcessCollector(registry=registry)
        PlatformCollector(registry=registry)
        Gauge(
            "rxsight_build_info",
            "rxsight's version and Python's, always 1",
            ["version", "python"],
            registry=registry,
        ).labels(__version__, platform.python_version()).set(1)
        registry.register(BusinessMetrics(runtime, self.config))
        self.runtime = runtime
        self.facts = FactsRefresher(runtime.store, lambda: runtime.settings)

    def start(self) -> None:
        self.runtime.stored.subscribe(self.facts.stored)
        self.facts.start()
        self.scheduler.start()

    def stop(self) -> None:
        self.runtime.stored.unsubscribe(self.facts.stored)
        self.facts.stop()
        self.scheduler.stop()
