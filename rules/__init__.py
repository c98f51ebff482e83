"""Rules: built-in rule families and custom rules, as-of evaluation, exception lifecycle."""

from __future__ import annotations

from rules import config as _config
from rules.api import router
from rules.service import RulesService
from rxsight.config import Settings
from rxsight.runtime import Runtime, Service

__all__ = ["build", "check_config", "router"]


def build(runtime: Runtime) -> Service | None:
    """The scheduler; raises RulesConfigError (file, path, reason) on a bad `rules:` section."""
    return RulesService(runtime, _config.load(runtime.settings))


def check_config(settings: Settings) -> list[str]:
    return _config.check(settings)
