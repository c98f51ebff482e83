"""What the console reads: the rules stage's public functions and the console's own aggregates."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Generic, TypeVar

import rules.public as rules_public
from rxsight.store import SqlFiles, Store
from rxsight.timeutil import as_utc, utcnow

log = logging.getLogger(__name__)
SQL = SqlFiles(__file__)
T = TypeVar("T")


@dataclass(frozen=True)
class Outcome(Generic[T]):  # noqa: UP046 - Python 3.11
    """A value, or what went wrong, so a page can still render its other parts."""

    value: T | None
    error: str | None = None


def attempt(what: str, fn: Callable[..., T], *args: Any, **kwargs: Any) -> Outcome[T]:
    try:
        return Outcome(fn(*args, **kwargs))
    except Exception as exc:  # noqa: BLE001 - one failing panel must not take the page down
        log.exception("console: %s failed", what)
        return Outcome(None, f"{what} could not be read: {exc}")


def store_time(dt: datetime) -> datetime:
    """Bound DateTime64 parameters are naive UTC."""
    return as_utc(dt).replace(tzinfo=None)


# "As of now" for reads bounded by an instant: everything stored, including the few minutes
# ahead that ingest allows (DESIGN 4's future skew). Within DateTime64(9)'s range.
_LIVE = datetime(2261, 1, 1)


def until(as_of: datetime | None) -> datetime:
    """The bound parameter for what had happened by `as_of` (None: everything so far)."""
    return store_time(as_of) if as_of else _LIVE


def exception_summary(
    store: Store, owner: str | None, as_of: datetime | None = None
) -> list[dict[str, Any]]:
    """Open exceptions by family and site as they stood at `as_of` (default now)."""
    at = store_time(as_of or utcnow())
    return store.query(SQL["open_exceptions_summary"], {"owner": owner or "", "as_of": at})


NO_FACETS: dict[str, Any] = {
    k: [] for k in ("families", "reasons", "sites", "owners", "suppliers", "flows", "priorities")
} | {"examples": []}


# Filter choices are read from every exception's kept current state, which at a million
# transactions costs about what the page's own rows do. They change when a new family, site
# or supplier first appears: offered up to this long after, every list page is spared the
# scan.
FACETS_TTL_S = 30.0
_facet_rows: dict[int, tuple[float, dict[str, Any]]] = {}


def _facet_row(store: Store) -> dict[str, Any]:
    now = time.monotonic()
    cached = _facet_rows.get(id(store))
    if cached is not None and now - cached[0] < FACETS_TTL_S:
        return cached[1]
    rows = store.query(SQL["exception_facets"])
    row = rows[0] if rows else {}
    _facet_rows[id(store)] = (now, row)
    return row


def exception_facets(store: Store, family: str = "") -> dict[str, Any]:
    """Filter choices (read at most every FACETS_TTL_S); reasons only of `family` when one
    is chosen."""
    row = _facet_row(store)
    out: dict[str, Any] = {
        key: sorted(v for v in row.get(key, []) if v)
        for key in ("families", "sites", "owners", "suppliers", "flows", "priorities")
    }
    pairs = row.get("family_reasons") or []
    out["reasons"] = sorted({r for f, r in pairs if r and (not family or f == family)})
    samples = ("sample_invoice", "sample_po", "sample_item", "sample_correlation_id")
    out["examples"] = [row[k] for k in samples if row.get(k)]
    return out


def flow_breaches(store: Store, flow: str, as_of: datetime) -> list[dict[str, Any]]:
    """A flow's breach episodes, newest first: since (the condition's start), the reasons
    seen, cleared (None while it lasts), from the sla_breach exception history."""
    rows = store.query(SQL["flow_breaches"], {"flow": flow, "as_of": store_time(as_of)})
    episodes: list[dict[str, Any]] = []
    current: dict[str, dict[str, Any]] = {}
    for row in rows:
        eid, change = row["exception_id"], row["change"]
        if change in ("opened", "reopened") or eid not in current:
            current[eid] = {"since": row["since"], "reasons": [], "cleared": None, "by": None}
            episodes.append(current[eid])
        episode = current[eid]
        if row["reason"] and row["reason"] not in episode["reasons"]:
            episode["reasons"].append(row["reason"])
        if change in ("auto_resolved", "resolved") and episode["cleared"] is None:
            episode["cleared"] = row["at"]
            episode["by"] = "condition cleared" if change == "auto_resolved" else "resolved"
    return sorted(episodes, key=lambda e: e["since"], reverse=True)


NO_NAMES: dict[str, dict[str, str]] = {"item": {}, "supplier": {}}


def names(
    store: Store,
    correlation_ids: list[str],
    codes: Iterable[tuple[str, str | None]] = (),
) -> dict[str, dict[str, str]]:
    """{"item": {code: description}, "supplier": {id: name}} for the codes in the transactions'
    events and `codes` ((kind, code) shown beside them, e.g. an exception's canonical supplier):
    the master data crosswalk's name first, else what the source systems sent along."""
    sent: dict[tuple[str, str], str] = {(k, c): "" for k, c in codes if k in NO_NAMES and c}
    ids = sorted({c for c in correlation_ids if c})
    if ids:
        for row in store.query(SQL["names"], {"correlation_ids": ids}):
            sent[(row["kind"], row["code"])] = row["name"] or sent.get(
                (row["kind"], row["code"]), ""
            )
    known = rules_public.crosswalk_names(store, list(sent), utcnow()) if sent else {}
    out: dict[str, dict[str, str]] = {"item": {}, "supplier": {}}
    for (kind, code), name in sent.items():
        best = known.get((kind, code), ("", ""))[1] or name
        if best:
            out[kind][code] = best
    return out


def trace_spans(store: Store, trace_id: str, as_of: datetime | None = None) -> list[dict[str, Any]]:
    return store.query(SQL["trace_spans"], {"trace_id": trace_id, "as_of": until(as_of)})


def flow_hours(store: Store, as_of: datetime, flow: str = "") -> dict[str, list[dict[str, Any]]]:
    """Each flow's hourly spans over the last 24 h (only `flow`'s when given)."""
    out: dict[str, list[dict[str, Any]]] = {}
    for row in store.query(SQL["flow_sparkline"], {"as_of": store_time(as_of), "flow": flow}):
        out.setdefault(row["flow"], []).append(row)
    return out


def failing_spans(store: Store, flow: str, as_of: datetime, slow_ms: float) -> list[dict]:
    return store.query(
        SQL["failing_spans"],
        {"flow": flow, "as_of": store_time(as_of), "slow_ns": int(slow_ms * 1_000_000)},
    )


def transaction_exceptions(
    store: Store,
    correlation_id: str,
    po_numbers: list[str],
    invoice_numbers: list[str],
    receipt_ids: list[str],
    as_of: datetime | None = None,
) -> list[dict[str, Any]]:
    """The exceptions about a transaction's entities, each as it stood at `as_of`."""
    return store.query(
        SQL["transaction_exceptions"],
        {
            "correlation_id": correlation_id,
            "po_numbers": po_numbers,
            "invoice_numbers": invoice_numbers,
            "receipt_ids": receipt_ids,
            "as_of": until(as_of),
        },
    )
