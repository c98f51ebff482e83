-- One row per replenishment request for the console's /replenishments page: which requests
-- are open at an instant is read here instead of judging every request in history on each
-- page view. A row is refreshed (rules/replenishments.py) from every fact visible then, for
-- the requests whose facts arrived since the previous refresh; ReplacingMergeTree keeps the
-- latest refresh of each request.
--
-- The row states the request as of every instant at or after `last_fact_at` (the latest
-- event time among its request events, its PO lines and their receipts): there `open_at_end`
-- is the open_replenishment rule's own verdict, taken with every fact. Before
-- `requested_at` it is not open; from `cancelled_at` on it is closed. Between those, before
-- `last_fact_at`, the page asks the rule. Site and item are kept as sent: the page maps
-- them through the crosswalk in force at its instant, as the rule does.
CREATE TABLE IF NOT EXISTS rules_replenishment_requests (
    correlation_id String,
    refreshed_at DateTime64(3, 'UTC'),
    requested_at Nullable(DateTime64(3, 'UTC')),
    cancelled_at Nullable(DateTime64(3, 'UTC')),
    first_po_at Nullable(DateTime64(3, 'UTC')),
    last_fact_at DateTime64(3, 'UTC'),
    site LowCardinality(String),
    priority LowCardinality(String),
    item_id String,
    open_at_end UInt8
) ENGINE = ReplacingMergeTree(refreshed_at)
ORDER BY correlation_id;

-- Each refresh's watermark: facts received by then are in the rows above.
CREATE TABLE IF NOT EXISTS rules_replenishment_refreshes (
    refreshed_at DateTime64(3, 'UTC')
) ENGINE = MergeTree
ORDER BY refreshed_at;
