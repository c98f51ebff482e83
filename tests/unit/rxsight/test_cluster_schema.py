"""The migrations rendered for a cluster (RXSIGHT_CLICKHOUSE_CLUSTER): every table replicated
with a Distributed twin under its plain name, every DDL statement ON CLUSTER, and every
rendered statement accepted by ClickHouse's own parser (formatQuery in chDB)."""

from __future__ import annotations

import re

from rxsight.app import STAGES_WITH_SCHEMA
from rxsight.store import Store
from rxsight.store.cluster import render, sharding_key
from rxsight.store.migrate import migrations
from rxsight.store.sql import split_statements

CLUSTER = "rx_cluster"


def rendered() -> list[str]:
    out = []
    for _, script in migrations(STAGES_WITH_SCHEMA):
        for statement in split_statements(script):
            out.extend(render(statement, CLUSTER))
    return out


def created(statements: list[str], pattern: str) -> dict[str, str]:
    return {m.group(1): s for s in statements if (m := re.match(pattern, s.strip(), re.I | re.S))}


def test_every_table_is_replicated_with_a_distributed_twin() -> None:
    statements = rendered()
    tables = created(statements, r"CREATE TABLE IF NOT EXISTS (\w+) ON CLUSTER '\w+' \(")
    twins = created(statements, r"CREATE TABLE IF NOT EXISTS (\w+) ON CLUSTER '\w+' AS ")
    assert tables and all(name.endswith("_local") for name in tables)
    assert {f"{name}_local" for name in twins} == set(tables)
    for name, sql in tables.items():
        assert re.search(r"ENGINE = Replicated\w*MergeTree\('/clickhouse/tables/", sql), name
        assert "non_replicated_deduplication_window" not in sql, name
    for name, sql in twins.items():
        assert f"Distributed('{CLUSTER}', currentDatabase(), '{name}_local', " in sql


def test_every_ddl_statement_runs_on_the_cluster() -> None:
    for statement in rendered():
        if statement.lstrip().upper().startswith(("CREATE", "ALTER", "DROP")):
            assert f"ON CLUSTER '{CLUSTER}'" in statement, statement[:120]


def test_views_fire_on_local_inserts_and_write_through_the_distributed_target() -> None:
    views = [s for s in rendered() if "MATERIALIZED VIEW" in s]
    assert views
    for view in views:
        target = re.search(r" TO (\w+) AS", view).group(1)
        source = re.search(r"\bFROM\s+(\w+)", view.split(" AS", 1)[1], re.I).group(1)
        assert not target.endswith("_local") and source.endswith("_local"), view[:160]


def test_sharding_keys_keep_a_transaction_or_a_key_on_one_shard() -> None:
    scripts = dict(migrations(STAGES_WITH_SCHEMA))
    traces = split_statements(scripts["001_otel_traces"])[0]
    assert sharding_key(traces) == "cityHash64(CorrelationId)"
    audit = next(s for s in split_statements(scripts["003_audit_log"]) if "CREATE TABLE" in s)
    assert "correlation" not in sharding_key(audit)


def test_single_server_and_chdb_statements_are_unchanged() -> None:
    statement = "CREATE TABLE IF NOT EXISTS t (a UInt8) ENGINE = MergeTree ORDER BY a"
    assert render(statement, None) == [statement]


def test_clickhouse_parses_every_rendered_statement(store: Store) -> None:
    for statement in rendered():
        formatted = store.query_value("SELECT formatQuery({q:String})", {"q": statement})
        assert formatted, statement[:120]
