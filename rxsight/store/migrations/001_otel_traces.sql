-- Spans, column-compatible with the OpenTelemetry Collector clickhouseexporter traces table,
-- so a user's collector can insert here directly and Grafana's ClickHouse plugin reads it.
-- CorrelationId / Flow / Tier are derived; the exporter's INSERT names its columns.
-- The exporter's bloom indexes on map keys and values are left out: they halve the insert
-- rate, and rxsight looks spans up by TraceId, CorrelationId and time.
CREATE TABLE IF NOT EXISTS otel_traces (
    Timestamp DateTime64(9) CODEC(Delta, ZSTD(1)),
    TraceId String CODEC(ZSTD(1)),
    SpanId String CODEC(ZSTD(1)),
    ParentSpanId String CODEC(ZSTD(1)),
    TraceState String CODEC(ZSTD(1)),
    SpanName LowCardinality(String) CODEC(ZSTD(1)),
    SpanKind LowCardinality(String) CODEC(ZSTD(1)),
    ServiceName LowCardinality(String) CODEC(ZSTD(1)),
    ResourceAttributes Map(LowCardinality(String), String) CODEC(ZSTD(1)),
    ScopeName String CODEC(ZSTD(1)),
    ScopeVersion String CODEC(ZSTD(1)),
    SpanAttributes Map(LowCardinality(String), String) CODEC(ZSTD(1)),
    Duration UInt64 CODEC(T64, ZSTD(1)),
    StatusCode LowCardinality(String) CODEC(ZSTD(1)),
    StatusMessage String CODEC(ZSTD(1)),
    Events Nested (
        Timestamp DateTime64(9),
        Name LowCardinality(String),
        Attributes Map(LowCardinality(String), String)
    ) CODEC(ZSTD(1)),
    Links Nested (
        TraceId String,
        SpanId String,
        TraceState String,
        Attributes Map(LowCardinality(String), String)
    ) CODEC(ZSTD(1)),
    CorrelationId String MATERIALIZED multiIf(
        SpanAttributes['correlation.id'] != '', SpanAttributes['correlation.id'],
        SpanAttributes['correlation_id'] != '', SpanAttributes['correlation_id'],
        SpanAttributes['x-correlation-id'] != '', SpanAttributes['x-correlation-id'],
        ResourceAttributes['correlation.id']) CODEC(ZSTD(1)),
    Flow LowCardinality(String) MATERIALIZED if(
        SpanAttributes['integration.flow'] != '', SpanAttributes['integration.flow'],
        ServiceName) CODEC(ZSTD(1)),
    Tier UInt8 MATERIALIZED toUInt8OrZero(if(
        SpanAttributes['integration.tier'] != '', SpanAttributes['integration.tier'],
        ResourceAttributes['integration.tier'])),
    IsError UInt8 MATERIALIZED StatusCode IN ('Error', 'STATUS_CODE_ERROR'),
    INDEX idx_trace_id TraceId TYPE bloom_filter(0.001) GRANULARITY 1,
    INDEX idx_correlation_id CorrelationId TYPE bloom_filter(0.01) GRANULARITY 1,
    INDEX idx_duration Duration TYPE minmax GRANULARITY 1
) ENGINE = MergeTree
PARTITION BY toDate(Timestamp)
ORDER BY (ServiceName, SpanName, toDateTime(Timestamp), Timestamp)
TTL toDateTime(Timestamp) + INTERVAL 30 DAY
SETTINGS index_granularity = 8192, ttl_only_drop_parts = 1,
    non_replicated_deduplication_window = 10000;

CREATE TABLE IF NOT EXISTS otel_traces_trace_id_ts (
    TraceId String CODEC(ZSTD(1)),
    Start DateTime CODEC(Delta, ZSTD(1)),
    End DateTime CODEC(Delta, ZSTD(1)),
    INDEX idx_trace_id TraceId TYPE bloom_filter(0.01) GRANULARITY 1
) ENGINE = MergeTree
PARTITION BY toDate(Start)
ORDER BY (TraceId, Start)
TTL toDate(Start) + INTERVAL 30 DAY
SETTINGS index_granularity = 8192, ttl_only_drop_parts = 1;

CREATE MATERIALIZED VIEW IF NOT EXISTS otel_traces_trace_id_ts_mv
TO otel_traces_trace_id_ts AS
SELECT
    TraceId,
    min(Timestamp) AS Start,
    max(Timestamp) AS End
FROM otel_traces
WHERE TraceId != ''
GROUP BY TraceId;
