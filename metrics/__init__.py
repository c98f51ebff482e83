"""Prometheus exposition (technical and business metrics) and KPI definitions and exports."""

from __future__ import annotations

from metrics.config import parse_kpis_config
from rxsight.config import ConfigError, Settings
from rxsight.runtime import Runtime, Service

__all__ = ["build", "check_config"]


def build(runtime: Runtime) -> Service | None:
    """The scheduled KPI exports (a thread only when `kpis.exports` has any)."""
    from metrics.scheduler import ExportScheduler

    return ExportScheduler(runtime, parse_kpis_config(runtime.settings))


def check_config(settings: Settings) -> list[str]:
    try:
        parse_kpis_config(settings)
    except ConfigError as exc:
        return exc.problems
    return []
