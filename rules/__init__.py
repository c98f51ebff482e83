"""Rules: built-in rule families and custom rules, as-of evaluation, exception lifecycle."""

from __future__ import annotations

from fastapi import APIRouter

from rxsight.runtime import Runtime, Service

router = APIRouter(prefix="/api", tags=["rules"])


def build(runtime: Runtime) -> Service | None:
    return None
