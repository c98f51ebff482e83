"""Prometheus exposition (technical and business metrics) and KPI definitions and exports."""

from __future__ import annotations

from metrics.config import parse_kpis_config, parse_metrics_config
from rxsight.config import ConfigError, Settings
from rxsight.runtime import Runtime, Service

__all__ = ["build", "check_config"]


def build(runtime: Runtime) -> Service | None:
    """Registers the business series, process metrics and build info on the app's registry;
    the service runs the scheduled KPI exports (a thread only when `kpis.exports` has any)."""
    from metrics.service import MetricsStage

    return MetricsStage(runtime)


def check_config(settings: Settings) -> list[str]:
    problems = []
    for parse in (parse_kpis_config, parse_metrics_config):
        try:
            parse(settings)
        except ConfigError as exc:
            problems += exc.problems
    return problems
