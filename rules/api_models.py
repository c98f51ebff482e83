"""The answers of the rules stage's API (rules/api.py) in the OpenAPI document."""

from __future__ import annotations

from typing import Any

from pydantic import ConfigDict, Field, create_model

from rules.findings import ENTITY_FIELDS
from rules.lifecycle import COUNT_CAP
from rxsight.audit import AuditEntry
from rxsight.openapi import ApiModel, ApiRow, DecimalText, Instant, Number


class _FindingBase(ApiRow):
    rule_id: str
    family: str
    reason: str
    key: str
    severity: str
    owner: str
    since: Instant
    summary: str
    details: dict[str, Any]
    domain: str | None
    tier: str | None


# The entity columns a finding names (correlation_id, site, po_number, ...), as the engine
# lists them.
Finding = create_model(
    "Finding", __base__=_FindingBase, **{name: (str | None, ...) for name in ENTITY_FIELDS}
)


class RuleError(ApiModel):
    rule_id: str
    error: str


class Evaluation(ApiModel):
    as_of: Instant
    persisted: bool = Field(description="exceptions were opened and resolved from the findings")
    duration_s: Number
    findings: list[Finding]  # type: ignore[valid-type]
    errors: list[RuleError] = Field(description="rules that failed (the others still ran)")


class RuleState(ApiRow):
    model_config = ConfigDict(from_attributes=True)

    id: str | None
    family: str | None
    description: str
    kind: str = Field(description="builtin or custom")
    source: str
    enabled: bool
    last_run: Instant | None
    duration_s: Number | None
    findings: int | None
    last_error: str | None
    incremental: bool = Field(description="the latest run looked only at touched entities")


class Rules(ApiModel):
    rules: list[RuleState]


class ExceptionState(ApiRow):
    """An exception as it stands (its latest version). Empty text columns are ""."""

    exception_id: str
    version: int
    at: Instant
    change: str
    status: str = Field(description="open, acknowledged or resolved")
    actor: str
    comment: str
    assignee: str
    rule_id: str
    family: str
    reason: str
    severity: str
    owner: str
    site: str
    domain: str
    flow: str
    tier: str
    correlation_id: str
    po_number: str
    invoice_number: str
    supplier_id: str
    receipt_id: str
    since: Instant
    opened_at: Instant
    summary: str
    details: dict[str, Any]
    age_s: Number | None = None
    due_state: str | None = Field(None, description="the SLA clock: none, ok, due_soon, overdue")
    ack_due: Instant | None = None
    resolve_due: Instant | None = None
    next_due: Instant | None = None


class ExceptionDetail(ExceptionState):
    history: list[ExceptionState] = Field(description="every change, oldest first")
    ack_state: str
    resolve_state: str


class ExceptionPage(ApiModel):
    items: list[ExceptionState]
    total: int = Field(
        description=f"how many exceptions match, exact up to {COUNT_CAP:,}; past that "
        f"{COUNT_CAP:,} with total_capped true"
    )
    total_capped: bool = Field(
        False, description=f"more than `total` match: counting stopped at {COUNT_CAP:,}"
    )
    limit: int
    offset: int


class ActionOutcome(ApiModel):
    exception_id: str
    ok: bool
    status: str | None = Field(None, description="the new status, when ok")
    error: str | None = Field(None, description="why not, when not ok")


class BulkOutcome(ApiModel):
    done: int
    results: list[ActionOutcome]


class ExceptionAudit(ApiModel):
    items: list[AuditEntry]


class OpenReplenishment(ApiRow):
    model_config = ConfigDict(from_attributes=True)

    correlation_id: str
    site: str | None
    domain: str | None
    priority: str | None
    item_id: str | None
    quantity: DecimalText | None
    requested_at: Instant | None
    age_s: Number | None
    po_numbers: list[str]
    ordered: DecimalText | None
    received: DecimalText | None
    stage: str = Field(description="what it waits for: no_po or not_received")
    due_at: Instant | None
    late: bool
    reason: str | None


class OpenReplenishments(ApiModel):
    as_of: Instant
    items: list[OpenReplenishment]


class TierObjective(ApiModel):
    model_config = ConfigDict(from_attributes=True, extra="forbid")

    tier: int
    p95_ms: Number
    error_rate: Number = Field(description="a fraction: 0.01 is 1 %")
    silence_s: Number


class FlowState(ApiRow):
    model_config = ConfigDict(from_attributes=True)

    flow: str
    tier: int
    tier_source: str
    owner: str | None
    window_s: Number
    min_spans: int
    volume: int
    errors: int
    error_rate: Number | None
    p95_s: Number | None
    last_seen: Instant | None
    objective: TierObjective
    reason: str | None
    status: str = Field(description='"ok", "never_seen" or the breach reason')


class Flows(ApiModel):
    as_of: Instant
    flows: list[FlowState]


class ApiVersionSeen(ApiModel):
    model_config = ConfigDict(from_attributes=True, extra="forbid")

    version: str
    calls: int
    deprecated: bool


class PortfolioEntry(ApiRow):
    model_config = ConfigDict(from_attributes=True)

    kind: str = Field(description="flow or source_system")
    name: str
    owner: str | None
    tier: int | None
    domain: str | None
    registered: bool
    status: str = Field(description='the governance reason as of the instant, else "ok"')
    first_seen: Instant | None
    last_seen: Instant | None
    volume: int = Field(description="spans (flows) or events (source systems) in the period")
    errors: int | None = Field(description="flows only: spans with status Error")
    error_rate: Number | None
    correlation_coverage: Number | None = Field(description="a fraction of the volume")
    api_versions: list[ApiVersionSeen]
    deprecated_versions: list[str]


class Portfolio(ApiModel):
    as_of: Instant
    from_: Instant = Field(alias="from", description="the period is (from, as_of]")
    days: Number
    entries: list[PortfolioEntry]
