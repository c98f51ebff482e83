"""The store's server path through clickhouse-connect's HTTP transport (DESIGN 3, 9): the
driver's compression, settings, bound parameters (URL and form), Native and Arrow inserts and
errors, against the tests' ClickHouse HTTP endpoint (tests/clickhouse_http.py)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import clickhouse_connect
import pyarrow as pa
import pytest
from clickhouse_connect.driver.exceptions import DatabaseError

from rxsight.store import Store
from rxsight.store.client import SERVER_BOUND_PARAMETER_BYTES


@pytest.fixture
def server_store(clickhouse_dsn: str) -> Iterator[Store]:
    db = f"srv_{uuid.uuid4().hex[:10]}"
    store = Store(clickhouse_dsn, db)
    try:
        yield store
    finally:
        store.command(f"DROP DATABASE IF EXISTS {db}")
        store.close()


# The encodings the driver compresses inserts with (it reads deflate answers, never sends it).
@pytest.mark.parametrize("compress", ["lz4", "zstd", "gzip", False])
def test_every_compression_round_trips_inserts_and_results(clickhouse_dsn: str, compress) -> None:  # noqa: ANN001
    client = clickhouse_connect.get_client(dsn=clickhouse_dsn, compress=compress)
    table = f"default.c_{uuid.uuid4().hex[:8]}"
    try:
        client.command(f"CREATE TABLE {table} (n UInt32, s String) ENGINE = MergeTree ORDER BY n")
        rows = [[i, f"row {i} é\t'"] for i in range(5000)]
        client.insert(table, rows, column_names=["n", "s"])
        client.insert_arrow(table, pa.table({"n": pa.array([9999], pa.uint32()), "s": ["arrow"]}))
        result = client.query(f"SELECT n, s FROM {table} ORDER BY n")
        assert [list(r) for r in result.result_rows] == [*rows, [9999, "arrow"]]
    finally:
        client.command(f"DROP TABLE IF EXISTS {table}")
        client.close()


def test_settings_reach_the_engine_per_query(server_store: Store) -> None:
    over = "SELECT number FROM numbers(100)"
    with pytest.raises(DatabaseError, match="Limit for result exceeded"):
        server_store.query_named_rows(over, settings={"max_result_rows": 10})
    # The next query, without the setting, is not limited by the previous one's.
    assert len(server_store.query_rows(over)) == 100


def test_a_bound_parameter_at_the_server_limit_goes_as_a_form_field(server_store: Store) -> None:
    value = "x" * (SERVER_BOUND_PARAMETER_BYTES - 100)
    assert server_store.query_value("SELECT length({v:String})", {"v": value}) == len(value)


def test_insert_dedup_token_makes_a_replayed_insert_a_no_op(server_store: Store) -> None:
    server_store.command(
        "CREATE TABLE d (n UInt32) ENGINE = MergeTree ORDER BY n "
        "SETTINGS non_replicated_deduplication_window = 100"
    )
    data = pa.table({"n": pa.array([1, 2, 3], pa.uint32())})
    server_store.insert_arrow("d", data, dedup_token="segment-7")
    server_store.insert_arrow("d", data, dedup_token="segment-7")
    assert server_store.query_value("SELECT count() FROM d") == 3


def test_a_wrong_password_is_refused_with_the_servers_error(clickhouse_dsn: str) -> None:
    if ":test-pw@" not in clickhouse_dsn:
        pytest.skip("the DSN is an external server's")
    with pytest.raises(Exception, match="Authentication failed"):
        Store(clickhouse_dsn.replace(":test-pw@", ":wrong@"), "rxsight_nope")


def test_the_database_comes_from_the_store_not_the_session(server_store: Store) -> None:
    server_store.command("CREATE TABLE here (n UInt8) ENGINE = Memory")
    assert server_store.query_value("SELECT currentDatabase()") == server_store.database
    assert server_store.query_value("SELECT count() FROM here") == 0
