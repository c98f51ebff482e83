"""What the console reads: the rules stage's public functions and the console's own aggregates."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Generic, TypeVar

from rxsight.store import SqlFiles, Store
from rxsight.timeutil import as_utc

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


def exception_summary(store: Store, owner: str | None) -> list[dict[str, Any]]:
    return store.query(SQL["open_exceptions_summary"], {"owner": owner or ""})


def exception_facets(store: Store) -> dict[str, list[str]]:
    rows = store.query(SQL["exception_facets"])
    row = rows[0] if rows else {}
    return {
        key: sorted(v for v in row.get(key, []) if v)
        for key in ("families", "reasons", "sites", "owners")
    }


def flow_hours(store: Store, as_of: datetime) -> dict[str, list[dict[str, Any]]]:
    out: dict[str, list[dict[str, Any]]] = {}
    for row in store.query(SQL["flow_sparkline"], {"as_of": store_time(as_of)}):
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
) -> list[dict[str, Any]]:
    return store.query(
        SQL["transaction_exceptions"],
        {
            "correlation_id": correlation_id,
            "po_numbers": po_numbers,
            "invoice_numbers": invoice_numbers,
            "receipt_ids": receipt_ids,
        },
    )
