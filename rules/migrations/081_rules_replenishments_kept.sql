-- The console's /replenishments page reads which requests are open from a kept row per
-- request, refreshed by the rules scheduler (rules/replenishments.py), never on the request
-- path. Replaces 080's rows: these carry the open_replenishment rule's own row for a request
-- open with every fact (reason, due instant, site, domain, details), so the page neither
-- judges its rows again nor looks up the thresholds itself.
--
-- A row states the request at every instant at or after `last_fact_at` (the latest event
-- time among its request events, its PO lines and their receipts): open there if and only if
-- `open_at_end`, with the rule's row as it is then. Before `requested_at` it is not open; from
-- `cancelled_at` on it is closed. Between those, before `last_fact_at`, the page asks the
-- rule. ReplacingMergeTree keeps each request's latest refresh.
DROP TABLE IF EXISTS rules_replenishment_requests;
DROP TABLE IF EXISTS rules_replenishment_refreshes;

CREATE TABLE IF NOT EXISTS rules_replenishments_kept (
    correlation_id String,
    refreshed_at DateTime64(3, 'UTC'),
    requested_at Nullable(DateTime64(3, 'UTC')),
    cancelled_at Nullable(DateTime64(3, 'UTC')),
    last_fact_at DateTime64(3, 'UTC'),
    open_at_end UInt8,
    reason LowCardinality(String),
    since Nullable(DateTime64(3, 'UTC')),
    site LowCardinality(String),
    domain LowCardinality(String),
    details String,
    -- From details, for the page's filters.
    priority LowCardinality(String),
    item_id String
) ENGINE = ReplacingMergeTree(refreshed_at)
ORDER BY correlation_id;

-- Each refresh: facts received by `refreshed_at` are in the rows above, judged with these
-- threshold lookup arrays (a change of thresholds makes the rows' due instants stale).
CREATE TABLE IF NOT EXISTS rules_replenishments_refreshed (
    refreshed_at DateTime64(3, 'UTC'),
    tk Array(String),
    tv Array(Int64)
) ENGINE = MergeTree
ORDER BY refreshed_at
TTL toDateTime(refreshed_at) + INTERVAL 7 DAY;

-- The rule's rows for a set of requests (as rules/families/open_replenishment returns them),
-- handed to the refresh and the page by run_id as rules_scope hands keys. Short-lived.
CREATE TABLE IF NOT EXISTS rules_replenishment_verdicts (
    run_id String,
    correlation_id String,
    reason LowCardinality(String),
    since DateTime64(3, 'UTC'),
    site LowCardinality(String),
    domain LowCardinality(String),
    details String,
    at DateTime DEFAULT now()
) ENGINE = MergeTree
ORDER BY (run_id, correlation_id)
TTL at + INTERVAL 1 HOUR;

-- Requests whose facts (request events, PO lines, receipts of their POs) arrived after
-- {since}: what a refresh brings up to date, and what the page cannot take from the rows
-- above until it has.
CREATE VIEW IF NOT EXISTS rules_replenishments_touched AS
SELECT correlation_id FROM rules_requests WHERE received_at > {since:DateTime64(3, 'UTC')}
UNION ALL
SELECT correlation_id FROM rules_po_lines WHERE received_at > {since:DateTime64(3, 'UTC')}
UNION ALL
SELECT correlation_id FROM rules_po_lines WHERE po_number IN (
    SELECT po_number FROM rules_receipt_lines WHERE received_at > {since:DateTime64(3, 'UTC')});
