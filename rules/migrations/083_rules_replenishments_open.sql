-- The kept rows of the requests open with every fact (rules_replenishments_kept's
-- open_at_end = 1, with the rule's row) apart, so /replenishments reads these few instead of
-- a row per request ever made. A refresh writes the rows of the requests it refreshed here
-- too (is_open = 0 for a request that closed: newer, so FINAL keeps it), and every few hours
-- writes every open request's row again from rules_replenishments_kept; its record in
-- rules_replenishments_refreshed carries the instant of that restatement (`open_since`), and
-- the page reads only rows written since. Older rows are superseded, and expire.
CREATE TABLE IF NOT EXISTS rules_replenishments_open (
    correlation_id String,
    refreshed_at DateTime64(3, 'UTC'),
    is_open UInt8,
    requested_at DateTime64(3, 'UTC'),
    last_fact_at DateTime64(3, 'UTC'),
    reason LowCardinality(String),
    since DateTime64(3, 'UTC'),
    site LowCardinality(String),
    domain LowCardinality(String),
    details String,
    priority LowCardinality(String),
    item_id String
) ENGINE = ReplacingMergeTree(refreshed_at)
ORDER BY correlation_id
TTL toDateTime(refreshed_at) + INTERVAL 2 DAY;

ALTER TABLE rules_replenishments_refreshed ADD COLUMN IF NOT EXISTS open_since DateTime64(3, 'UTC');
