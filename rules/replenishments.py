"""The open replenishment requests at an instant, a page at a time. Which requests are open is
read from rules_replenishment_requests (rules/migrations/080), brought up to date here from
the facts that arrived since its last refresh; the open_replenishment rule itself judges only
the page's requests (and any the kept rows cannot settle at that instant), so the page's cost
follows the page, not the history."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import orjson

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
    params = {**_params(settings, when), "include_pending": 1}
    rule = next(r for r in builtin_rules() if r.id == "open_replenishment")
    return [_row(r, when) for r in run_rule(store, rule, params, keys)]


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
    refresh(store, settings)
    unsettled = store.query(SQL["replenishment_uncertain"], {"as_of": _ch(when), "end": _ch(_END)})
    if not unsettled[0]["same_items"]:
        # The rows were judged with another item crosswalk than the one in force then.
        return _whole(
            judged(store, settings, when, None), site, priority, item, late_only, limit, offset
        )
    keys = unsettled[0]["keys"]
    found = judged(store, settings, when, keys) if keys else []
    decided = put_scope(store, "replenishments open", [r.correlation_id for r in found])
    summary = store.query(
        SQL["replenishment_page"],
        {
            **_params(settings, when),
            "decided": decided,
            "site": site,
            "priority": priority,
            "item": item.strip(),
            "late_only": int(late_only),
            "limit": limit,
            "offset": offset,
        },
    )[0]
    wanted = list(summary["page"])
    by_key = {r.correlation_id: r for r in judged(store, settings, when, wanted)} if wanted else {}
    return ReplenishmentPage(
        rows=[by_key[k] for k in wanted if k in by_key],
        total=int(summary["total"]),
        late_total=int(summary["late_total"]),
        sites=list(summary["sites"]),
        priorities=list(summary["priorities"]),
    )


def refresh(store: Store, settings: Settings) -> None:
    """Brings rules_replenishment_requests up to date with the facts received since its last
    refresh (all requests the first time, or when a crosswalk version was loaded since)."""
    watermark = as_utc(store.query_value("SELECT now64(3, 'UTC')")) - VISIBILITY_MARGIN
    refreshes = store.query(
        "SELECT count() AS n, max(refreshed_at) AS last FROM rules_replenishment_refreshes"
    )[0]
    keys: list[str] | None = None  # None: every request
    if refreshes["n"]:
        touched = store.query(SQL["replenishment_touched"], {"since": _ch(refreshes["last"])})[0]
        if not touched["crosswalk_changes"]:
            keys = list(touched["correlation_ids"])
    if keys != []:
        open_keys = [r.correlation_id for r in judged(store, settings, _END, keys)]
        store.command(
            SQL["replenishment_refresh"],
            {
                "refreshed_at": _ch(watermark),
                "all": int(keys is None),
                "keys": put_scope(store, "replenishment refresh", keys or []),
                "open_keys": put_scope(store, "replenishment refresh open", open_keys),
            },
        )
    store.command(
        "INSERT INTO rules_replenishment_refreshes SELECT {at:DateTime64(3, 'UTC')}",
        {"at": _ch(watermark)},
    )


def _whole(
    rows: list[OpenReplenishment],
    site: str,
    priority: str,
    item: str,
    late_only: bool,
    limit: int,
    offset: int,
) -> ReplenishmentPage:
    wanted_item = item.strip().lower()
    chosen = [
        r
        for r in rows
        if (not site or (r.site or "") == site)
        and (not late_only or r.late)
        and (not priority or (r.priority or "routine") == priority)
        and str(r.item_id or "").lower().startswith(wanted_item)
    ]
    chosen.sort(key=lambda r: (not r.late, r.requested_at or "", r.correlation_id))
    return ReplenishmentPage(
        rows=chosen[offset : offset + limit],
        total=len(chosen),
        late_total=sum(1 for r in chosen if r.late),
        sites=sorted({r.site or "" for r in rows}),
        priorities=sorted({r.priority or "routine" for r in rows}),
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
