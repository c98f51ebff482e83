"""The `rules:` configuration section: thresholds, owners, severities, custom rule files."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import yaml
from pydantic import Field, TypeAdapter, ValidationError, create_model, field_validator

from rules import families, sla
from rxsight.config import (
    ConfigError,
    Settings,
    Strict,
    config_source,
    format_validation_errors,
    read_section,
)

SEVERITIES = ("info", "warning", "critical")


@cache
def _thresholds_model(every_family: bool) -> type[Strict]:
    """`rules.thresholds` (every_family) or `rules.sites.<site>` (families whose thresholds a
    site may override): one field per family folder that has thresholds. Made on first use,
    so the registry is read when a configuration is, not when a module is imported."""
    fields: dict[str, Any] = {
        f.name: (f.thresholds, f.thresholds())
        for f in families.all_families()
        if f.thresholds is not None and (every_family or f.per_site)
    }
    name = "GlobalThresholds" if every_family else "SiteThresholds"
    return create_model(name, __base__=Strict, **fields)


@cache
def _sites_adapter() -> TypeAdapter[dict[str, Any]]:
    return TypeAdapter(dict[str, _thresholds_model(every_family=False)])  # type: ignore[misc]


class OwnerRule(Strict):
    """First matching entry wins; `owner` may name finding fields, e.g. "{site}-pharmacy"."""

    family: str | None = None
    reason: str | None = None
    site: str | None = None
    domain: str | None = None
    flow: str | None = None
    owner: str = Field(min_length=1)


class RulesConfig(Strict):
    enabled: bool = True
    # The periodic run: conditions that only the clock makes true and no pending finding
    # announces (a flow falling silent, custom rules) are found within this.
    interval_s: float = Field(default=15, gt=0)
    # A run also starts as soon as the collector has stored new facts, and at the instant a
    # pending finding comes due (a limit or grace period running out); never sooner than
    # `min_gap_s` after the previous run started, so a steady stream of batches costs at
    # most one run per gap.
    on_ingest: bool = True
    min_gap_s: float = Field(default=0.5, ge=0)
    # Scheduled runs between these look only at open and touched entities.
    full_every_s: float = Field(default=600, gt=0)
    # Per family (rules/families/<family>): validated against the family's own model.
    thresholds: Any = Field(default=None, validate_default=True)
    sites: dict[str, Any] = Field(default={}, validate_default=True)
    owners: tuple[OwnerRule, ...] = ()
    default_owner: str | None = None
    severities: dict[str, str] = {}
    disabled: tuple[str, ...] = ()
    # Custom rule files: directories (every *.yaml / *.yml inside) or single files,
    # relative to the configuration file.
    custom: tuple[str, ...] = ()
    # The exception SLA clock (rules/sla.py validates it): family -> class -> targets.
    sla: dict[str, Any] = {}

    @field_validator("thresholds", mode="before")
    @classmethod
    def _family_thresholds(cls, v: Any) -> Any:
        return _thresholds_model(every_family=True).model_validate(v or {})

    @field_validator("sites", mode="before")
    @classmethod
    def _site_thresholds(cls, v: Any) -> Any:
        return _sites_adapter().validate_python(v or {})

    @field_validator("severities")
    @classmethod
    def _known_severities(cls, v: dict[str, str]) -> dict[str, str]:
        for key, sev in v.items():
            if sev not in SEVERITIES:
                raise ValueError(f"{key}: severity {sev!r} is not one of {', '.join(SEVERITIES)}")
        return v


class CustomRuleFile(Strict):
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


def parse_rules_config(settings: Settings) -> RulesConfig:
    try:
        cfg = read_section(settings, "rules", RulesConfig)
    except ConfigError as exc:
        raise RulesConfigError([f"{exc.source}: {p}" for p in exc.problems]) from exc
    try:
        sla.parse(cfg.sla, config_source(settings))
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
    builtin_ids = families.builtin_ids()
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
def threshold_arrays(cfg: RulesConfig) -> tuple[list[str], list[int]]:
    """Lookup arrays for the queries: keys `name|site` (site `*` = every other site)."""
    keys: list[str] = []
    values: list[int] = []

    def add(section: Any, site: str, with_defaults: bool) -> None:
        for f in families.all_families():
            if f.threshold_values is None or (site != "*" and not f.per_site):
                continue
            for name, value in f.threshold_values(getattr(section, f.name), with_defaults).items():
                keys.append(f"{name}|{site}")
                values.append(value)

    add(cfg.thresholds, "*", True)
    for site, t in cfg.sites.items():
        add(t, site, False)
    return keys, values


def family_thresholds(cfg: RulesConfig, family: str, site: str | None = None) -> Any:
    """A family's threshold section: the site's overrides when a site is given (None when the
    site sets none), else the global one."""
    if site is None:
        return getattr(cfg.thresholds, family)
    at_site = cfg.sites.get(site)
    return None if at_site is None else getattr(at_site, family, None)


def check(settings: Settings) -> list[str]:
    """Problems `rxsight config check` reports for the rules section and custom rules."""
    try:
        loaded = load(settings)
    except RulesConfigError as exc:
        return exc.problems
    problems = list(loaded.problems)
    known = set(families.names()) | {r.family for r in loaded.custom}
    for i, o in enumerate(loaded.config.owners):
        if o.family and o.family not in known:
            problems.append(f"rules.owners.{i}.family: unknown family {o.family!r}")
    return problems
