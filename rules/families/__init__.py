"""The rule-family registry: every folder here is one family, holding everything about it.

A family's folder has an `__init__.py` defining `FAMILY` (a `Family`) and the `.sql` files of
its built-in rules. Every list of families (evaluation, incremental planning, thresholds,
owners, severities, summaries, the console's hints and filters) is read from here; adding a
family is adding a folder.
"""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from functools import cache
from typing import Any

from pydantic import BaseModel

from rxsight.store import SqlFiles

# Details and entity fields of one finding, as the summary and severity hooks see them.
Entity = Mapping[str, str | None]
Details = Mapping[str, Any]
ThresholdValues = Callable[[Any, bool], dict[str, int]]


@dataclass(frozen=True)
class Rule:
    """One built-in rule of a family: a query in the family's folder."""

    id: str
    description: str
    sql_name: str  # `<sql_name>.sql` in the family's folder
    # The entity key the rule judges: a full run judges its candidates
    # (`<sql_name>_candidates.sql`), an incremental run the keys touched since the last run.
    # None: the rule always runs in full.
    scope_key: str | None = None
    # The column of rules/sql/touched.sql listing this rule's touched keys; None when the
    # planner works them out another way (unmatched_invoice: the POs billed together).
    touched_column: str | None = None


@dataclass(frozen=True)
class Family:
    name: str
    # Where the family is listed among the others (overview, rule list, evaluation order).
    order: int
    description: str
    rules: tuple[Rule, ...]
    default_owner: str
    default_severity: str
    summarize: Callable[[str, Entity, Details], str]
    # A severity that depends on the finding (e.g. a stat request is critical), else None.
    severity_of: Callable[[str, Details], str | None] = lambda reason, details: None
    # The `rules.thresholds.<family>` section: its model, whether `rules.sites.<site>` may
    # override it, and its values flattened to `name -> integer` for the queries' lookup
    # arrays (with_defaults False: only what the section sets).
    thresholds: type[BaseModel] | None = None
    per_site: bool = True
    threshold_values: ThresholdValues | None = None
    # Query parameters beyond the lookup arrays, from the family's global section.
    query_params: Callable[[Any, Any], dict[str, Any]] | None = None
    # The labels its alerts carry besides the common ones (family, reason, site, owner,
    # severity, domain): finding fields that tell its alerts apart.
    alert_labels: tuple[str, ...] = ()
    # Its reasons, in the order they are judged: the console offers them as filter choices
    # before any exception has one.
    reasons: tuple[str, ...] = ()
    module_file: str = field(default="", compare=False)

    @property
    def sql(self) -> SqlFiles:
        return SqlFiles(self.module_file, ".")

    def source_of(self, rule: Rule) -> str:
        return f"rules/families/{self.name}/{rule.sql_name}.sql"


@cache
def all_families() -> tuple[Family, ...]:
    """Every family folder, in their listing order. Read once, on first use."""
    found = []
    for info in pkgutil.iter_modules(__path__):
        if not info.ispkg:
            continue
        module = importlib.import_module(f"{__name__}.{info.name}")
        family: Family = module.FAMILY
        if family.name != info.name:
            raise ValueError(f"rules/families/{info.name}: FAMILY.name is {family.name!r}")
        found.append(family)
    return tuple(sorted(found, key=lambda f: (f.order, f.name)))


@cache
def names() -> tuple[str, ...]:
    return tuple(f.name for f in all_families())


@cache
def by_name() -> dict[str, Family]:
    return {f.name: f for f in all_families()}


@cache
def builtin_rules() -> tuple[tuple[Family, Rule], ...]:
    return tuple((f, r) for f in all_families() for r in f.rules)


def builtin_ids() -> frozenset[str]:
    """Ids a custom rule may not take: every built-in rule's, and every family's name."""
    return frozenset({r.id for _, r in builtin_rules()} | set(names()))


def scope_keys() -> dict[str, str]:
    """Rule id -> the entity key it judges, for the rules that can run on a scope."""
    return {r.id: r.scope_key for _, r in builtin_rules() if r.scope_key}


def touched_columns() -> dict[str, str]:
    """Rule id -> the column of touched.sql that lists its touched keys."""
    return {r.id: r.touched_column for _, r in builtin_rules() if r.touched_column}


# ------------------------------------------------------------ helpers for family folders
def scaled(value: float | Decimal, scale: float) -> int:
    return int(round(Decimal(str(value)) * Decimal(str(scale))))


def put_threshold(
    out: dict[str, int],
    name: str,
    value: float | Decimal | None,
    scale: float,
    default: float | None,
    with_defaults: bool,
) -> None:
    """One flattened threshold: the set value, else (with_defaults) the family's default."""
    if value is not None:
        out[name] = scaled(value, scale)
    elif with_defaults and default is not None:
        out[name] = scaled(default, scale)
