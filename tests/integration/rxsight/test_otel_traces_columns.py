"""otel_traces is the OpenTelemetry Collector clickhouseexporter's traces table (DESIGN 3): every
column the exporter's INSERT names exists with the exporter's type, and the exporter's insert
runs as it would from a Collector writing directly (README "Production": then PHI scrubbing
is the Collector's, deploy/otelcol/config.yaml)."""

from __future__ import annotations

from datetime import UTC, datetime

from rxsight.store import Store

# The exporter's traces table columns and types, from clickhouseexporter's
# internal/sqltemplates/traces_table.sql (opentelemetry-collector-contrib), Nested columns as
# the arrays ClickHouse stores them as; its INSERT (traces_insert.sql) names exactly these.
EXPORTER_COLUMNS = {
    "Timestamp": "DateTime64(9)",
    "TraceId": "String",
    "SpanId": "String",
    "ParentSpanId": "String",
    "TraceState": "String",
    "SpanName": "LowCardinality(String)",
    "SpanKind": "LowCardinality(String)",
    "ServiceName": "LowCardinality(String)",
    "ResourceAttributes": "Map(LowCardinality(String), String)",
    "ScopeName": "String",
    "ScopeVersion": "String",
    "SpanAttributes": "Map(LowCardinality(String), String)",
    "Duration": "UInt64",
    "StatusCode": "LowCardinality(String)",
    "StatusMessage": "String",
    "Events.Timestamp": "Array(DateTime64(9))",
    "Events.Name": "Array(LowCardinality(String))",
    "Events.Attributes": "Array(Map(LowCardinality(String), String))",
    "Links.TraceId": "Array(String)",
    "Links.SpanId": "Array(String)",
    "Links.TraceState": "Array(String)",
    "Links.Attributes": "Array(Map(LowCardinality(String), String))",
}


def test_every_exporter_column_exists_with_its_type(store: Store) -> None:
    described = {
        r["name"]: r["type"]
        for r in store.query("DESCRIBE TABLE otel_traces SETTINGS describe_compact_output = 0")
    }
    mismatched = {
        c: (t, described.get(c)) for c, t in EXPORTER_COLUMNS.items() if described.get(c) != t
    }
    assert not mismatched, f"otel_traces differs from the exporter's table: {mismatched}"


def test_the_exporters_insert_lands_and_derives_rxsights_columns(store: Store) -> None:
    columns = list(EXPORTER_COLUMNS)
    now = datetime.now(UTC)
    row = [
        now,
        "0af7651916cd43dd8448eb211c80319c",
        "b7ad6b7169203331",
        "",
        "",
        "sync",
        "Server",
        "erp",
        {"integration.tier": "1"},
        "scope",
        "1.0",
        {"correlation.id": "CID-77", "integration.flow": "erp-po"},
        5_000_000,
        "Error",
        "boom",
        [now],
        ["retry"],
        [{"attempt": "2"}],
        [],
        [],
        [],
        [],
    ]
    store.insert_rows("otel_traces", [row], columns)
    derived = store.query(
        "SELECT CorrelationId, Flow, Tier, IsError FROM otel_traces "
        "WHERE SpanId = 'b7ad6b7169203331'"
    )
    assert derived == [{"CorrelationId": "CID-77", "Flow": "erp-po", "Tier": 1, "IsError": 1}]
