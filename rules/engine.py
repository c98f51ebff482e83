"""As-of evaluation: runs every built-in and custom rule as SQL in ClickHouse, makes findings."""

from __future__ import annotations

import contextlib
import gc
import logging
import threading
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any

import msgspec
import orjson
import pyarrow as pa

from rules import families
from rules.config import CustomRule, LoadedRules, RulesConfig, threshold_arrays
from rxsight.config import Settings
from rxsight.logs import current as current_log_context
from rxsight.logs import log_context
from rxsight.store import Store
from rxsight.timeutil import as_utc, rfc3339

log = logging.getLogger(__name__)

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


@dataclass(frozen=True)
class RuleRun:
    rule_id: str
    family: str
    duration_s: float
    findings: int
    error: str | None


@dataclass(frozen=True)
class Evaluation:
    as_of: datetime
    findings: tuple[Finding, ...]
    runs: tuple[RuleRun, ...]
    duration_s: float
    # Rules that produced nothing this time (failed); their exceptions must not auto-resolve.
    failed_rules: frozenset[str] = field(default_factory=frozenset)
    # With include_pending, per scoped rule and entity key: every condition found, including
    # those whose grace period still runs (since > as_of), so a later run can carry them.
    entity_findings: dict[str, dict[str, tuple[Finding, ...]]] = field(default_factory=dict)


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
    names, rows = _rule_rows(store, rule, params, keys, None)
    return [dict(zip(names, row, strict=True)) for row in rows]


def _rule_rows(
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
        if rule.id == "open_replenishment":
            params = {**params, "short_pos": self._short()[1]}
        return [r[0] for r in self.store.query_rows(builtin_sql(rule, "_candidates"), params)]

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


# Rules run two at a time: one's SQL runs in the engine while the other's findings are
# made in Python, which keeps both cores of a small machine busy. The threads live as long
# as the process and keep their store clients (closed with the store): opening clients
# for every run cost a tenth of an incremental run.
_RULE_THREADS = ThreadPoolExecutor(2, thread_name_prefix="rules")


_GC_LOCK = threading.Lock()
_GC_PAUSES = 0


@contextlib.contextmanager
def _cycle_collection_paused() -> Iterator[None]:
    """A full run makes 100,000s of rows, findings and details, none of them in a reference
    cycle. Made in bursts, they set off the cyclic garbage collector again and again, and its
    full passes walk every object the process holds: 0.7 to 0.9 s of a 5 s full run, measured.
    Reference counting frees these objects without it, so it waits until the runs under way
    end (concurrent evaluations share the pause)."""
    global _GC_PAUSES
    with _GC_LOCK:
        # Turned off by someone else: not ours to turn back on.
        ours = _GC_PAUSES > 0 or gc.isenabled()
        if ours:
            _GC_PAUSES += 1
            gc.disable()
    try:
        yield
    finally:
        if ours:
            with _GC_LOCK:
                _GC_PAUSES -= 1
                if _GC_PAUSES == 0:
                    gc.enable()


@dataclass(frozen=True)
class _Judged:
    run: RuleRun
    findings: list[Finding]
    by_entity: dict[str, tuple[Finding, ...]] | None


def evaluate(
    store: Store,
    loaded: LoadedRules,
    settings: Settings,
    as_of: datetime,
    *,
    only: set[str] | None = None,
    scope: dict[str, list[str]] | None = None,
    include_pending: bool = False,
) -> Evaluation:
    """Every rule as of `as_of`. With `scope`, the rules named there look only at those
    entity keys (the caller vouches that no other entity can have a finding)."""
    started = time.perf_counter()
    base = builtin_params(loaded.config, settings, as_of)
    base["include_pending"] = int(include_pending)
    as_of_utc = as_utc(as_of)
    candidates = FullRunCandidates(store, base)

    # The rule threads log with the caller's IDs (its request) and their rule's.
    caller_ids = current_log_context()

    def judge(rule: RuleDef) -> _Judged:
        with log_context(**caller_ids, rule_id=rule.id):
            return judge_one(rule)

    def judge_one(rule: RuleDef) -> _Judged:
        t0 = time.perf_counter()
        try:
            keys = scope.get(rule.id) if scope is not None else None
            names, rows = _rule_rows(store, rule, base, keys, candidates)
            every = list(map(_FindingMaker(rule, names, loaded.config, settings, as_of), rows))
            by_entity = None
            key_field = rule.scope_key
            if key_field and include_pending:
                at = names.index(key_field) if rows else 0
                by_key: dict[str, list[Finding]] = {}
                for row, f in zip(rows, every, strict=True):
                    by_key.setdefault(str(row[at]), []).append(f)
                by_entity = {k: tuple(v) for k, v in by_key.items()}
            made = [f for f in every if f.since <= as_of_utc]
            run = RuleRun(rule.id, rule.family, time.perf_counter() - t0, len(made), None)
            return _Judged(run, made, by_entity)
        except Exception as exc:  # noqa: BLE001 - one broken rule must not stop the others
            error = f"{rule.source}: {_engine_message(exc)}"
            log.warning("rule %s failed: %s", rule.id, error)
            return _Judged(
                RuleRun(rule.id, rule.family, time.perf_counter() - t0, 0, error), [], None
            )

    rules = [r for r in rule_defs(loaded) if only is None or r.id in only]
    with _cycle_collection_paused():
        judged = list(_RULE_THREADS.map(judge, rules))
    # One finding per entity and family: a custom rule cannot shadow a built-in twice over.
    unique: dict[str, Finding] = {}
    for j in judged:
        for f in j.findings:
            unique.setdefault(f.key, f)
    return Evaluation(
        as_of=as_utc(as_of),
        findings=tuple(unique.values()),
        runs=tuple(j.run for j in judged),
        duration_s=time.perf_counter() - started,
        failed_rules=frozenset(j.run.rule_id for j in judged if j.run.error),
        entity_findings={j.run.rule_id: j.by_entity for j in judged if j.by_entity is not None},
    )


def _engine_message(exc: Exception) -> str:
    text = str(exc).strip()
    # The engine's message is what helps; drop the driver's repetition of the query.
    for marker in ("\nSQL:", " SQL:"):
        if marker in text:
            text = text.split(marker)[0]
    return " ".join(text.split())[:800]


def _text(value: Any) -> str | None:
    if value.__class__ is str:
        return value or None
    if value is None:
        return None
    return str(value) or None


class _FindingMaker:
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
_decode_details = msgspec.json.Decoder(dict[str, _Scalar | tuple[tuple[_Scalar, ...], ...]]).decode


def _details(raw: Any) -> dict[str, Any]:
    if not raw:
        return {}
    if raw.__class__ is str:
        try:
            return _decode_details(raw)
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
