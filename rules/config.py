"""The `rules:` configuration section: thresholds, owners, severities, custom rule files."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from rules import sla
from rxsight.config import Settings, format_validation_errors
from rxsight.model import FAMILIES

PRIORITIES = ("stat", "urgent", "routine")
INVOICE_REASONS = ("duplicate", "no_po", "price_variance", "no_receipt", "quantity_mismatch")
SEVERITIES = ("info", "warning", "critical")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class PriorityHours(_Strict):
    stat: float | None = Field(default=None, ge=0)
    urgent: float | None = Field(default=None, ge=0)
    routine: float | None = Field(default=None, ge=0)


class ReplenishmentThresholds(_Strict):
    po_hours: PriorityHours = PriorityHours()
    receipt_hours: PriorityHours = PriorityHours()


class InvoiceGraceHours(_Strict):
    duplicate: float | None = Field(default=None, ge=0)
    no_po: float | None = Field(default=None, ge=0)
    price_variance: float | None = Field(default=None, ge=0)
    no_receipt: float | None = Field(default=None, ge=0)
    quantity_mismatch: float | None = Field(default=None, ge=0)


class InvoiceThresholds(_Strict):
    price_tolerance_pct: Decimal | None = Field(default=None, ge=0, le=100)
    grace_hours: InvoiceGraceHours = InvoiceGraceHours()


class DelayedThresholds(_Strict):
    grace_hours: float | None = Field(default=None, ge=0)
    posting_minutes: float | None = Field(default=None, ge=0)


class TierThresholds(_Strict):
    p95_seconds: float | None = Field(default=None, gt=0)
    error_rate_pct: Decimal | None = Field(default=None, ge=0, le=100)
    silence_minutes: float | None = Field(default=None, gt=0)


class SlaThresholds(_Strict):
    window_minutes: float = Field(default=15, gt=0)
    min_spans: int = Field(default=20, ge=1)
    tiers: dict[int, TierThresholds] = {}

    @field_validator("tiers")
    @classmethod
    def _known_tiers(cls, v: dict[int, TierThresholds]) -> dict[int, TierThresholds]:
        bad = [t for t in v if t not in (1, 2, 3)]
        if bad:
            raise ValueError(f"tiers are 1, 2 or 3, not {bad}")
        return v


class Thresholds(_Strict):
    open_replenishment: ReplenishmentThresholds = ReplenishmentThresholds()
    unmatched_invoice: InvoiceThresholds = InvoiceThresholds()
    delayed_receipt: DelayedThresholds = DelayedThresholds()


class GlobalThresholds(Thresholds):
    sla_breach: SlaThresholds = SlaThresholds()


class OwnerRule(_Strict):
    """First matching entry wins; `owner` may name finding fields, e.g. "{site}-pharmacy"."""

    family: str | None = None
    reason: str | None = None
    site: str | None = None
    domain: str | None = None
    flow: str | None = None
    owner: str = Field(min_length=1)


class RulesConfig(_Strict):
    enabled: bool = True
    interval_s: float = Field(default=15, gt=0)
    # Scheduled runs between these look only at open and touched entities.
    full_every_s: float = Field(default=600, gt=0)
    thresholds: GlobalThresholds = GlobalThresholds()
    sites: dict[str, Thresholds] = {}
    owners: tuple[OwnerRule, ...] = ()
    default_owner: str | None = None
    severities: dict[str, str] = {}
    disabled: tuple[str, ...] = ()
    # Custom rule files: directories (every *.yaml / *.yml inside) or single files,
    # relative to the configuration file.
    custom: tuple[str, ...] = ()
    # The exception SLA clock (rules/sla.py validates it): family -> class -> targets.
    sla: dict[str, Any] = {}

    @field_validator("severities")
    @classmethod
    def _known_severities(cls, v: dict[str, str]) -> dict[str, str]:
        for key, sev in v.items():
            if sev not in SEVERITIES:
                raise ValueError(f"{key}: severity {sev!r} is not one of {', '.join(SEVERITIES)}")
        return v


class CustomRuleFile(_Strict):
    """One custom rule: a SQL query returning the finding columns (see rules/README)."""

    id: str = Field(min_length=1, max_length=100, pattern=r"^[A-Za-z0-9_.\-]+$")
    family: str | None = None
    description: str = ""
    enabled: bool = True
    severity: str = "warning"
    owner: str | None = None
    params: dict[str, Any] = {}
    sql: str = Field(min_length=1)

    @field_validator("severity")
    @classmethod
    def _severity(cls, v: str) -> str:
        if v not in SEVERITIES:
            raise ValueError(f"severity {v!r} is not one of {', '.join(SEVERITIES)}")
        return v


@dataclass(frozen=True)
class CustomRule:
    id: str
    family: str
    description: str
    enabled: bool
    severity: str
    owner: str | None
    params: dict[str, Any]
    sql: str
    path: str


@dataclass(frozen=True)
class LoadedRules:
    config: RulesConfig
    custom: tuple[CustomRule, ...]
    # Problems with custom rule files: each rule that fails loading is skipped, not fatal.
    problems: tuple[str, ...]


class RulesConfigError(ValueError):
    """The `rules:` section is invalid; every message names the file and the path."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        super().__init__("; ".join(problems))


DEFAULT_SEVERITY = {
    "open_replenishment": "warning",
    "unmatched_invoice": "warning",
    "delayed_receipt": "warning",
    "sla_breach": "critical",
}


def parse_rules_config(settings: Settings) -> RulesConfig:
    source = str(settings.config_path or "(no config file)")
    try:
        cfg = RulesConfig.model_validate(settings.config.rules or {})
    except ValidationError as exc:
        raise RulesConfigError(
            [f"{source}: {p}" for p in format_validation_errors(exc, prefix="rules")]
        ) from exc
    try:
        sla.parse(cfg.sla, source)
    except sla.SlaConfigError as exc:
        raise RulesConfigError(exc.problems) from exc
    return cfg


def load(settings: Settings) -> LoadedRules:
    """Validate the section and read every custom rule file; raises RulesConfigError only for
    the section itself (a bad custom rule file is reported and skipped)."""
    cfg = parse_rules_config(settings)
    base = settings.config_path.parent if settings.config_path else Path.cwd()
    custom: list[CustomRule] = []
    problems: list[str] = []
    seen: set[str] = set()
    builtin_ids = {"open_replenishment", "unmatched_invoice", "delayed_receipt", "sla_breach"}
    for entry in cfg.custom:
        target = (base / entry).resolve()
        if target.is_dir():
            files = sorted([*target.glob("*.yaml"), *target.glob("*.yml")])
        elif target.is_file():
            files = [target]
        else:
            problems.append(f"{target}: custom rule path not found")
            continue
        for path in files:
            rule, problem = _read_custom(path)
            if problem:
                problems.append(problem)
                continue
            assert rule is not None
            if rule.id in seen or rule.id in builtin_ids:
                problems.append(f"{path}: id: rule id {rule.id!r} is already used")
                continue
            seen.add(rule.id)
            custom.append(rule)
    return LoadedRules(cfg, tuple(custom), tuple(problems))


def _read_custom(path: Path) -> tuple[CustomRule | None, str | None]:
    try:
        raw = yaml.safe_load(path.read_text())
    except (OSError, yaml.YAMLError) as exc:
        return None, f"{path}: not readable YAML: {exc}"
    if not isinstance(raw, dict):
        return None, f"{path}: the top level must be a mapping"
    try:
        parsed = CustomRuleFile.model_validate(raw)
    except ValidationError as exc:
        return None, f"{path}: " + "; ".join(format_validation_errors(exc))
    return (
        CustomRule(
            id=parsed.id,
            family=parsed.family or parsed.id,
            description=parsed.description,
            enabled=parsed.enabled,
            severity=parsed.severity,
            owner=parsed.owner,
            params=dict(parsed.params),
            sql=parsed.sql,
            path=str(path),
        ),
        None,
    )


# ------------------------------------------------------------------ threshold lookups
_HOUR_MS = 3_600_000
_DEFAULT_PO_H = {"stat": 1, "urgent": 4, "routine": 24}
_DEFAULT_RECEIPT_H = {"stat": 8, "urgent": 24, "routine": 72}
_DEFAULT_INVOICE_GRACE_H = {
    "duplicate": 0,
    "no_po": 4,
    "price_variance": 0,
    "no_receipt": 48,
    "quantity_mismatch": 24,
}
DEFAULT_TIERS = {
    1: {"p95_seconds": 5, "error_rate_pct": Decimal(1), "silence_minutes": 15},
    2: {"p95_seconds": 60, "error_rate_pct": Decimal(2), "silence_minutes": 120},
    3: {"p95_seconds": 900, "error_rate_pct": Decimal(5), "silence_minutes": 26 * 60},
}


def _site_values(t: Thresholds, defaults: Thresholds | None) -> dict[str, int]:
    """Flatten one threshold set to {name: integer}; with `defaults` given, only the values
    this set overrides."""
    out: dict[str, int] = {}

    def put(name: str, value: float | Decimal | None, scale: float, default: float | None) -> None:
        if value is not None:
            out[name] = int(round(Decimal(str(value)) * Decimal(str(scale))))
        elif defaults is None and default is not None:
            out[name] = int(round(Decimal(str(default)) * Decimal(str(scale))))

    rep = t.open_replenishment
    for p in PRIORITIES:
        put(f"replenishment.po_ms.{p}", getattr(rep.po_hours, p), _HOUR_MS, _DEFAULT_PO_H[p])
        put(
            f"replenishment.receipt_ms.{p}",
            getattr(rep.receipt_hours, p),
            _HOUR_MS,
            _DEFAULT_RECEIPT_H[p],
        )
    inv = t.unmatched_invoice
    for r in INVOICE_REASONS:
        put(
            f"invoice.grace_ms.{r}",
            getattr(inv.grace_hours, r),
            _HOUR_MS,
            _DEFAULT_INVOICE_GRACE_H[r],
        )
    # ppm: the tolerance compared in exact decimal arithmetic inside the query.
    put("invoice.price_tolerance_ppm", inv.price_tolerance_pct, 10_000, 2)
    dr = t.delayed_receipt
    put("delayed.grace_ms", dr.grace_hours, _HOUR_MS, 4)
    put("delayed.posting_ms", dr.posting_minutes, 60_000, 30)
    return out


def threshold_arrays(cfg: RulesConfig) -> tuple[list[str], list[int]]:
    """Lookup arrays for the queries: keys `name|site` (site `*` = every other site)."""
    keys: list[str] = []
    values: list[int] = []
    for name, value in _site_values(cfg.thresholds, None).items():
        keys.append(f"{name}|*")
        values.append(value)
    for site, t in cfg.sites.items():
        for name, value in _site_values(t, cfg.thresholds).items():
            keys.append(f"{name}|{site}")
            values.append(value)
    return keys, values


def tier_limits(cfg: RulesConfig) -> dict[int, dict[str, Any]]:
    out = {}
    for tier, defaults in DEFAULT_TIERS.items():
        given = cfg.thresholds.sla_breach.tiers.get(tier, TierThresholds())
        out[tier] = {
            k: (getattr(given, k) if getattr(given, k) is not None else v)
            for k, v in defaults.items()
        }
    return out


def check(settings: Settings) -> list[str]:
    """Problems `rxsight config check` reports for the rules section and custom rules."""
    try:
        loaded = load(settings)
    except RulesConfigError as exc:
        return exc.problems
    problems = list(loaded.problems)
    known = set(FAMILIES) | {r.family for r in loaded.custom}
    for i, o in enumerate(loaded.config.owners):
        if o.family and o.family not in known:
            problems.append(f"rules.owners.{i}.family: unknown family {o.family!r}")
    return problems
