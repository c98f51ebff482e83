-- Rules stage: narrow per-entity fact tables keyed by business key, fed incrementally by
-- materialized views, so an evaluation reads the facts of the entities it looks at (by
-- primary-key range) instead of scanning history. Every fact keeps its own time
-- (occurred_at / span start): as-of evaluation filters on it. ReplacingMergeTree keyed by
-- event_id (and line) folds any event delivered twice; readers use FINAL.
-- Lines: an event without lines counts as one line (line_no 0) from its header fields.

CREATE TABLE IF NOT EXISTS rules_requests (
    correlation_id String,
    event_id String,
    kind LowCardinality(String),
    occurred_at DateTime64(3, 'UTC'),
    site LowCardinality(String),
    domain LowCardinality(String),
    priority LowCardinality(String),
    item_id String,
    quantity Nullable(Decimal(18, 4))
) ENGINE = ReplacingMergeTree
ORDER BY (correlation_id, event_id);

CREATE MATERIALIZED VIEW IF NOT EXISTS rules_requests_mv TO rules_requests AS
SELECT correlation_id, event_id, event_type AS kind, occurred_at, site, domain, priority,
    item_id, quantity
FROM business_events
WHERE event_type IN ('replenishment.requested', 'replenishment.cancelled');

CREATE TABLE IF NOT EXISTS rules_po_lines (
    po_number String,
    event_id String,
    line_no UInt32,
    occurred_at DateTime64(3, 'UTC'),
    correlation_id String,
    site LowCardinality(String),
    domain LowCardinality(String),
    supplier_id LowCardinality(String),
    expected_at Nullable(DateTime64(3, 'UTC')),
    item_id String,
    quantity Decimal(18, 4),
    unit_price Nullable(Decimal(18, 4)),
    INDEX idx_correlation_id correlation_id TYPE bloom_filter(0.01) GRANULARITY 1
) ENGINE = ReplacingMergeTree
ORDER BY (po_number, event_id, line_no);

CREATE MATERIALIZED VIEW IF NOT EXISTS rules_po_lines_mv TO rules_po_lines AS
SELECT po_number, event_id, tupleElement(l, 1) AS line_no, occurred_at, correlation_id, site, domain,
    supplier_id, expected_at, tupleElement(l, 2) AS item_id, ifNull(tupleElement(l, 3), toDecimal64(0, 4)) AS quantity,
    tupleElement(l, 4) AS unit_price
FROM (
    SELECT *, arrayJoin(if(empty(`lines.line_no`),
    [(toUInt32(0), item_id, quantity, unit_price)],
    arrayZip(`lines.line_no`, `lines.item_id`, `lines.quantity`, `lines.unit_price`))) AS l
    FROM business_events
    WHERE event_type = 'po.created' AND po_number != ''
);

CREATE TABLE IF NOT EXISTS rules_po_acks (
    po_number String,
    event_id String,
    occurred_at DateTime64(3, 'UTC'),
    status LowCardinality(String),
    promised_at Nullable(DateTime64(3, 'UTC'))
) ENGINE = ReplacingMergeTree
ORDER BY (po_number, event_id);

CREATE MATERIALIZED VIEW IF NOT EXISTS rules_po_acks_mv TO rules_po_acks AS
SELECT po_number, event_id, occurred_at, status, promised_at
FROM business_events
WHERE event_type = 'po.acknowledged' AND po_number != '';

CREATE TABLE IF NOT EXISTS rules_receipt_lines (
    po_number String,
    event_id String,
    line_no UInt32,
    occurred_at DateTime64(3, 'UTC'),
    receipt_id String,
    item_id String,
    quantity Decimal(18, 4)
) ENGINE = ReplacingMergeTree
ORDER BY (po_number, event_id, line_no);

CREATE MATERIALIZED VIEW IF NOT EXISTS rules_receipt_lines_mv TO rules_receipt_lines AS
SELECT po_number, event_id, tupleElement(l, 1) AS line_no, occurred_at, receipt_id, tupleElement(l, 2) AS item_id,
    ifNull(tupleElement(l, 3), toDecimal64(0, 4)) AS quantity
FROM (
    SELECT *, arrayJoin(if(empty(`lines.line_no`),
    [(toUInt32(0), item_id, quantity)],
    arrayZip(`lines.line_no`, `lines.item_id`, `lines.quantity`))) AS l
    FROM business_events
    WHERE event_type = 'goods.received' AND po_number != ''
);

CREATE TABLE IF NOT EXISTS rules_receipts (
    receipt_id String,
    event_id String,
    kind LowCardinality(String),
    occurred_at DateTime64(3, 'UTC'),
    site LowCardinality(String),
    domain LowCardinality(String),
    po_number String,
    supplier_id LowCardinality(String),
    correlation_id String
) ENGINE = ReplacingMergeTree
ORDER BY (receipt_id, event_id);

CREATE MATERIALIZED VIEW IF NOT EXISTS rules_receipts_mv TO rules_receipts AS
SELECT receipt_id, event_id, event_type AS kind, occurred_at, site, domain, po_number,
    supplier_id, correlation_id
FROM business_events
WHERE event_type IN ('goods.received', 'receipt.posted') AND receipt_id != '';

CREATE TABLE IF NOT EXISTS rules_invoice_lines (
    supplier_id LowCardinality(String),
    invoice_number String,
    event_id String,
    line_no UInt32,
    occurred_at DateTime64(3, 'UTC'),
    po_number String,
    correlation_id String,
    site LowCardinality(String),
    domain LowCardinality(String),
    item_id String,
    quantity Decimal(18, 4),
    unit_price Nullable(Decimal(18, 4)),
    INDEX idx_po_number po_number TYPE bloom_filter(0.01) GRANULARITY 1
) ENGINE = ReplacingMergeTree
ORDER BY (supplier_id, invoice_number, event_id, line_no);

CREATE MATERIALIZED VIEW IF NOT EXISTS rules_invoice_lines_mv TO rules_invoice_lines AS
SELECT supplier_id, invoice_number, event_id, tupleElement(l, 1) AS line_no, occurred_at, po_number,
    correlation_id, site, domain, tupleElement(l, 2) AS item_id, ifNull(tupleElement(l, 3), toDecimal64(0, 4)) AS quantity,
    tupleElement(l, 4) AS unit_price
FROM (
    SELECT *, arrayJoin(if(empty(`lines.line_no`),
    [(toUInt32(0), item_id, quantity, unit_price)],
    arrayZip(`lines.line_no`, `lines.item_id`, `lines.quantity`, `lines.unit_price`))) AS l
    FROM business_events
    WHERE event_type = 'invoice.received' AND invoice_number != ''
);

CREATE TABLE IF NOT EXISTS rules_invoice_closes (
    supplier_id LowCardinality(String),
    invoice_number String,
    event_id String,
    kind LowCardinality(String),
    occurred_at DateTime64(3, 'UTC')
) ENGINE = ReplacingMergeTree
ORDER BY (supplier_id, invoice_number, event_id);

CREATE MATERIALIZED VIEW IF NOT EXISTS rules_invoice_closes_mv TO rules_invoice_closes AS
SELECT supplier_id, invoice_number, event_id, event_type AS kind, occurred_at
FROM business_events
WHERE event_type = 'invoice.matched' AND invoice_number != '';

-- Spans, narrowed to what the SLA rules read, ordered by flow and start.
CREATE TABLE IF NOT EXISTS rules_spans (
    Flow LowCardinality(String),
    Timestamp DateTime64(9),
    Duration UInt64,
    IsError UInt8,
    Tier UInt8
) ENGINE = MergeTree
PARTITION BY toDate(Timestamp)
ORDER BY (Flow, Timestamp)
TTL toDateTime(Timestamp) + INTERVAL 30 DAY
SETTINGS ttl_only_drop_parts = 1;

CREATE MATERIALIZED VIEW IF NOT EXISTS rules_spans_mv TO rules_spans AS
SELECT Flow, Timestamp, Duration, IsError, Tier
FROM otel_traces;

-- One row per flow and hour: the latest span start and the tier it declared, so "when was
-- this flow last seen" never scans old spans.
CREATE TABLE IF NOT EXISTS rules_flow_hours (
    Flow LowCardinality(String),
    hour DateTime,
    last SimpleAggregateFunction(max, DateTime64(9)),
    spans SimpleAggregateFunction(sum, UInt64),
    tier SimpleAggregateFunction(max, UInt8)
) ENGINE = AggregatingMergeTree
ORDER BY (Flow, hour)
TTL hour + INTERVAL 30 DAY;

CREATE MATERIALIZED VIEW IF NOT EXISTS rules_flow_hours_mv TO rules_flow_hours AS
SELECT Flow, toStartOfHour(Timestamp) AS hour, max(Timestamp) AS last,
    toUInt64(count()) AS spans, max(Tier) AS tier
FROM otel_traces
GROUP BY Flow, hour;
