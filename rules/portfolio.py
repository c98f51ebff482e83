"""The portfolio catalog (DESIGN 5.8): every flow and source system, registered or seen, with
its owner, tier, first and last seen, and over a review period its volume, error rate,
correlation coverage and the API versions it called; the quarterly sprawl review.

The facts are the governance query's own (include_ok, its window set to the period), so the
catalog and the findings never disagree about what a flow sent; the status beside each entry
is the governance finding as of the instant (its own 24 h window)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from rules import config as rules_config
from rules.definitions import builtin_params, builtin_rules, builtin_sql
from rxsight.config import Settings
from rxsight.store import Store
from rxsight.timeutil import as_utc, rfc3339

DEFAULT_DAYS = 91  # a quarter
MAX_DAYS = 400  # what the hourly inventory keeps
COLUMNS = (
    "kind",
    "name",
    "owner",
    "tier",
    "domain",
    "registered",
    "status",
    "first_seen",
    "last_seen",
    "volume",
    "errors",
    "error_rate",
    "correlation_coverage",
    "api_versions",
    "deprecated_versions",
)


@dataclass(frozen=True)
class ApiVersionSeen:
    version: str
    calls: int
    deprecated: bool


@dataclass(frozen=True)
class PortfolioEntry:
    kind: str  # flow | source_system
    name: str
    owner: str | None
    tier: int | None  # flows: configured, else declared by its spans, else 3
    domain: str | None
    registered: bool
    status: str  # the governance reason as of the instant, else "ok"
    first_seen: str | None
    last_seen: str | None
    volume: int  # spans (flows) or events (source systems) in the period
    errors: int | None  # flows only: spans with status Error
    error_rate: float | None
    correlation_coverage: float | None  # a fraction of the period's volume
    api_versions: tuple[ApiVersionSeen, ...]
    deprecated_versions: tuple[str, ...]  # configured for the flow

    def row(self) -> dict[str, Any]:
        """One line of the CSV / XLSX export."""
        return {
            **{c: getattr(self, c) for c in COLUMNS if c not in ("api_versions",)},
            "api_versions": ", ".join(
                f"{v.version} ({v.calls}{', deprecated' if v.deprecated else ''})"
                for v in self.api_versions
            ),
        }


@dataclass(frozen=True)
class Portfolio:
    as_of: datetime
    start: datetime  # the period is (start, as_of]
    days: float
    entries: list[PortfolioEntry]


def portfolio(
    store: Store, settings: Settings, as_of: datetime, days: float = DEFAULT_DAYS
) -> Portfolio:
    if not 0 < days <= MAX_DAYS:
        raise ValueError(f"days must be more than 0 and at most {MAX_DAYS}")
    when = as_utc(as_of)
    cfg = rules_config.parse_rules_config(settings)
    params = builtin_params(cfg, settings, when)
    rule = next(r for r in builtin_rules() if r.id == "governance")
    sql = builtin_sql(rule)
    status = {row["entity"]: row["reason"] for row in store.query(sql, params)}
    period = {**params, "include_ok": 1, "gov_window_ms": int(days * 86_400_000)}
    entries = [_entry(row, settings, status) for row in store.query(sql, period)]
    entries.sort(key=lambda e: (e.kind, e.name))
    return Portfolio(when, when - timedelta(days=days), days, entries)


def _entry(row: dict[str, Any], settings: Settings, status: dict[str, str]) -> PortfolioEntry:
    kind, name = row["kind"], row["name"]
    volume = int(row["volume"])
    if kind == "flow":
        flow = settings.config.flows.get(name)
        deprecated = flow.deprecated_versions if flow else ()
        owner, domain = (flow.owner, flow.domain) if flow else (None, None)
        tier: int | None = (flow.tier if flow else None) or int(row["declared"]) or 3
        errors: int | None = int(row["errors"])
    else:
        source = settings.config.source_systems.get(name)
        deprecated = ()
        owner, domain = (source.owner, source.domain) if source else (None, None)
        tier, errors = None, None
    return PortfolioEntry(
        kind=kind,
        name=name,
        owner=owner,
        tier=tier,
        domain=domain,
        registered=bool(row["registered"]),
        status=status.get(f"{kind}/{name}") or "ok",
        first_seen=rfc3339(row["first_seen"]),
        last_seen=rfc3339(row["last_seen"]),
        volume=volume,
        errors=errors,
        error_rate=round(errors / volume, 6) if errors is not None and volume else None,
        correlation_coverage=round(int(row["correlated"]) / volume, 6) if volume else None,
        api_versions=tuple(ApiVersionSeen(v, int(n), v in deprecated) for v, n in row["versions"]),
        deprecated_versions=tuple(deprecated),
    )
