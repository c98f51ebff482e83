"""Rules: built-in rule families and custom rules, as-of evaluation, exception lifecycle."""

from __future__ import annotations

from fastapi import APIRouter

from rules import api as _api
from rules import config as _config
from rules.masterdata import api as _masterdata_api
from rules.service import RulesService
from rxsight.config import Settings
from rxsight.runtime import Runtime, Service

__all__ = ["build", "check_config", "router"]

# The crosswalk's routes sit beside the rules' (not inside their router) so that each
# operation has one tag, and the API docs list it once.
router = APIRouter()
router.include_router(_api.router)
router.include_router(_masterdata_api.router, prefix="/api")


def build(runtime: Runtime) -> Service | None:
    """The scheduler; raises RulesConfigError (file, path, reason) on a bad `rules:` section."""
    return RulesService(runtime, _config.load(runtime.settings))


def check_config(settings: Settings) -> list[str]:
    return _config.check(settings)
