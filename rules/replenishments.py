"""The open replenishment requests at an instant, a page at a time. Which requests are open is
read from rules_replenishments_kept (rules/migrations/081): one row per request, kept up to
date by the rules scheduler (`refresh`, after each of its runs) with the open_replenishment
rule's own row for a request open with every fact. The page only reads: the rule judges just
the requests those rows cannot settle at the page's instant (facts dated after it, or arrived
since the last refresh), so the page's cost follows the open requests, not the history, and
it is never staler than the facts."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson
import pyarrow as pa

from rules import config as rules_config
from rules.definitions import builtin_params, builtin_rules, put_scope, run_rule
from rules.incremental import VISIBILITY_MARGIN
from rxsight.config import Settings
from rxsight.store import Store
from rxsight.store.sql import SqlFiles
from rxsight.timeutil import as_utc, parse_rfc3339, rfc3339, utcnow

SQL = SqlFiles(__file__)
# An instant after every fact: a request's verdict with all its facts.
_END = datetime(2200, 1, 1, tzinfo=UTC)
# Facts keep arriving while a page is worked out: after this many rounds of judging what
# arrived meanwhile, the rule judges every request instead.
_ROUNDS = 3
_EVERY_ROW = 2**62
# A refresh that finds nothing new records itself this often all the same: the records
# last a day (migration 082), and rows without one are judged anew in full.
_RESTATED_EVERY = timedelta(hours=1)
_VERDICT_COLUMNS = ("reason", "since", "correlation_id", "site", "domain", "details")


@dataclass(frozen=True)
class OpenReplenishment:
    correlation_id: str
    site: str | None
    domain: str | None
    priority: str | None
    item_id: str | None
    quantity: Any
    requested_at: str | None
    age_s: float | None
    po_numbers: list[str]
    ordered: Any
    received: Any
    stage: str  # no_po or not_received: what it is waiting for
    due_at: str | None
    late: bool
    reason: str | None


@dataclass(frozen=True)
class ReplenishmentPage:
    rows: list[OpenReplenishment]
    total: int
    late_total: int
    sites: list[str]  # of every request open then, for the filters
    priorities: list[str]


def judged(
    store: Store, settings: Settings, when: datetime, keys: list[str] | None
) -> list[OpenReplenishment]:
    """The open_replenishment rule's open requests at `when` (with those not yet late), among
    `keys` (None: all)."""
    return [_row(r, when) for r in _rule_rows(store, _params(settings, when), keys)]


def page(
    store: Store,
    settings: Settings,
    as_of: datetime | None,
    *,
    site: str = "",
    priority: str = "",
    item: str = "",
    late_only: bool = False,
    limit: int,
    offset: int = 0,
) -> ReplenishmentPage:
    """The requests open at `as_of` (now if None) that pass the filters, late first then oldest
    first, `limit` of them from `offset`, with the totals."""
    when = as_utc(as_of or utcnow())
    params = _params(settings, when)
    query = {
        "as_of": params["as_of"],
        "judged": "",
        "verdicts": "",
        "all_judged": 0,
        "site": site,
        "priority": priority,
        "item": item.strip(),
        "late_only": int(late_only),
        "limit": limit,
        "offset": offset,
    }
    last = _last_refresh(store, params)
    touched = None if last is None else _touched(store, last)
    if touched is not None:
        keys = set(touched)
        for _ in range(_ROUNDS):
            if keys:
                query["judged"] = put_scope(store, "replenishments judged", sorted(keys))
                query["verdicts"] = _put_verdicts(store, _rule_rows(store, params, sorted(keys)))
            summary = store.query(SQL["replenishment_page"], query)[0]
            if not summary["same_crosswalk"]:
                break
            unsettled = set(summary["unsettled"]) - keys
            if not unsettled:
                return _page(store, query, summary, when)
            keys |= unsettled
    # Never refreshed, refreshed under other thresholds or another crosswalk, or facts
    # the rows cannot settle keep turning up: the rule judges every request.
    query["verdicts"] = _put_verdicts(store, _rule_rows(store, params, None))
    query["all_judged"] = 1
    return _page(store, query, store.query(SQL["replenishment_page"], query)[0], when)


def open_at(store: Store, settings: Settings, as_of: datetime | None) -> list[OpenReplenishment]:
    """Every request open at `as_of` (now if None), oldest first: the page's answer, whole."""
    found = page(store, settings, as_of, limit=_EVERY_ROW)
    return sorted(found.rows, key=lambda r: (r.requested_at or "", r.correlation_id))


def refresh(store: Store, settings: Settings) -> None:
    """Brings rules_replenishments_kept up to date with the facts received since its last
    refresh (every request the first time, after a change of thresholds, or when a crosswalk
    version was loaded since). The rules scheduler calls it after each run."""
    watermark = as_utc(store.query_value("SELECT now64(3, 'UTC')")) - VISIBILITY_MARGIN
    params = _params(settings, _END)
    last = _last_refresh(store, params)
    keys = None if last is None else _touched(store, last)  # None: every request
    if keys == [] and last is not None and watermark - last < _RESTATED_EVERY:
        return  # nothing arrived since: the last refresh still holds
    if keys != []:
        store.command(
            SQL["replenishment_refresh"],
            {
                "refreshed_at": _ch(watermark),
                "all": int(keys is None),
                "keys": put_scope(store, "replenishment refresh", keys or []),
                "verdicts": _put_verdicts(store, _rule_rows(store, params, keys)),
            },
        )
    store.insert_arrow(
        "rules_replenishments_refreshed",
        pa.table(
            {
                "refreshed_at": pa.array([watermark], pa.timestamp("ms", tz="UTC")),
                "tk": pa.array([params["tk"]], pa.list_(pa.string())),
                "tv": pa.array([params["tv"]], pa.list_(pa.int64())),
            }
        ),
    )


def _last_refresh(store: Store, params: dict[str, Any]) -> datetime | None:
    """When the kept rows were last refreshed; None if never, or under other thresholds than
    `params` gives."""
    last = store.query(
        "SELECT refreshed_at, tk, tv FROM rules_replenishments_refreshed "
        "ORDER BY refreshed_at DESC LIMIT 1"
    )
    if not last or (last[0]["tk"], last[0]["tv"]) != (params["tk"], params["tv"]):
        return None
    return as_utc(last[0]["refreshed_at"])


def _touched(store: Store, since: datetime) -> list[str] | None:
    """The requests whose facts arrived after `since`; None if a crosswalk version was loaded
    since (every request may read differently)."""
    touched = store.query(SQL["replenishment_touched"], {"since": _ch(since)})[0]
    return None if touched["crosswalk_changes"] else list(touched["correlation_ids"])


def _rule_rows(
    store: Store, params: dict[str, Any], keys: list[str] | None
) -> list[dict[str, Any]]:
    """The rule's rows (open, late or not) at params' instant among `keys` (None: all)."""
    rule = next(r for r in builtin_rules() if r.id == "open_replenishment")
    return run_rule(store, rule, {**params, "include_pending": 1}, keys)


def _put_verdicts(store: Store, rows: list[dict[str, Any]]) -> str:
    """Stores the rule's rows for a query to read by the returned run_id."""
    run_id = f"{uuid.uuid4()}:replenishment verdicts"
    columns: dict[str, Any] = {"run_id": pa.repeat(run_id, len(rows))}
    for name in _VERDICT_COLUMNS:
        columns[name] = [r[name] for r in rows]
    columns["since"] = pa.array(columns["since"], pa.timestamp("ms", tz="UTC"))
    store.insert_arrow("rules_replenishment_verdicts", pa.table(columns))
    return run_id


def _page(
    store: Store, query: dict[str, Any], summary: dict[str, Any], when: datetime
) -> ReplenishmentPage:
    keys = list(summary["page"])
    found = store.query(SQL["replenishment_page_rows"], {**query, "keys": keys}) if keys else []
    by_key = {r["correlation_id"]: _row(r, when) for r in found}
    return ReplenishmentPage(
        rows=[by_key[k] for k in keys],
        total=int(summary["total"]),
        late_total=int(summary["late_total"]),
        sites=list(summary["sites"]),
        priorities=list(summary["priorities"]),
    )


def _params(settings: Settings, when: datetime) -> dict[str, Any]:
    return builtin_params(rules_config.parse_rules_config(settings), settings, when)


def _row(row: dict[str, Any], when: datetime) -> OpenReplenishment:
    details = orjson.loads(row["details"])
    requested = details.get("requested_at")
    late = as_utc(row["since"]) <= when
    return OpenReplenishment(
        correlation_id=row["correlation_id"],
        site=row["site"] or None,
        domain=row["domain"] or None,
        priority=details.get("priority"),
        item_id=details.get("item_id") or None,
        quantity=details.get("quantity"),
        requested_at=_iso(requested),
        age_s=_age(requested, when),
        po_numbers=[p for p in (details.get("po_numbers") or "").split(",") if p],
        ordered=details.get("ordered"),
        received=details.get("received"),
        stage=row["reason"],
        due_at=rfc3339(row["since"]),
        late=late,
        reason=row["reason"] if late else None,
    )


def _iso(ch_time: str | None) -> str | None:
    if not ch_time:
        return None
    return ch_time.replace(" ", "T") + ("" if ch_time.endswith("Z") else "Z")


def _age(ch_time: str | None, when: datetime) -> float | None:
    iso = _iso(ch_time)
    if iso is None:
        return None
    return round((when - parse_rfc3339(iso)).total_seconds(), 3)


def _ch(dt: datetime) -> str:
    return as_utc(dt).strftime("%Y-%m-%d %H:%M:%S.%f")[:-3]
