"""As-of evaluation: runs every built-in and custom rule as SQL in ClickHouse, makes findings."""

from __future__ import annotations

import contextlib
import gc
import logging
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime
from functools import cache

from rules.config import LoadedRules
from rules.definitions import FullRunCandidates, RuleDef, builtin_params, rule_defs, rule_rows
from rules.findings import Finding, FindingMaker
from rxsight.config import Settings
from rxsight.logs import current as current_log_context
from rxsight.logs import log_context
from rxsight.store import Store
from rxsight.timeutil import as_utc

log = logging.getLogger(__name__)


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


# Rules run two at a time: one's SQL runs in the engine while the other's findings are
# made in Python, which keeps both cores of a small machine busy. The threads live as long
# as the process and keep their store clients (closed with the store): opening clients
# for every run cost a tenth of an incremental run.
# Made on the first evaluation, not at import.
@cache
def _rule_threads() -> ThreadPoolExecutor:
    return ThreadPoolExecutor(2, thread_name_prefix="rules")


class _CyclePause:
    """How many evaluations under way paused the cyclic garbage collector."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.count = 0


@cache
def _cycle_pause() -> _CyclePause:
    return _CyclePause()


@contextlib.contextmanager
def cycle_collection_paused() -> Iterator[None]:
    """A full run makes 100,000s of rows, findings and details, none of them in a reference
    cycle. Made in bursts, they set off the cyclic garbage collector again and again, and its
    full passes walk every object the process holds: 0.7 to 0.9 s of a 5 s full run, measured.
    Reference counting frees these objects without it, so it waits until the runs under way
    end (concurrent evaluations share the pause)."""
    pause = _cycle_pause()
    with pause.lock:
        # Turned off by someone else: not ours to turn back on.
        ours = pause.count > 0 or gc.isenabled()
        if ours:
            pause.count += 1
            gc.disable()
    try:
        yield
    finally:
        if ours:
            with pause.lock:
                pause.count -= 1
                if pause.count == 0:
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
            names, rows = rule_rows(store, rule, base, keys, candidates)
            every = list(map(FindingMaker(rule, names, loaded.config, settings, as_of), rows))
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
    with cycle_collection_paused():
        judged = list(_rule_threads().map(judge, rules))
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
