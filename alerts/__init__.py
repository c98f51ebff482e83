"""Alerts: routing tree, grouping, silences, inhibition, escalation, signed webhook delivery."""

from __future__ import annotations

from alerts.api import router
from alerts.config import check_config, from_settings
from alerts.service import AlertsService
from rxsight.runtime import Runtime, Service

__all__ = ["AlertsService", "build", "check_config", "router"]


def build(runtime: Runtime) -> Service | None:
    """The dispatcher and the outbox; an invalid alerts section stops the start (ConfigError
    names the file, each path and the reason)."""
    return AlertsService(runtime, from_settings(runtime.settings))
