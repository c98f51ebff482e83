"""The audit log: every change a person (or a config reload) makes, append-only, hash-chained.

Each entry has a place in one chain (`seq` 1, 2, ...), the hash of the entry before it
(`prev_hash`) and its own `hash`, SHA-256 over its place, that previous hash and its content.
Changing, removing or inserting an entry breaks the chain at that point, which `verify`
(`rxsight audit verify`) reports. Removing the newest entries, or rewriting the whole tail
with fresh hashes, leaves a shorter chain that is still consistent: only a head recorded
outside the store (`verify` prints it; `--anchor SEQ:HASH` checks it is still there) shows
that. On a ClickHouse server, grant rxsight's user INSERT and SELECT on `audit_log` only, so
the log is append-only for it as well.

Writers: within a process a lock per database keeps appends in order, with the head cached.
Several processes sharing one ClickHouse each claim the next place with an insert
deduplication token `audit:<seq>` (migration 034 turns deduplication on for the table): when
two claim the same place, ClickHouse keeps the first insert and drops the second; every
writer reads its place back and, finding another hash there, re-reads the head and takes the
next place. So the chain stays single and dense without a lock shared between processes.

Entries written before the chain began (seq 0) are sealed by the chain's first entry, which
records their number and a digest of them; `verify` recomputes both.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import threading
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from pydantic import Field

from rxsight.openapi import ApiRow, Instant
from rxsight.store import SqlFiles, Store, StoreUnavailable
from rxsight.timeutil import as_utc, jsonable, rfc3339, utcnow

SQL = SqlFiles(__file__)
COLUMNS = (
    "seq",
    "prev_hash",
    "hash",
    "at",
    "actor",
    "action",
    "object_type",
    "object_id",
    "detail",
)
CHAIN_STARTED = "audit.chain_started"
# Collisions need another process appending at the same instant; a few rounds settle them.
_CLAIM_TRIES = 50
# The whole log, when entries() is given no window.
_BEGINNING = datetime(1970, 1, 1, tzinfo=UTC)
_END = datetime(2299, 12, 31, tzinfo=UTC)


@dataclass(frozen=True)
class Entry:
    seq: int
    prev_hash: str
    hash: str
    at: datetime
    actor: str
    action: str
    object_type: str
    object_id: str
    detail: str  # JSON text, exactly as stored and hashed


@dataclass
class Verification:
    """What `verify` found: the chain's length and head, and every break in it."""

    entries: int = 0
    earlier_entries: int = 0
    head_seq: int = 0
    head_hash: str = ""
    problems: list[str] = field(default_factory=list)

    @property
    def intact(self) -> bool:
        return not self.problems

    @property
    def anchor(self) -> str:
        """`SEQ:HASH` of the head, to keep outside the store and give `--anchor` later."""
        return f"{self.head_seq}:{self.head_hash}" if self.head_seq else ""

    def as_json(self) -> dict[str, Any]:
        return {
            "intact": self.intact,
            "entries": self.entries,
            "earlier_entries": self.earlier_entries,
            "head": {"seq": self.head_seq, "hash": self.head_hash} if self.head_seq else None,
            "anchor": self.anchor or None,
            "problems": self.problems,
        }


@dataclass
class _Chain:
    lock: threading.Lock = field(default_factory=threading.Lock)
    head: tuple[int, str] | None = None  # (seq, hash) of the last entry this process knows


# One chain state per database, shared by every Store object on it in this process.
_CHAINS: dict[tuple[str, str], _Chain] = {}
_CHAINS_LOCK = threading.Lock()


def _chain(store: Store) -> _Chain:
    key = (store.dsn, store.database)
    with _CHAINS_LOCK:
        return _CHAINS.setdefault(key, _Chain())


def entry_hash(
    seq: int,
    prev_hash: str,
    at: datetime,
    actor: str,
    action: str,
    object_type: str,
    object_id: str,
    detail: str,
) -> str:
    """SHA-256 over the entry's place, the previous hash and its content, as canonical JSON."""
    payload = [seq, prev_hash, rfc3339(at), actor, action, object_type, object_id, detail]
    text = json.dumps(payload, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()


def _seal_digest(rows: Iterable[Sequence[Any]]) -> tuple[int, str]:
    digest = hashlib.sha256()
    n = 0
    for at, *rest in rows:
        line = json.dumps([rfc3339(at), *rest], ensure_ascii=False, separators=(",", ":"))
        digest.update(line.encode() + b"\n")
        n += 1
    return n, digest.hexdigest()


def _detail_text(detail: Any) -> str:
    return json.dumps(
        {} if detail is None else detail, default=str, sort_keys=True, ensure_ascii=False
    )


def _now_ms() -> datetime:
    # Stored as DateTime64(3): hash exactly what reads give back.
    now = utcnow()
    return now.replace(microsecond=now.microsecond // 1000 * 1000)


def record(
    store: Store,
    actor: str,
    action: str,
    object_type: str,
    object_id: str,
    detail: Any = None,
) -> Entry:
    """Append one entry (detail: anything JSON-able) to the chain and return it."""
    chain = _chain(store)
    with chain.lock:
        if _head(store, chain) is None:
            _seal(store, chain)
        return _append(store, chain, actor, action, object_type, object_id, _detail_text(detail))


def start_chain(store: Store) -> None:
    """Seal the entries written before the chain (if any) and start it, when not yet started.
    Run at start-up, so an upgraded database is sealed before anyone changes anything."""
    chain = _chain(store)
    with chain.lock:
        if _head(store, chain) is None:
            _seal(store, chain)


def _head(store: Store, chain: _Chain) -> tuple[int, str] | None:
    if chain.head is None:
        rows = store.query_rows(SQL["audit_head"])
        chain.head = (int(rows[0][0]), str(rows[0][1])) if rows else None
    return chain.head


def _seal(store: Store, chain: _Chain) -> None:
    count, digest = _seal_digest(store.query_rows(SQL["audit_unchained"]))
    detail = {"earlier_entries": count, "earlier_digest": digest}
    _append(store, chain, "rxsight", CHAIN_STARTED, "audit_log", "chain", _detail_text(detail))


def _append(
    store: Store,
    chain: _Chain,
    actor: str,
    action: str,
    object_type: str,
    object_id: str,
    detail: str,
) -> Entry:
    for _ in range(_CLAIM_TRIES):
        seq, prev = _head(store, chain) or (0, "")
        at = _now_ms()
        entry = Entry(
            seq=seq + 1,
            prev_hash=prev,
            hash=entry_hash(seq + 1, prev, at, actor, action, object_type, object_id, detail),
            at=at,
            actor=actor,
            action=action,
            object_type=object_type,
            object_id=object_id,
            detail=detail,
        )
        store.insert_rows(
            "audit_log",
            [[getattr(entry, c) for c in COLUMNS]],
            COLUMNS,
            dedup_token=f"audit:{entry.seq}",
        )
        placed = {r[0] for r in store.query_rows(SQL["audit_hashes_at"], {"seq": entry.seq})}
        if entry.hash in placed:
            chain.head = (entry.seq, entry.hash)
            return entry
        chain.head = None  # another writer took this place: read the head again
    raise StoreUnavailable(
        f"audit log: no place in the chain after {_CLAIM_TRIES} tries (other writers kept "
        "taking it)"
    )


def verify(store: Store, anchor: str | None = None) -> Verification:
    """Walk the chain: every place filled once, each entry's hash matching its content and
    the next entry's prev_hash, the seal matching the earlier entries, the anchor present."""
    out = Verification()
    out.earlier_entries, earlier_digest = _seal_digest(store.query_rows(SQL["audit_unchained"]))
    names, rows = store.query_named_rows(SQL["audit_chain"])
    by_place: dict[int, list[dict[str, Any]]] = {}
    for row in rows:
        item = dict(zip(names, row, strict=True))
        by_place.setdefault(int(item["seq"]), []).append(item)
    problems = out.problems
    if not by_place:
        if out.earlier_entries:
            problems.append(
                f"{out.earlier_entries} entries and no chain: the log was never sealed "
                "(rxsight seals it at start)"
            )
        return out
    expected, prev = 1, ""
    for seq in sorted(by_place):
        if seq > expected:
            span = f"#{expected}" if seq == expected + 1 else f"#{expected} to #{seq - 1}"
            problems.append(f"entries {span} are missing (removed from the chain)")
        claims = by_place[seq]
        if len(claims) > 1:
            problems.append(f"entry #{seq}: {len(claims)} entries claim this place")
        item = next((c for c in claims if c["prev_hash"] == prev), claims[0])
        recomputed = entry_hash(
            seq,
            item["prev_hash"],
            as_utc(item["at"]),
            item["actor"],
            item["action"],
            item["object_type"],
            item["object_id"],
            item["detail"],
        )
        if recomputed != item["hash"]:
            problems.append(
                f"entry #{seq} ({item['action']} {item['object_type']} {item['object_id']}) "
                "was altered: its content does not match its hash"
            )
        if seq == expected and item["prev_hash"] != prev:
            problems.append(f"entry #{seq} does not follow #{seq - 1}: its prev_hash differs")
        if seq == 1:
            _check_seal(item, out.earlier_entries, earlier_digest, problems)
        expected, prev = seq + 1, item["hash"]
        out.entries += 1
        out.head_seq, out.head_hash = seq, item["hash"]
    if anchor:
        _check_anchor(anchor, by_place, problems)
    return out


def _check_seal(first: dict[str, Any], count: int, digest: str, problems: list[str]) -> None:
    if first["action"] != CHAIN_STARTED:
        problems.append(f"entry #1 is {first['action']!r}, not the chain's seal")
        return
    try:
        sealed = json.loads(first["detail"])
    except ValueError:
        sealed = {}
    if sealed.get("earlier_digest") != digest:
        problems.append(
            "entries from before the chain were changed, added or removed "
            f"({count} now, {sealed.get('earlier_entries')} when the chain was sealed)"
        )


def _check_anchor(anchor: str, by_place: dict[int, list[dict[str, Any]]], problems: list[str]):
    seq_text, _, want = anchor.partition(":")
    if not seq_text.isdigit() or not want:
        problems.append(f"anchor: {anchor!r} is not SEQ:HASH (as verify prints it)")
        return
    seq = int(seq_text)
    if seq not in by_place:
        problems.append(f"anchor #{seq} is no longer in the chain: the log was truncated")
    elif want not in {c["hash"] for c in by_place[seq]}:
        problems.append(f"anchor #{seq} has another hash now: the log was rewritten from there")


def entries(
    store: Store,
    *,
    actor: str = "",
    action: str = "",
    object_type: str = "",
    object_id: str = "",
    limit: int = 50,
    offset: int = 0,
    since: datetime | None = None,
    until: datetime | None = None,
) -> tuple[list[dict[str, Any]], int]:
    """Entries newest first, narrowed by any of actor, action, object and to those written
    from `since` up to `until` (as the log stood then); and how many match.
    Each row: seq, at, actor, action, object_type, object_id, detail (JSON text)."""
    params = {
        "actor": actor,
        "action": action,
        "object_type": object_type,
        "object_id": object_id,
        # Bound DateTime64 parameters are naive UTC.
        "since": as_utc(since or _BEGINNING).replace(tzinfo=None),
        "until": as_utc(until or _END).replace(tzinfo=None),
    }
    page = {"limit": max(0, min(int(limit), 10_000)), "offset": max(0, int(offset))}
    rows = store.query(SQL["audit_entries"], {**params, **page})
    if rows:
        total = int(rows[0]["matching"])
    else:
        total = int(store.query_value(SQL["audit_count"], params) or 0) if page["offset"] else 0
    for row in rows:
        del row["matching"]
    return rows, total


def as_json(row: dict[str, Any]) -> dict[str, Any]:
    """An entry from `entries` for JSON: time as RFC 3339, detail parsed."""
    out = jsonable(dict(row))
    with contextlib.suppress(ValueError):
        out["detail"] = json.loads(row["detail"])
    return out


class AuditEntry(ApiRow):
    """One audit entry as `as_json` gives it."""

    seq: int
    at: Instant
    actor: str
    action: str
    object_type: str
    object_id: str
    detail: Any = Field(description="what changed: JSON as recorded (usually an object)")
