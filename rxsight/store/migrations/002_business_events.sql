-- Canonical business events (DESIGN section 4). Idempotent by event_id: the collector
-- skips event_ids already stored, and ReplacingMergeTree folds any that slip through;
-- readers that must never double count use LIMIT 1 BY event_id (or FINAL).
-- Ordered by correlation ID so one transaction's events sit together: a timeline reads a
-- granule or two, the writer's duplicate check is a primary-key lookup, and neighbouring
-- rows share their IDs and keys, which is most of what makes an event compress.
-- Absent optional strings are stored as '' (LowCardinality columns cannot be Nullable
-- cheaply); absent numbers and times are NULL.
CREATE TABLE IF NOT EXISTS business_events (
    event_id String CODEC(ZSTD(1)),
    event_type LowCardinality(String),
    occurred_at DateTime64(3, 'UTC') CODEC(Delta, ZSTD(1)),
    received_at DateTime64(3, 'UTC') CODEC(Delta, ZSTD(1)),
    correlation_id String CODEC(ZSTD(1)),
    source_system LowCardinality(String),
    site LowCardinality(String),
    domain LowCardinality(String),
    item_id String CODEC(ZSTD(1)),
    supplier_id LowCardinality(String),
    po_number String CODEC(ZSTD(1)),
    invoice_number String CODEC(ZSTD(1)),
    receipt_id String CODEC(ZSTD(1)),
    quantity Nullable(Decimal(18, 4)),
    unit_price Nullable(Decimal(18, 4)),
    amount Nullable(Decimal(18, 4)),
    currency LowCardinality(String),
    cost_center LowCardinality(String),
    priority LowCardinality(String),
    status LowCardinality(String),
    expected_at Nullable(DateTime64(3, 'UTC')),
    promised_at Nullable(DateTime64(3, 'UTC')),
    due_at Nullable(DateTime64(3, 'UTC')),
    trace_id String CODEC(ZSTD(1)),
    lines Nested (
        line_no UInt32,
        item_id String,
        quantity Nullable(Decimal(18, 4)),
        unit_price Nullable(Decimal(18, 4)),
        uom LowCardinality(String)
    ),
    attributes Map(LowCardinality(String), String) CODEC(ZSTD(1)),
    INDEX idx_po_number po_number TYPE bloom_filter(0.01) GRANULARITY 1,
    INDEX idx_invoice_number invoice_number TYPE bloom_filter(0.01) GRANULARITY 1,
    INDEX idx_receipt_id receipt_id TYPE bloom_filter(0.01) GRANULARITY 1
) ENGINE = ReplacingMergeTree(received_at)
ORDER BY (correlation_id, event_id)
TTL toDateTime(occurred_at) + INTERVAL 730 DAY
SETTINGS index_granularity = 8192;
