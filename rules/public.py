"""The rules stage's public functions, for the console and other stages (signatures fixed)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from rules import actions, families, lifecycle, replenishments
from rules import config as rules_config
from rules import portfolio as governance_portfolio
from rules import sla as rules_sla
from rules.actions import MAX_BULK as MAX_BULK
from rules.actions import InvalidField as InvalidField
from rules.definitions import (
    builtin_params,
    put_scope,
    rule_defs,
)
from rules.engine import evaluate
from rules.families.sla_breach import TierObjective, tier_objectives
from rules.families.unmatched_invoice import price_tolerance_pct
from rules.incremental import billed_together
from rules.lifecycle import COUNT_CAP as COUNT_CAP  # where the list's count stops
from rules.lifecycle import EXCEPTIONS_TABLE as EXCEPTIONS_TABLE  # where exception changes go
from rules.masterdata.crosswalk import history as masterdata_history  # noqa: F401 - the console's
from rules.masterdata.crosswalk import names as crosswalk_names  # noqa: F401
from rules.masterdata.crosswalk import search as masterdata_search  # noqa: F401
from rules.masterdata.rows import KINDS as MASTERDATA_KINDS  # noqa: F401
from rules.replenishments import OpenReplenishment as OpenReplenishment
from rules.replenishments import ReplenishmentPage as ReplenishmentPage
from rules.replenishments import page as replenishments_page  # noqa: F401 - the console's
from rules.sla import DUE_STATES as DUE_STATES  # re-exported: the console's filter
from rules.sla import SlaClock as SlaClock
from rules.status import FlowStatus as FlowStatus
from rules.status import RuleStatus as RuleStatus
from rules.status import flows as flows
from rules.status import rule_status as rule_status
from rxsight.config import Settings
from rxsight.store import Store
from rxsight.timeutil import as_utc

# The portfolio catalog (DESIGN 5.8): portfolio(store, settings, as_of, days) -> Portfolio.
Portfolio = governance_portfolio.Portfolio
PortfolioEntry = governance_portfolio.PortfolioEntry
portfolio = governance_portfolio.portfolio
PORTFOLIO_COLUMNS = governance_portfolio.COLUMNS
PORTFOLIO_DEFAULT_DAYS = governance_portfolio.DEFAULT_DAYS
PORTFOLIO_MAX_DAYS = governance_portfolio.MAX_DAYS

ACTIONS = ("ack", "assign", "comment", "resolve", "reopen")
# Labels every alert carries (when the exception has a value for them).
COMMON_ALERT_LABELS = ("family", "reason", "site", "owner", "severity", "domain")
# A custom family may return any finding column; its alerts get every label.
_CUSTOM_ALERT_LABELS = ("flow", "tier")


@dataclass(frozen=True)
class FamilyInfo:
    name: str
    description: str
    default_owner: str
    default_severity: str
    rule_ids: tuple[str, ...]
    reasons: tuple[str, ...] = ()


def family_list() -> list[FamilyInfo]:
    """The built-in families in their listing order (one folder each in rules/families)."""
    return [
        FamilyInfo(
            f.name,
            f.description,
            f.default_owner,
            f.default_severity,
            tuple(r.id for r in f.rules),
            f.reasons,
        )
        for f in families.all_families()
    ]


def alert_labels(family: str) -> tuple[str, ...]:
    """The exception fields an alert of this family carries as labels."""
    known = families.by_name().get(family)
    extra = _CUSTOM_ALERT_LABELS if known is None else known.alert_labels
    return COMMON_ALERT_LABELS + extra


def price_tolerance(settings: Settings, site: str | None) -> Decimal:
    """The percentage by which an invoice price may differ from the PO's at a site, as the
    unmatched_invoice rule applies it (the site's setting, else the global one)."""
    cfg = rules_config.parse_rules_config(settings)
    everywhere = rules_config.family_thresholds(cfg, "unmatched_invoice")
    at_site = rules_config.family_thresholds(cfg, "unmatched_invoice", site) if site else None
    return price_tolerance_pct(everywhere, at_site)


def tier_objective_list(settings: Settings) -> list[TierObjective]:
    """Each SLA tier's objectives as configured (defaults: DESIGN 5)."""
    cfg = rules_config.parse_rules_config(settings)
    return list(tier_objectives(rules_config.family_thresholds(cfg, "sla_breach")).values())


def list_exceptions(
    store: Store,
    *,
    family: str | None = None,
    reason: str | None = None,
    status: str | None = None,
    site: str | None = None,
    owner: str | None = None,
    since: datetime | None = None,
    q: str | None = None,
    sort: str = "age",
    limit: int = 50,
    offset: int = 0,
    due: str | None = None,
    sla: SlaClock | None = None,
    assignees: list[str] | None = None,
    priority: str | None = None,
    supplier: str | None = None,
    item: str | None = None,
    flow: str | None = None,
    as_of: datetime | None = None,
    count_cap: int | None = None,
) -> tuple[list[dict[str, Any]], int]:
    """Current state of matching exceptions (oldest first by default) and the total count.
    Each row carries its SLA clock (ack_due, resolve_due, next_due, due_state) from `sla`;
    `due` filters on due_state and sort="due" puts the clock running out first on top;
    `assignees` keeps those assigned to any of them ("" = nobody); priority and flow are
    exact, supplier and item case-insensitive prefixes. `as_of`: each exception as it stood
    then (default now), its clock read at that instant. `count_cap`: counting stops past it,
    the total is then count_cap + 1 ("more than count_cap"); exact below it (and without)."""
    return lifecycle.list_exceptions(
        store,
        family=family,
        reason=reason,
        status=status,
        site=site,
        owner=owner,
        since=since,
        q=q,
        sort=sort,
        limit=limit,
        offset=offset,
        due=due,
        sla=sla,
        assignees=assignees,
        narrow={"priority": priority, "supplier": supplier, "item": item, "flow": flow},
        now=as_of,
        count_cap=count_cap,
    )


def sla_clock(settings: Settings) -> SlaClock:
    """The configured exception SLA clock (`rules: sla:`); see rules/sla.py."""
    return rules_sla.load(settings)


def get_exception(
    store: Store, exception_id: str, as_of: datetime | None = None
) -> dict[str, Any] | None:
    """Current state plus "history": every change, oldest first; None when unknown. With
    `as_of`: the state and history as they stood then (None if it did not exist yet)."""
    return lifecycle.get_exception(store, exception_id, as_of)


def act(
    store: Store,
    exception_id: str,
    action: str,
    actor: str,
    *,
    comment: str | None = None,
    assignee: str | None = None,
) -> dict[str, Any]:
    """Apply a person's action (one of ACTIONS), audit-logged; returns the new state.
    KeyError: unknown exception. ValueError: the action does not apply (message says why)."""
    return lifecycle.act(store, exception_id, action, actor, comment=comment, assignee=assignee)


# A person's action through every door (API, console, command line through the API):
# rxsight.authz on the exception's owner, the assignee a configured user or team,
# audit-logged. act_as raises InvalidField (names the field), KeyError (unknown), Refused
# (authz), ValueError (does not apply now); act_on_many gives each selected one its Outcome.
act_as = actions.act
act_on_many = actions.act_on_many


def open_replenishments(
    store: Store, settings: Settings, as_of: datetime | None = None
) -> list[OpenReplenishment]:
    """Every open replenishment request with its age and whether it is late, oldest first."""
    return replenishments.open_at(store, settings, as_of)


def query_params(settings: Settings, as_of: datetime) -> dict[str, Any]:
    """The bound parameters the built-in rule queries judge by (threshold lookup arrays `tk`/
    `tv`, SLA window, tier limits, configured flow tiers): for another stage's query that
    must judge exactly as the rules do (the KPIs)."""
    return builtin_params(rules_config.parse_rules_config(settings), settings, as_of)


def findings_as_of(
    store: Store, settings: Settings, as_of: datetime, family: str
) -> list[dict[str, Any]]:
    """The findings of one family's rules as of an instant (a full evaluation, persisted
    nowhere), as the API's evaluation answers them."""
    loaded = rules_config.load(settings)
    only = {r.id for r in rule_defs(loaded) if r.family == family}
    if not only:
        return []
    result = evaluate(store, loaded, settings, as_utc(as_of), only=only)
    return [f.as_json() for f in result.findings if f.family == family]


def stored_findings(
    store: Store,
    settings: Settings,
    as_of: datetime,
    family: str,
    entity: tuple[str, ...],
    *,
    po_numbers: list[str] | None = None,
    with_since: bool = False,
) -> str:
    """The findings of findings_as_of, stored for another stage's query to read: returns the
    run id under which rules_scope holds each finding as its `entity` fields joined by "/",
    a tab, and its reason (with `with_since`, another tab and its `since` in epoch
    milliseconds). `po_numbers` (unmatched_invoice): only the invoices billing these POs are
    judged, with every PO billed together with them, as a scheduled run scopes them. Raises
    RuntimeError when a rule of the family fails."""
    loaded = rules_config.load(settings)
    only = {r.id for r in rule_defs(loaded) if r.family == family}
    scope = None
    if po_numbers is not None:
        together = billed_together(store, [], po_numbers)
        scope = {rule_id: together for rule_id in only}
    found: tuple = ()
    if only:
        result = evaluate(store, loaded, settings, as_utc(as_of), only=only, scope=scope)
        if result.failed_rules:
            # No findings from a failed rule is not "no findings": the reader must not count it.
            failed = [r.error for r in result.runs if r.error]
            raise RuntimeError(f"{family} could not be evaluated: {'; '.join(map(str, failed))}")
        found = result.findings
    keys = [
        "/".join(getattr(f, field) or "" for field in entity)
        + "\t"
        + f.reason
        + (f"\t{round(f.since.timestamp() * 1000)}" if with_since else "")
        for f in found
        if f.family == family
    ]
    return put_scope(store, f"{family} findings", keys)
