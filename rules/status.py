"""What the rules stage reports about its flows and its rules: each flow against its tier's
objective, each rule's last run (read through rules.public)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from rules import config as rules_config
from rules.definitions import RuleDef, builtin_params, builtin_rules, builtin_sql, rule_defs
from rules.families.sla_breach import TierObjective, tier_objectives
from rules.service import RulesService
from rxsight.config import Settings
from rxsight.runtime import Runtime
from rxsight.store import Store
from rxsight.timeutil import as_utc, rfc3339, utcnow


@dataclass(frozen=True)
class FlowStatus:
    """One integration flow against its tier's objective (rates judged with min_spans)."""

    flow: str
    tier: int
    tier_source: str
    owner: str | None
    window_s: float
    min_spans: int
    volume: int
    errors: int
    error_rate: float | None
    p95_s: float | None
    last_seen: str | None
    objective: TierObjective
    reason: str | None
    status: str  # "ok", "never_seen" or the breach reason

    @property
    def judged(self) -> bool:
        return self.volume >= self.min_spans


@dataclass(frozen=True)
class RuleStatus:
    id: str | None
    family: str | None
    description: str
    kind: str  # builtin | custom
    source: str
    enabled: bool
    last_run: str | None
    duration_s: float | None
    findings: int | None
    last_error: str | None
    # The latest scheduled run looked only at open and touched entities.
    incremental: bool = False


def flows(store: Store, settings: Settings, as_of: datetime | None = None) -> list[FlowStatus]:
    """Each flow: tier, volume, error rate, p95, last seen, status against its tier."""
    when = as_utc(as_of or utcnow())
    cfg = rules_config.parse_rules_config(settings)
    params = {**builtin_params(cfg, settings, when), "include_ok": 1}
    section = rules_config.family_thresholds(cfg, "sla_breach")
    objectives = tier_objectives(section)
    window_s = params["window_ms"] / 1000
    out = []
    seen = set()
    sla = next(r for r in builtin_rules() if r.id == "sla_breach")
    for row in store.query(builtin_sql(sla), params):
        n = int(row["window_spans"])
        errs = int(row["window_errors"])
        flow = row["flow"]
        seen.add(flow)
        conf = settings.config.flows.get(flow)
        tier = int(row["tier"])
        out.append(
            FlowStatus(
                flow=flow,
                tier=tier,
                tier_source="config" if conf and conf.tier else "span or default",
                owner=conf.owner if conf else None,
                window_s=window_s,
                min_spans=section.min_spans,
                volume=n,
                errors=errs,
                error_rate=round(errs / n, 6) if n else None,
                p95_s=round(int(row["p95_ns"]) / 1e9, 6) if n else None,
                last_seen=rfc3339(row["last_seen"]),
                objective=TierObjective(
                    tier,
                    p95_ms=int(row["limit_ns"]) / 1e6,
                    error_rate=int(row["error_ppm"]) / 1e6,
                    silence_s=int(row["silence_ms"]) / 1000,
                ),
                reason=row["reason"] or None,
                status=row["reason"] or "ok",
            )
        )
    for name, conf in settings.config.flows.items():
        if name not in seen:
            tier = conf.tier or 3
            out.append(
                FlowStatus(
                    flow=name,
                    tier=tier,
                    tier_source="config" if conf.tier else "default",
                    owner=conf.owner,
                    window_s=window_s,
                    min_spans=section.min_spans,
                    volume=0,
                    errors=0,
                    error_rate=None,
                    p95_s=None,
                    last_seen=None,
                    objective=objectives[tier],
                    reason=None,
                    status="never_seen",
                )
            )
    out.sort(key=lambda r: r.flow)
    return out


def rule_status(runtime: Runtime) -> list[RuleStatus]:
    """Each rule: id, family, enabled, last run, duration, findings, last error."""
    svc = runtime.rules
    if not isinstance(svc, RulesService):
        loaded = rules_config.load(runtime.settings)
        last_runs: dict[str, Any] = {}
        last_at = None
        incremental = False
    else:
        loaded = svc.loaded
        last_runs = svc.last_runs
        last_at = svc.last_run_at
        incremental = svc.last_scheduled_scoped
    out = []
    active = {r.id for r in rule_defs(loaded)}
    all_defs = list(builtin_rules()) + [r for r in rule_defs(loaded) if r.custom is not None]
    for c in loaded.custom:
        if c.id not in active:
            all_defs.append(RuleDef(c.id, c.family, c.description, custom=c))
    for rule in all_defs:
        run = last_runs.get(rule.id)
        out.append(
            RuleStatus(
                id=rule.id,
                family=rule.family,
                description=rule.description,
                kind="custom" if rule.custom else "builtin",
                source=rule.source,
                enabled=rule.id in active,
                last_run=rfc3339(last_at) if run else None,
                duration_s=round(run.duration_s, 4) if run else None,
                findings=run.findings if run else None,
                last_error=run.error if run else None,
                incremental=bool(incremental and rule.scope_key is not None),
            )
        )
    for problem in loaded.problems:
        out.append(
            RuleStatus(
                id=None,
                family=None,
                description="custom rule file not loaded",
                kind="custom",
                source=problem.split(":", 1)[0],
                enabled=False,
                last_run=None,
                duration_s=None,
                findings=None,
                last_error=problem,
            )
        )
    return out
