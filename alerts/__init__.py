"""Alerts: routing tree, grouping, silences, inhibition, escalation, signed webhook delivery."""

from __future__ import annotations

from fastapi import APIRouter

from rxsight.runtime import Runtime, Service

router = APIRouter(prefix="/api", tags=["alerts"])


def build(runtime: Runtime) -> Service | None:
    return None
