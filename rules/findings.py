"""Findings: what a rule's result rows become (entity, owner, severity, summary, details)."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from functools import cache
from typing import Any

import msgspec
import orjson

from rules import families
from rules.config import RulesConfig
from rules.definitions import RuleDef
from rxsight.config import Settings
from rxsight.timeutil import as_utc, rfc3339

ENTITY_FIELDS = (
    "correlation_id",
    "site",
    "po_number",
    "invoice_number",
    "supplier_id",
    "receipt_id",
    "flow",
)
# Columns a rule query may return; `reason` is required, the rest default to empty.
FINDING_COLUMNS = (
    "reason",
    "since",
    "entity",
    "domain",
    "tier",
    "summary",
    "details",
    "severity",
    "owner",
    *ENTITY_FIELDS,
)


class Finding(msgspec.Struct, frozen=True, gc=False):
    """One entity's condition. A full run makes one per open entity (100,000s), and the
    scheduler carries them from run to run: a struct is cheaper to make than a frozen
    dataclass, and is not tracked by the cyclic garbage collector (it holds no cycles), whose
    passes over 100,000s of carried findings took tens to hundreds of milliseconds a run."""

    rule_id: str
    family: str
    reason: str
    key: str
    severity: str
    owner: str
    since: datetime
    summary: str
    details: dict[str, Any]
    correlation_id: str | None
    site: str | None
    po_number: str | None
    invoice_number: str | None
    supplier_id: str | None
    receipt_id: str | None
    flow: str | None
    domain: str | None
    tier: str | None

    def as_json(self) -> dict[str, Any]:
        return {
            "rule_id": self.rule_id,
            "family": self.family,
            "reason": self.reason,
            "key": self.key,
            "severity": self.severity,
            "owner": self.owner,
            "since": rfc3339(self.since),
            "summary": self.summary,
            "details": self.details,
            **{f: getattr(self, f) for f in ENTITY_FIELDS},
            "domain": self.domain,
            "tier": self.tier,
        }


def _text(value: Any) -> str | None:
    if value.__class__ is str:
        return value or None
    if value is None:
        return None
    return str(value) or None


class FindingMaker:
    """Makes one rule's findings from its result rows. Runs once per open entity (100,000s
    in a full run), so what is the same for every row (where each column is, the owner when
    no owner rule can depend on the row, the severity per reason) is worked out once."""

    def __init__(
        self,
        rule: RuleDef,
        columns: tuple[str, ...],
        cfg: RulesConfig,
        settings: Settings,
        as_of: datetime,
    ) -> None:
        at = {name: i for i, name in enumerate(columns)}
        self.rule, self.cfg, self.settings = rule, cfg, settings
        self.as_of = as_utc(as_of)
        self.reason_at = at.get("reason")
        self.entity_at = tuple(at.get(f) for f in ENTITY_FIELDS)
        self.since_at, self.entity_name_at = at.get("since"), at.get("entity")
        self.details_at, self.domain_at = at.get("details"), at.get("domain")
        self.tier_at, self.summary_at = at.get("tier"), at.get("summary")
        self.severity_at, self.owner_at = at.get("severity"), at.get("owner")
        self.key_prefix = f"{rule.id}:"
        # Without owner rules, a finding's owner depends on its flow alone.
        self.owners: dict[str | None, str] | None = None if cfg.owners else {}
        self.severities: dict[tuple[str, Any], str] = {}

    def __call__(self, row: tuple) -> Finding:
        if self.reason_at is None:
            raise ValueError("the query must return a `reason` column")
        rule = self.rule
        family = rule.family
        reason = str(row[self.reason_at])
        since_raw = row[self.since_at] if self.since_at is not None else None
        since = as_utc(since_raw) if isinstance(since_raw, datetime) else self.as_of
        entity_values = tuple(None if i is None else _text(row[i]) for i in self.entity_at)
        entity = self._column(row, self.entity_name_at) or "/".join(v for v in entity_values if v)
        details = _details(row[self.details_at] if self.details_at is not None else None)
        domain = self._column(row, self.domain_at)
        flow = entity_values[_FLOW]
        if domain is None and flow is not None and flow in self.settings.config.flows:
            # A flow's domain (pharmacy, supply, finance) comes from `flows:` for owner routing.
            domain = self.settings.config.flows[flow].domain
        entity_map = dict(zip(ENTITY_FIELDS, entity_values, strict=True))
        custom = rule.custom
        if custom is not None:
            severity = self._column(row, self.severity_at) or custom.severity
            owner = (
                self._column(row, self.owner_at)
                or custom.owner
                or self._owner(reason, domain, flow, entity_map)
            )
        else:
            severity = self._severity(reason, details)
            owner = self._owner(reason, domain, flow, entity_map)
        summary = self._column(row, self.summary_at) or summarize(
            family, reason, entity_map, details
        )
        return Finding(
            rule.id,
            family,
            reason,
            self.key_prefix + entity,
            severity,
            owner,
            since,
            summary,
            details,
            *entity_values,
            domain,
            self._column(row, self.tier_at),
        )

    @staticmethod
    def _column(row: tuple, at: int | None) -> str | None:
        return None if at is None else _text(row[at])

    def _severity(self, reason: str, details: dict[str, Any]) -> str:
        # Of the details, only a request's priority can change a built-in's severity.
        key = (reason, details.get("priority"))
        severity = self.severities.get(key)
        if severity is None:
            severity = self.severities[key] = severity_for(
                self.cfg, self.rule.family, reason, details
            )
        return severity

    def _owner(
        self, reason: str, domain: str | None, flow: str | None, entity: dict[str, str | None]
    ) -> str:
        if self.owners is not None and flow in self.owners:
            return self.owners[flow]
        fields: dict[str, Any] = {"family": self.rule.family, "reason": reason}
        fields.update(rule_id=self.rule.id, domain=domain, **entity)
        owner = owner_for(self.cfg, self.settings, fields)
        if self.owners is not None:
            self.owners[flow] = owner
        return owner


_FLOW = ENTITY_FIELDS.index("flow")


# The built-in rules' details: scalars, and unmatched_invoice's lines (arrays of scalars),
# decoded as tuples. The scheduler carries findings for hours, and a dict holding a list stays
# tracked by the cyclic garbage collector, whose passes walk it again and again; tuples and
# dicts of plain values drop out of its sight after one pass.
_Scalar = str | int | float | bool | None


@cache
def _details_decoder() -> msgspec.json.Decoder:
    return msgspec.json.Decoder(dict[str, _Scalar | tuple[tuple[_Scalar, ...], ...]])


def _details(raw: Any) -> dict[str, Any]:
    if not raw:
        return {}
    if raw.__class__ is str:
        try:
            return _details_decoder().decode(raw)
        except msgspec.DecodeError:
            pass
        try:
            return orjson.loads(raw)  # a custom rule's JSON of any shape
        except orjson.JSONDecodeError:
            return {"text": raw}
    return {str(k): _detail_value(v) for k, v in dict(raw).items()}


def _detail_value(v: Any) -> Any:
    if isinstance(v, str) and v[:1] in "[{":
        try:
            return orjson.loads(v)
        except ValueError:
            return v
    if isinstance(v, datetime):
        return rfc3339(v)
    if isinstance(v, Decimal):
        return str(v)
    return v


def severity_for(cfg: RulesConfig, family: str, reason: str, details: dict[str, Any]) -> str:
    for key in (f"{family}.{reason}", family):
        if key in cfg.severities:
            return cfg.severities[key]
    known = families.by_name().get(family)
    if known is None:
        return "warning"
    return known.severity_of(reason, details) or known.default_severity


def owner_for(cfg: RulesConfig, settings: Settings, f: dict[str, Any]) -> str:
    """Configured owner rules first (first match wins), then the flow's owner from `flows:`,
    then `default_owner`, then the family's team."""
    for rule in cfg.owners:
        if all(
            getattr(rule, attr) is None or getattr(rule, attr) == f.get(attr)
            for attr in ("family", "reason", "site", "domain", "flow")
        ):
            try:
                return rule.owner.format(**{k: (v or "") for k, v in f.items()})
            except (KeyError, IndexError, ValueError):
                return rule.owner
    flow = f.get("flow")
    if flow and flow in settings.config.flows and settings.config.flows[flow].owner:
        return settings.config.flows[flow].owner  # type: ignore[return-value]
    if cfg.default_owner:
        return cfg.default_owner
    known = families.by_name().get(f["family"])
    return known.default_owner if known is not None else "operations"


def summarize(family: str, reason: str, e: dict[str, str | None], d: dict[str, Any]) -> str:
    known = families.by_name().get(family)
    if known is None:
        return f"{family}: {reason}"
    return known.summarize(reason, e, d)
