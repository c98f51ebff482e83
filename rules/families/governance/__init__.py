"""governance: ungoverned, uncorrelated, deprecated and stale interfaces (DESIGN 5.8).

Per flow and per source system over the last 24 h as of T. A flow is registered when
`flows:` names it, a source system when `source_systems:` does; `unregistered_flow` applies
only once that section lists any (with none, every interface would be flagged). The
portfolio catalog (rules/portfolio.py) reads the same query with include_ok, over its own period.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from pydantic import Field

from rules.families import Details, Entity, Family, Rule
from rxsight.config import Settings, Strict
from rxsight.timeutil import summary_time

REASONS = ("unregistered_flow", "low_correlation_coverage", "deprecated_api", "stale_flow")
DAY_MS = 86_400_000


class GovernanceThresholds(Strict):
    window_hours: float = Field(default=24, ge=1, le=24 * 31)
    min_spans: int = Field(default=20, ge=1)
    min_coverage_pct: Decimal = Field(default=Decimal(95), ge=0, le=100)
    # For registered flows without their own `flows.<name>.stale_days`.
    stale_days: int = Field(default=30, ge=1, le=365)


def query_params(section: GovernanceThresholds, settings: Settings) -> dict[str, Any]:
    flows = settings.config.flows
    deprecated = [(name, v) for name, f in flows.items() for v in f.deprecated_versions]
    return {
        "gov_window_ms": int(Decimal(str(section.window_hours)) * 3_600_000),
        "gov_min_spans": section.min_spans,
        "gov_coverage_ppm": int(section.min_coverage_pct * 10_000),
        "gov_flows": list(flows),
        "gov_stale_ms": [(f.stale_days or section.stale_days) * DAY_MS for f in flows.values()],
        "gov_dep_flows": [name for name, _ in deprecated],
        "gov_dep_versions": [v for _, v in deprecated],
        "gov_sources": list(settings.config.source_systems),
    }


def _what(d: Details) -> str:
    kind = "source system" if d.get("kind") == "source_system" else "flow"
    return f"{kind} {d.get('name')}"


def _sent(d: Details) -> str:
    volume = d.get("volume")
    what = "event" if d.get("kind") == "source_system" else "span"
    return f"{volume} {what}{'' if volume == '1' else 's'}"


def summarize(reason: str, e: Entity, d: Details) -> str:
    if reason == "unregistered_flow":
        return f"{_what(d)} is not registered: {_sent(d)} in the last {d.get('window_hours')} h"
    if reason == "low_correlation_coverage":
        return (
            f"{_what(d)}: {d.get('correlated')} of {d.get('volume')} spans carry a correlation ID"
        )
    if reason == "deprecated_api":
        return (
            f"{_what(d)} still calls deprecated API {d.get('deprecated_versions')} "
            f"({d.get('deprecated_calls')} calls in the last {d.get('window_hours')} h)"
        )
    last = d.get("last_seen")
    seen = f"last seen {summary_time(last)}" if last else "never seen"
    return f"{_what(d)}: no span for {d.get('stale_days')} days ({seen}), a retirement candidate"


def severity_of(reason: str, details: Details) -> str | None:
    # A retirement candidate is for the quarterly review, not for waking anyone.
    return "info" if reason == "stale_flow" else None


FAMILY = Family(
    name="governance",
    order=80,
    description="Ungoverned, uncorrelated, deprecated and stale interfaces",
    rules=(
        Rule(
            "governance",
            "Flows and source systems: unregistered, low correlation coverage, deprecated API "
            "versions, stale",
            "governance",
        ),
    ),
    default_owner="integration-governance",
    default_severity="warning",
    summarize=summarize,
    severity_of=severity_of,
    thresholds=GovernanceThresholds,
    per_site=False,
    query_params=query_params,
    alert_labels=("flow",),
    module_file=__file__,
)
