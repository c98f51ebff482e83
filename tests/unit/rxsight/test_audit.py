"""The audit log's hash chain on real chDB: appends stay one dense chain, tampering is found."""

from __future__ import annotations

import threading

from rxsight import audit
from rxsight.store import Store


def _write(store: Store, n: int, actor: str = "ada") -> list[audit.Entry]:
    return [
        audit.record(store, actor, "exception.ack", "exception", f"EX-{i}", {"i": i})
        for i in range(n)
    ]


def test_a_fresh_chain_is_sealed_dense_and_intact(store: Store) -> None:
    written = _write(store, 5)
    assert [e.seq for e in written] == [2, 3, 4, 5, 6]  # #1 is the seal
    assert all(b.prev_hash == a.hash for a, b in zip(written, written[1:], strict=False))
    result = audit.verify(store)
    assert result.intact, result.problems
    assert (result.entries, result.head_seq, result.head_hash) == (6, 6, written[-1].hash)
    assert audit.verify(store, anchor=result.anchor).intact
    rows, total = audit.entries(store, action="exception.ack", limit=2)
    assert total == 5 and [r["object_id"] for r in rows] == ["EX-4", "EX-3"]


def test_an_altered_entry_is_found(store: Store) -> None:
    _write(store, 4)
    store.command(
        "ALTER TABLE audit_log UPDATE actor = 'mallory' WHERE object_id = 'EX-2'"
        " SETTINGS mutations_sync = 2"
    )
    result = audit.verify(store)
    assert not result.intact
    assert result.problems == [
        "entry #4 (exception.ack exception EX-2) was altered: its content does not match its hash"
    ]


def test_a_removed_entry_is_found(store: Store) -> None:
    _write(store, 4)
    store.command("DELETE FROM audit_log WHERE object_id = 'EX-1'")
    assert audit.verify(store).problems == ["entries #3 are missing (removed from the chain)"]


def test_a_rewritten_entry_with_a_fresh_hash_breaks_the_link_to_the_next(store: Store) -> None:
    written = _write(store, 3)
    victim = written[1]
    forged = audit.entry_hash(
        victim.seq, victim.prev_hash, victim.at, "mallory", victim.action,
        victim.object_type, victim.object_id, victim.detail,
    )  # fmt: skip
    store.command(
        "ALTER TABLE audit_log UPDATE actor = 'mallory', hash = {h:String} WHERE seq = {s:UInt64}"
        " SETTINGS mutations_sync = 2",
        {"h": forged, "s": victim.seq},
    )
    assert audit.verify(store).problems == [
        f"entry #{victim.seq + 1} does not follow #{victim.seq}: its prev_hash differs"
    ]


def test_truncating_the_tail_is_found_against_an_anchor(store: Store) -> None:
    _write(store, 4)
    anchor = audit.verify(store).anchor
    store.command("DELETE FROM audit_log WHERE seq >= 4")
    shorter = audit.verify(store)
    assert shorter.intact  # a consistent but shorter chain: only the anchor tells
    assert audit.verify(store, anchor=anchor).problems == [
        "anchor #5 is no longer in the chain: the log was truncated"
    ]
    assert audit.verify(store, anchor="5:nothex").problems[0].startswith("anchor #5")
    assert audit.verify(store, anchor="garbage").problems == [
        "anchor: 'garbage' is not SEQ:HASH (as verify prints it)"
    ]


def test_entries_from_before_the_chain_are_sealed_and_guarded(store: Store) -> None:
    # A database upgraded from before migration 034: rows without a place in the chain.
    legacy = [
        [f"2025-01-0{d} 10:00:00.000", "otto", "create", "silence", f"S-{d}", "{}"] for d in (1, 2)
    ]
    store.insert_rows(
        "audit_log", legacy, ["at", "actor", "action", "object_type", "object_id", "detail"]
    )
    assert audit.verify(store).problems == [
        "2 entries and no chain: the log was never sealed (rxsight seals it at start)"
    ]
    audit.start_chain(store)
    audit.start_chain(store)  # once only
    _write(store, 1)
    result = audit.verify(store)
    assert result.intact and (result.earlier_entries, result.entries) == (2, 2)
    # A writer that bypasses rxsight.audit adds a row outside the chain: found.
    store.insert_rows(
        "audit_log",
        [["2026-01-01 00:00:00.000", "x", "create", "silence", "S-9", "{}"]],
        ["at", "actor", "action", "object_type", "object_id", "detail"],
    )
    assert audit.verify(store).problems == [
        "entries from before the chain were changed, added or removed (3 now, 2 when the "
        "chain was sealed)"
    ]


def test_concurrent_writers_in_one_process_keep_one_dense_chain(store: Store) -> None:
    def write(k: int) -> None:
        for i in range(10):
            audit.record(store, f"user-{k}", "silence.create", "silence", f"{k}-{i}")

    threads = [threading.Thread(target=write, args=(k,)) for k in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    result = audit.verify(store)
    assert result.intact, result.problems
    assert result.entries == 41


def test_a_writer_with_a_stale_head_takes_the_next_free_place(store: Store) -> None:
    """Another process sharing the store: its cached head is behind. Its claim of a taken
    place is dropped by ClickHouse (the deduplication token), and it moves on."""
    first = _write(store, 1)[0]
    later = _write(store, 3)
    other_process = audit._Chain(head=(first.seq, first.hash))
    entry = audit._append(store, other_process, "otto", "silence.expire", "silence", "S", "{}")
    assert (entry.seq, entry.prev_hash) == (6, later[-1].hash)
    result = audit.verify(store)
    assert result.intact, result.problems
    assert (result.entries, result.head_hash) == (6, entry.hash)
    assert [r["object_id"] for r in audit.entries(store, actor="otto")[0]] == ["S"]
