"""Leases in the store (rxsight/lease.py): one holder at a time, a dead holder replaced once
its lease runs out, a process restarted on its own data directory holding again at once."""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from rxsight.lease import Lease
from rxsight.store import Store
from rxsight.store.migrate import migrate

# Long enough that a loaded machine never lets a lease lapse between two steps of a test.
TTL_S = 8.0


@pytest.fixture
def server_store(clickhouse_dsn: str) -> Iterator[Store]:
    """Leases matter where several processes share a ClickHouse server."""
    db = f"lease_{uuid.uuid4().hex[:10]}"
    store = Store(clickhouse_dsn, db)
    migrate(store)
    try:
        yield store
    finally:
        store.command(f"DROP DATABASE IF EXISTS {db}")
        store.close()


def test_embedded_chdb_holds_every_lease_without_asking(chdb_dir: Path) -> None:
    store = Store(f"chdb://{chdb_dir}", f"lease_{uuid.uuid4().hex[:10]}")
    try:
        # No migration, no leases table: nothing is read or written.
        assert Lease(store, "role", "host:/a", TTL_S).step() is True
        assert Lease(store, "role", "host:/b", TTL_S).held is True
    finally:
        store.command(f"DROP DATABASE IF EXISTS {store.database}")
        store.close()


def test_one_holder_at_a_time_and_takeover_after_expiry(server_store: Store) -> None:
    a = Lease(server_store, "role", "host:/a", TTL_S)
    b = Lease(server_store, "role", "host:/b", TTL_S)
    assert a.step() is True
    assert b.step() is False
    assert a.step() is True  # renewed
    assert b.step() is False
    # a stops renewing (dies): b claims once a's last renewal has expired, not before.
    deadline = time.monotonic() + 5 * TTL_S
    while not b.step():
        assert time.monotonic() < deadline, "b never took over"
        time.sleep(0.1)
    assert b.epoch == 2
    # a, back from a pause, finds the later epoch and stops acting.
    assert a.step() is False
    assert a.epoch is None and a.held is False


def test_a_claim_race_has_one_winner(server_store: Store) -> None:
    """Contenders that all saw the lease free claim the same epoch at once: the store keeps
    one claim (its deduplication token) and every contender reads back the same winner."""
    contenders = [
        Lease(server_store, f"race-{round_}", f"host:/{i}", 30.0)
        for round_ in range(3)
        for i in range(4)
    ]
    for round_ in range(3):
        group = contenders[round_ * 4 : round_ * 4 + 4]
        start = threading.Barrier(len(group))

        def claim(lease: Lease, start: threading.Barrier = start) -> None:
            start.wait()
            lease.step()

        threads = [threading.Thread(target=claim, args=(lease,)) for lease in group]
        for t in threads:
            t.start()
        for t in threads:
            t.join(30)
        assert [lease.held for lease in group].count(True) == 1
        assert (
            server_store.query_value(
                "SELECT uniqExact(holder) FROM leases WHERE name = {n:String} AND epoch = 1",
                {"n": f"race-{round_}"},
            )
            == 1
        )


def test_a_process_restarted_on_its_data_dir_holds_again_at_once(server_store: Store) -> None:
    first = Lease(server_store, "role", "host:/a", 30.0)
    assert first.step()
    restarted = Lease(server_store, "role", "host:/a", 30.0)
    assert restarted.step() is True
    assert restarted.epoch == first.epoch
