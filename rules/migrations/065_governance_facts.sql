-- Governance (rules/families/governance, DESIGN 5.8): what each flow and source system sent.
--
-- Per flow, hour and API version: spans, those carrying a correlation ID, those that failed,
-- the first and last start and the tier declared. Per source system and hour: events, those
-- carrying a correlation ID, the first and last. These are an inventory (names, counts,
-- times; nothing a span or event said otherwise), kept 400 days whatever the spans' and
-- events' retention: the quarterly portfolio review, a flow's first seen, and a registered
-- flow silent for its stale_days (up to a year) need to see past the 30 days of spans.
-- The API version is the span's `api.version`, else the version segment of `http.route`
-- (`/api/v2/orders` -> `v2`), else ''.
--
-- Spans and events go first into narrow tables (what the window's partial first and current
-- hours are counted from: (T - 24 h, T] rarely starts and ends on the hour, and a limit is
-- exact to the millisecond), which follow the spans' and events' retention (rxsight/store
-- RETENTION); the hourly inventory is filled from those, by views on them.
CREATE TABLE IF NOT EXISTS governance_spans (
    Flow LowCardinality(String),
    Timestamp DateTime64(9),
    ApiVersion LowCardinality(String),
    Correlated UInt8,
    IsError UInt8,
    Tier UInt8
) ENGINE = MergeTree
PARTITION BY toDate(Timestamp)
ORDER BY (Flow, Timestamp)
TTL toDateTime(Timestamp) + INTERVAL 30 DAY
SETTINGS ttl_only_drop_parts = 1, min_bytes_for_full_part_storage = 33554432;

CREATE TABLE IF NOT EXISTS governance_flow_hours (
    Flow LowCardinality(String),
    hour DateTime,
    ApiVersion LowCardinality(String),
    spans SimpleAggregateFunction(sum, UInt64),
    correlated SimpleAggregateFunction(sum, UInt64),
    errors SimpleAggregateFunction(sum, UInt64),
    first SimpleAggregateFunction(min, DateTime64(9)),
    last SimpleAggregateFunction(max, DateTime64(9)),
    tier SimpleAggregateFunction(max, UInt8)
) ENGINE = AggregatingMergeTree
ORDER BY (Flow, hour, ApiVersion)
TTL hour + INTERVAL 400 DAY
SETTINGS min_bytes_for_full_part_storage = 33554432;

CREATE MATERIALIZED VIEW IF NOT EXISTS governance_flow_hours_mv TO governance_flow_hours AS
SELECT Flow, toStartOfHour(Timestamp) AS hour, ApiVersion, toUInt64(count()) AS spans,
    toUInt64(sum(Correlated)) AS correlated, toUInt64(sum(IsError)) AS errors,
    min(Timestamp) AS first, max(Timestamp) AS last, max(Tier) AS tier
FROM governance_spans
GROUP BY Flow, hour, ApiVersion;

CREATE MATERIALIZED VIEW IF NOT EXISTS governance_spans_mv TO governance_spans AS
SELECT Flow, Timestamp,
    if(SpanAttributes['api.version'] != '', SpanAttributes['api.version'],
        extract(SpanAttributes['http.route'], '(?:^|/)(v[0-9]+(?:\\.[0-9]+)*)(?:/|$)')) AS ApiVersion,
    toUInt8(CorrelationId != '') AS Correlated, IsError, Tier
FROM otel_traces;

CREATE TABLE IF NOT EXISTS governance_events (
    source_system LowCardinality(String),
    occurred_at DateTime64(3, 'UTC'),
    Correlated UInt8
) ENGINE = MergeTree
PARTITION BY toYYYYMM(occurred_at)
ORDER BY (source_system, occurred_at)
TTL toDateTime(occurred_at) + INTERVAL 730 DAY
SETTINGS min_bytes_for_full_part_storage = 33554432;

CREATE TABLE IF NOT EXISTS governance_source_hours (
    source_system LowCardinality(String),
    hour DateTime,
    events SimpleAggregateFunction(sum, UInt64),
    correlated SimpleAggregateFunction(sum, UInt64),
    first SimpleAggregateFunction(min, DateTime64(3, 'UTC')),
    last SimpleAggregateFunction(max, DateTime64(3, 'UTC'))
) ENGINE = AggregatingMergeTree
ORDER BY (source_system, hour)
TTL hour + INTERVAL 400 DAY
SETTINGS min_bytes_for_full_part_storage = 33554432;

CREATE MATERIALIZED VIEW IF NOT EXISTS governance_source_hours_mv TO governance_source_hours AS
SELECT source_system, toStartOfHour(occurred_at) AS hour, toUInt64(count()) AS events,
    toUInt64(sum(Correlated)) AS correlated, min(occurred_at) AS first, max(occurred_at) AS last
FROM governance_events
GROUP BY source_system, hour;

CREATE MATERIALIZED VIEW IF NOT EXISTS governance_events_mv TO governance_events AS
SELECT source_system, occurred_at, toUInt8(correlation_id != '') AS Correlated
FROM business_events;

-- What was stored before these tables existed (once: only while they are empty); the views
-- above fill the hourly inventory from it.
INSERT INTO governance_spans
SELECT Flow, Timestamp,
    if(SpanAttributes['api.version'] != '', SpanAttributes['api.version'],
        extract(SpanAttributes['http.route'], '(?:^|/)(v[0-9]+(?:\\.[0-9]+)*)(?:/|$)')) AS ApiVersion,
    toUInt8(CorrelationId != '') AS Correlated, IsError, Tier
FROM otel_traces
WHERE (SELECT count() FROM governance_spans) = 0;

INSERT INTO governance_events
SELECT source_system, occurred_at, toUInt8(correlation_id != '') AS Correlated
FROM business_events FINAL
WHERE (SELECT count() FROM governance_events) = 0;
