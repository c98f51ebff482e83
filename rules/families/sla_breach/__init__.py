"""sla_breach: integration flows breaching their tier's objectives (silence, errors, p95)."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from pydantic import Field, field_validator

from rules.families import Details, Entity, Family, Rule
from rxsight.config import Settings, Strict
from rxsight.timeutil import summary_time

TIERS = (1, 2, 3)
DEFAULT_TIERS: dict[int, dict[str, Any]] = {
    1: {"p95_seconds": 5, "error_rate_pct": Decimal(1), "silence_minutes": 15},
    2: {"p95_seconds": 60, "error_rate_pct": Decimal(2), "silence_minutes": 120},
    3: {"p95_seconds": 900, "error_rate_pct": Decimal(5), "silence_minutes": 26 * 60},
}


class TierThresholds(Strict):
    p95_seconds: float | None = Field(default=None, gt=0)
    error_rate_pct: Decimal | None = Field(default=None, ge=0, le=100)
    silence_minutes: float | None = Field(default=None, gt=0)


class SlaThresholds(Strict):
    window_minutes: float = Field(default=15, gt=0)
    min_spans: int = Field(default=20, ge=1)
    tiers: dict[int, TierThresholds] = {}

    @field_validator("tiers")
    @classmethod
    def _known_tiers(cls, v: dict[int, TierThresholds]) -> dict[int, TierThresholds]:
        bad = [t for t in v if t not in TIERS]
        if bad:
            raise ValueError(f"tiers are 1, 2 or 3, not {bad}")
        return v


@dataclass(frozen=True)
class TierObjective:
    """A tier's limits as the console shows them."""

    tier: int
    p95_ms: float
    error_rate: float  # a fraction: 0.01 is 1 %
    silence_s: float


def tier_limits(section: SlaThresholds) -> dict[int, dict[str, Any]]:
    out = {}
    for tier, defaults in DEFAULT_TIERS.items():
        given = section.tiers.get(tier, TierThresholds())
        out[tier] = {
            k: (getattr(given, k) if getattr(given, k) is not None else v)
            for k, v in defaults.items()
        }
    return out


def tier_objectives(section: SlaThresholds) -> dict[int, TierObjective]:
    return {
        tier: TierObjective(
            tier,
            p95_ms=float(Decimal(str(t["p95_seconds"])) * 1000),
            error_rate=float(Decimal(str(t["error_rate_pct"])) / 100),
            silence_s=float(Decimal(str(t["silence_minutes"])) * 60),
        )
        for tier, t in tier_limits(section).items()
    }


def query_params(section: SlaThresholds, settings: Settings) -> dict[str, Any]:
    tiers = tier_limits(section)
    flows = {name: f.tier for name, f in settings.config.flows.items() if f.tier}
    return {
        "window_ms": int(section.window_minutes * 60_000),
        "min_spans": section.min_spans,
        "silence_ms": [int(tiers[t]["silence_minutes"] * 60_000) for t in TIERS],
        "error_ppm": [int(Decimal(str(tiers[t]["error_rate_pct"])) * 10_000) for t in TIERS],
        "p95_ns": [int(Decimal(str(tiers[t]["p95_seconds"])) * 10**9) for t in TIERS],
        "cfg_flows": list(flows),
        "cfg_tiers": list(flows.values()),
    }


def summarize(reason: str, e: Entity, d: Details) -> str:
    tier = d.get("tier")
    if reason == "silence":
        return f"flow {e['flow']} (tier {tier}) silent since {summary_time(d.get('last_seen'))}"
    if reason == "error_rate":
        return f"flow {e['flow']} (tier {tier}): {d.get('errors')} errors in {d.get('spans')}"
    return f"flow {e['flow']} (tier {tier}): p95 {d.get('p95_ms')} ms over its limit"


FAMILY = Family(
    name="sla_breach",
    order=40,
    description="Integration flows breaching their tier",
    rules=(
        Rule(
            "sla_breach",
            "Integration flows breaching their tier: silence, error rate, p95 latency",
            "sla_breach",
        ),
    ),
    default_owner="integration",
    default_severity="critical",
    summarize=summarize,
    # Tiers are global: a flow's objectives do not change with the site.
    thresholds=SlaThresholds,
    per_site=False,
    query_params=query_params,
    alert_labels=("flow", "tier"),
    reasons=("silence", "error_rate", "latency"),
    module_file=__file__,
)
