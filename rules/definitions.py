"""The rules of a configuration: the family folders' built-in rules and the custom ones, their
query parameters, and how a rule's query is run (on its candidates, or on given keys)."""

from __future__ import annotations

import threading
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import pyarrow as pa

from rules import families
from rules.config import CustomRule, LoadedRules, RulesConfig, threshold_arrays
from rxsight.config import Settings
from rxsight.store import Store
from rxsight.timeutil import as_utc


@dataclass(frozen=True)
class RuleDef:
    id: str
    family: str
    description: str
    builtin: families.Rule | None = None  # its query in rules/families/<family>/
    custom: CustomRule | None = None

    @property
    def source(self) -> str:
        if self.custom is not None:
            return self.custom.path
        assert self.builtin is not None
        return families.by_name()[self.family].source_of(self.builtin)

    @property
    def scope_key(self) -> str | None:
        """The entity key a built-in rule judges (see families.Rule), else None."""
        return None if self.builtin is None else self.builtin.scope_key


def builtin_rules() -> tuple[RuleDef, ...]:
    return tuple(
        RuleDef(rule.id, family.name, rule.description, builtin=rule)
        for family, rule in families.builtin_rules()
    )


def builtin_sql(rule: RuleDef, suffix: str = "") -> str:
    assert rule.builtin is not None
    return families.by_name()[rule.family].sql[rule.builtin.sql_name + suffix]


def rule_defs(loaded: LoadedRules) -> list[RuleDef]:
    defs = [r for r in builtin_rules() if r.id not in loaded.config.disabled]
    for c in loaded.custom:
        if c.enabled and c.id not in loaded.config.disabled:
            defs.append(RuleDef(c.id, c.family, c.description, custom=c))
    return defs


def _ch_time(dt: datetime) -> str:
    return as_utc(dt).strftime("%Y-%m-%d %H:%M:%S.%f")[:-3]


def builtin_params(cfg: RulesConfig, settings: Settings, as_of: datetime) -> dict[str, Any]:
    keys, values = threshold_arrays(cfg)
    params: dict[str, Any] = {
        "as_of": _ch_time(as_of),
        "tk": keys,
        "tv": values,
        "include_pending": 0,
        "include_ok": 0,
        "run_id": "",
    }
    for family in families.all_families():
        if family.query_params is not None:
            params.update(family.query_params(getattr(cfg.thresholds, family.name), settings))
    return params


def run_rule(
    store: Store, rule: RuleDef, params: dict[str, Any], keys: list[str] | None = None
) -> list[dict[str, Any]]:
    """Rows of one rule as of `params["as_of"]`. A built-in rule with an entity key judges
    `keys`; without them, its candidates (every key that could have a finding)."""
    names, rows = rule_rows(store, rule, params, keys, None)
    return [dict(zip(names, row, strict=True)) for row in rows]


def rule_rows(
    store: Store,
    rule: RuleDef,
    params: dict[str, Any],
    keys: list[str] | None,
    candidates: FullRunCandidates | None,
) -> tuple[tuple[str, ...], list[tuple]]:
    if rule.custom is not None:
        custom_params = {**rule.custom.params, "as_of": params["as_of"]}
        return store.query_named_rows(rule.custom.sql, custom_params)
    settings = None
    if rule.scope_key is not None:
        if keys is None:
            keys = (candidates or FullRunCandidates(store, params)).keys(rule)
        else:
            # Keys given: a scheduled run's touched entities, a few thousand. With two rules
            # running side by side, a second thread per query cost more than it saved (0.80 to
            # 0.71 s for bench/rules.py's run after 1 % changed); a full run's candidates still
            # gain from it (4.4 to 5.2 s with one thread).
            settings = _SCOPED_QUERY_SETTINGS
        if not keys:
            return (), []
        params = {**params, "run_id": put_scope(store, rule.id, keys)}
    return store.query_named_rows(builtin_sql(rule), params, settings)


_SCOPED_QUERY_SETTINGS = {"max_threads": 1}


class FullRunCandidates:
    """The candidate keys of one full run, from `<rule>_candidates.sql`. The POs short on a
    line as of the instant are delayed_receipt's candidates and, through their requests, part
    of open_replenishment's: found once, by whichever of the two rules asks first."""

    def __init__(self, store: Store, params: dict[str, Any]) -> None:
        self.store, self.params = store, params
        self._lock = threading.Lock()
        self._short_pos: tuple[list[str], str] | None = None

    def keys(self, rule: RuleDef) -> list[str]:
        if rule.id == "delayed_receipt":
            return self._short()[0]
        params = self.params
        sql = builtin_sql(rule, "_candidates")
        if "{short_pos:" in sql:
            # A query that reads the POs short on a line (open_replenishment's, for their
            # requests; supplier_response's, since full receipt closes every reason).
            params = {**params, "short_pos": self._short()[1]}
        return [r[0] for r in self.store.query_rows(sql, params)]

    def _short(self) -> tuple[list[str], str]:
        with self._lock:
            if self._short_pos is None:
                sql = families.by_name()["delayed_receipt"].sql["delayed_receipt_candidates"]
                pos = [r[0] for r in self.store.query_rows(sql, self.params)]
                self._short_pos = (pos, put_scope(self.store, "short POs", pos))
            return self._short_pos


def put_scope(store: Store, purpose: str, keys: list[str]) -> str:
    """Stores keys for a query to read as `IN (SELECT key FROM rules_scope WHERE run_id =
    ...)`; returns that run_id. Key lists go through a table, not the query text: a full run
    can have 100,000s."""
    run_id = f"{uuid.uuid4()}:{purpose}"
    scope = {"run_id": pa.repeat(run_id, len(keys)), "key": pa.array(keys, pa.string())}
    store.insert_arrow("rules_scope", pa.table(scope))
    return run_id
