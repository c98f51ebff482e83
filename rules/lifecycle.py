"""Exception lifecycle: findings to append-only exception_history versions, people's actions."""

from __future__ import annotations

import json
import threading
from datetime import UTC, datetime
from functools import cache
from typing import Any

from rules.definitions import put_scope
from rules.engine import Evaluation
from rules.findings import Finding
from rules.sla import DUE_STATES, SlaClock
from rxsight import audit
from rxsight.store import SqlFiles, Store
from rxsight.store.sql import with_blocks
from rxsight.timeutil import as_utc, jsonable, utcnow

SQL = SqlFiles(__file__)
EXCEPTIONS_TABLE = "exception_history"
ACTIONS = ("ack", "assign", "comment", "resolve", "reopen")
COLUMNS = (
    "exception_id",
    "version",
    "at",
    "change",
    "status",
    "actor",
    "comment",
    "assignee",
    "rule_id",
    "family",
    "reason",
    "severity",
    "owner",
    "site",
    "domain",
    "flow",
    "tier",
    "correlation_id",
    "po_number",
    "invoice_number",
    "supplier_id",
    "receipt_id",
    "since",
    "opened_at",
    "summary",
    "details",
)
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
NO_SLA = SlaClock({})
# Further list filters: priority (exact), supplier and item (case-insensitive prefixes;
# the item of a finding that names one), flow (exact).
NARROWING = ("priority", "supplier", "item", "flow")
# Where the console's and the API's exception count stop (as search engines cap theirs): an
# exact count of a million matches cost as much as the page itself. Below it, exact.
COUNT_CAP = 10_000
# No cap on the list's count: every match counted.
EXACT_COUNT = 2**62
# Versions are read-then-written; one writer at a time in this process keeps them dense.
# (With several processes, only the scheduler's process should take people's actions.)
_WRITE_LOCK = threading.Lock()


def _finding_fields(f: Finding) -> dict[str, Any]:
    return {
        "rule_id": f.rule_id,
        "family": f.family,
        "reason": f.reason,
        "severity": f.severity,
        "owner": f.owner,
        "site": f.site or "",
        "domain": f.domain or "",
        "flow": f.flow or "",
        "tier": f.tier or "",
        "correlation_id": f.correlation_id or "",
        "po_number": f.po_number or "",
        "invoice_number": f.invoice_number or "",
        "supplier_id": f.supplier_id or "",
        "receipt_id": f.receipt_id or "",
        "since": f.since,
        "summary": f.summary,
        "details": json.dumps(jsonable(f.details), sort_keys=True),
    }


def _write(store: Store, rows: list[dict[str, Any]]) -> None:
    """Appends versions, each with the items on its PO's and invoice's lines as known now
    (the item filter's `line_items`, rules/migrations/100)."""
    if not rows:
        return
    docs = sorted({d for r in rows for d in (r["po_number"], r["invoice_number"]) if d})
    known = store.query(SQL["line_items"], {"run_id": put_scope(store, "line_items", docs)})[0]
    items = {(doc_type, doc): set(keys) for doc_type, doc, keys in known["docs"]}
    values = [
        [r[c] for c in COLUMNS]
        + [
            sorted(
                items.get(("po_number", r["po_number"]), set())
                | items.get(("invoice_number", r["invoice_number"]), set())
            ),
            known["complete_before"],
        ]
        for r in rows
    ]
    store.insert_rows(EXCEPTIONS_TABLE, values, [*COLUMNS, "line_items_in", "line_items_at_in"])


def _next(current: dict[str, Any], at: datetime, **changes: Any) -> dict[str, Any]:
    row = {c: current[c] for c in COLUMNS}
    row.update(changes)
    row["version"] = int(current["version"]) + 1
    row["at"] = at
    row.setdefault("comment", "")
    if "comment" not in changes:
        row["comment"] = ""
    return row


def persist(store: Store, evaluation: Evaluation, actor: str = "rules") -> dict[str, int]:
    """Open, update, reopen and auto-resolve exceptions from one evaluation's findings.
    Exceptions of rules that failed this time are left as they are."""
    now = utcnow()
    by_key = {f.key: f for f in evaluation.findings}
    ran = {r.rule_id for r in evaluation.runs} - set(evaluation.failed_rules)
    counts = {"opened": 0, "updated": 0, "reopened": 0, "auto_resolved": 0}
    with _WRITE_LOCK:
        run_id = put_scope(store, "persist", list(by_key))
        current = {
            r["exception_id"]: r
            for r in store.query(SQL["exceptions_for_persist"], {"run_id": run_id})
        }
        rows: list[dict[str, Any]] = []
        for key, f in by_key.items():
            fields = _finding_fields(f)
            cur = current.get(key)
            if cur is None:
                rows.append(
                    {
                        "exception_id": key,
                        "version": 1,
                        "at": now,
                        "change": "opened",
                        "status": "open",
                        "actor": actor,
                        "comment": "",
                        "assignee": "",
                        "opened_at": now,
                        **fields,
                    }
                )
                counts["opened"] += 1
                continue
            if cur["status"] == "resolved":
                # A person's resolve holds while the condition stays (same reason); once it
                # has cleared (recorded below) or changes reason, its return reopens.
                returned = cur["change"] != "resolved" or cur["reason"] != f.reason
                if returned:
                    rows.append(
                        _next(
                            cur,
                            now,
                            change="reopened",
                            status="open",
                            actor=actor,
                            comment=f"condition returned: {f.reason}",
                            opened_at=now,
                            **fields,
                        )
                    )
                    counts["reopened"] += 1
                continue
            if (cur["reason"], cur["severity"], cur["owner"]) != (f.reason, f.severity, f.owner):
                rows.append(_next(cur, now, change="updated", actor=actor, **fields))
                counts["updated"] += 1
        for key, cur in current.items():
            if key in by_key or cur["rule_id"] not in ran:
                continue
            if cur["status"] == "resolved":
                if cur["change"] == "resolved":
                    # Resolved by a person and now also cleared: a later return reopens it.
                    rows.append(
                        _next(
                            cur,
                            now,
                            change="auto_resolved",
                            actor=actor,
                            comment=f"condition cleared after it was resolved: {cur['reason']}",
                        )
                    )
                    counts["auto_resolved"] += 1
                continue
            rows.append(
                _next(
                    cur,
                    now,
                    change="auto_resolved",
                    status="resolved",
                    actor=actor,
                    comment=(
                        f"condition cleared: {cur['reason']} no longer applies as of "
                        f"{jsonable(evaluation.as_of)}"
                    ),
                )
            )
            counts["auto_resolved"] += 1
        _write(store, rows)
    return counts


def _current(store: Store, exception_id: str) -> dict[str, Any] | None:
    rows = store.query(SQL["exception_history"], {"exception_id": exception_id})
    return rows[-1] if rows else None


def present(row: dict[str, Any], now: datetime | None = None) -> dict[str, Any]:
    """A stored row for callers: JSON-ready, details parsed, age in seconds."""
    now = now or utcnow()
    out = jsonable(dict(row))
    try:
        out["details"] = json.loads(row.get("details") or "{}")
    except ValueError:
        out["details"] = {"text": row.get("details")}
    since = row.get("since")
    out["age_s"] = round((now - as_utc(since)).total_seconds(), 3) if since else None
    return out


def act(
    store: Store,
    exception_id: str,
    action: str,
    actor: str,
    *,
    comment: str | None = None,
    assignee: str | None = None,
) -> dict[str, Any]:
    if action not in ACTIONS:
        raise ValueError(f"unknown action {action!r}; one of {', '.join(ACTIONS)}")
    comment = (comment or "").strip()
    assignee = (assignee or "").strip()
    with _WRITE_LOCK:
        cur = _current(store, exception_id)
        if cur is None:
            raise KeyError(exception_id)
        status = cur["status"]
        now = utcnow()
        if action == "ack":
            if status != "open":
                raise ValueError(f"cannot acknowledge: the exception is {status}")
            row = _next(
                cur, now, change="acknowledged", status="acknowledged", actor=actor, comment=comment
            )
        elif action == "assign":
            if not assignee:
                raise ValueError("assign needs an assignee")
            if status == "resolved":
                raise ValueError("cannot assign: the exception is resolved; reopen it first")
            row = _next(
                cur, now, change="assigned", actor=actor, assignee=assignee, comment=comment
            )
        elif action == "comment":
            if not comment:
                raise ValueError("comment needs a non-empty comment")
            row = _next(cur, now, change="commented", actor=actor, comment=comment)
        elif action == "resolve":
            if status == "resolved":
                raise ValueError("cannot resolve: the exception is already resolved")
            if not comment:
                raise ValueError("resolve needs a comment saying what was done")
            row = _next(
                cur, now, change="resolved", status="resolved", actor=actor, comment=comment
            )
        else:
            if status != "resolved":
                raise ValueError(f"cannot reopen: the exception is {status}")
            row = _next(
                cur,
                now,
                change="reopened",
                status="open",
                actor=actor,
                comment=comment,
                opened_at=now,
            )
        _write(store, [row])
        audit.record(
            store,
            actor,
            f"exception.{action}",
            "exception",
            exception_id,
            {
                "from": status,
                "to": row["status"],
                "version": row["version"],
                "comment": comment or None,
                "assignee": assignee or None,
            },
        )
    return present(row, now)


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
    now: datetime | None = None,
    assignees: list[str] | None = None,
    narrow: dict[str, str] | None = None,
    count_cap: int | None = None,
) -> tuple[list[dict[str, Any]], int]:
    if due and due not in DUE_STATES:
        raise ValueError(f"due: {due!r} is not one of {', '.join(DUE_STATES)}")
    at_instant = now is not None
    now = now or utcnow()
    narrow = narrow or {}
    params = {
        **{k: (narrow.get(k) or "").strip() for k in NARROWING},
        "assignees": list(assignees or []),
        "any_assignee": int(assignees is None),
        **(sla or NO_SLA).lookup_params(),
        "now": _ch(now),
        "due": due or "",
        "family": family or "",
        "reason": reason or "",
        "status": status or "",
        "site": site or "",
        "owner": owner or "",
        "since": _ch(since or _EPOCH),
        "q": (q or "").strip(),
        "sort": sort,
        "limit": max(0, min(int(limit), 10_000)),
        "offset": max(0, int(offset)),
        "count_cap": EXACT_COUNT if count_cap is None else max(0, int(count_cap)),
        "at_instant": int(at_instant),
    }
    q_is_item = lines_since = False
    if params["item"] or params["q"]:
        found = store.query(SQL["exceptions_item_lines"], params)[0]
        q_is_item, lines_since = bool(found["q_is_item"]), bool(found["lines_since"])
        params["lines_from"] = _ch(found["lines_from"])
    page_sql = _page_sql(
        "at_instant" if at_instant else "latest",
        *(["clock"] if due or sort == "due" else []),
        *(["due", f"due_{due}"] if due else []),
        *(["item"] if params["item"] else []),
        *(["search"] if params["q"] else []),
        *(["search_items"] if q_is_item else []),
        *(["item_lines", "search_lines"] if lines_since else []),
    )
    page = store.query(page_sql, params)
    if page:
        total = int(page[0]["matching"])
    elif params["offset"]:
        # Past the last page: the first row of the same filters carries the count.
        first = store.query(page_sql, {**params, "limit": 1, "offset": 0})
        total = int(first[0]["matching"]) if first else 0
    else:
        total = 0
    stored = (
        {
            (row["exception_id"], row["version"]): row
            for row in store.query(
                SQL["exceptions_rows"], {"exception_ids": [p["exception_id"] for p in page]}
            )
        }
        if page
        else {}
    )
    rows = []
    for p in page:
        row = stored[(p["exception_id"], p["version"])]
        due = (sla or NO_SLA).clock(row, now)
        clock = {
            "due_state": due.state,
            "ack_due": due.ack_due,
            "resolve_due": due.resolve_due,
            "next_due": due.next_due,
        }
        rows.append(present({**row, **clock}, now))
    return rows, total


@cache
def _page_sql(*parts: str) -> str:
    return with_blocks(SQL["exceptions_page"], parts)


def get_exception(
    store: Store, exception_id: str, as_of: datetime | None = None
) -> dict[str, Any] | None:
    rows = store.query(SQL["exception_history"], {"exception_id": exception_id})
    if as_of is not None:
        rows = [r for r in rows if as_utc(r["at"]) <= as_utc(as_of)]
    if not rows:
        return None
    now = as_of or utcnow()
    out = present(rows[-1], now)
    out["history"] = [present(r, now) for r in rows]
    return out


def _ch(dt: datetime) -> str:
    return as_utc(dt).strftime("%Y-%m-%d %H:%M:%S.%f")[:-3]
