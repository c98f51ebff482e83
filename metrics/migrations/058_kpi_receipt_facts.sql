-- Metrics stage: each receipt's posting facts, kept so that receipt_posting_latency reads one
-- row per receipt instead of grouping every goods.received and receipt.posted again. A row
-- exists for a receipt both received and posted: its first goods.received (time, site) and
-- first receipt.posted, as all of its facts say (as of any T >= last_at, its latest fact).
-- A query as of T takes the row when last_at <= T and no fact of the receipt arrived after
-- the refresh watermark; every other receipt it judges from its facts as of T.
CREATE TABLE IF NOT EXISTS kpi_receipt_facts (
    receipt_id String,
    site LowCardinality(String),
    received_at DateTime64(3, 'UTC'),
    posted_at DateTime64(3, 'UTC'),
    last_at DateTime64(3, 'UTC'),
    refreshed_at DateTime64(3, 'UTC')
) ENGINE = ReplacingMergeTree(refreshed_at)
ORDER BY receipt_id;

-- The posting facts of every receipt received and posted as of {as_of}: the kept row where it
-- holds, else judged from the receipt's facts. {with_kept} = 0: only those judged (what a
-- refresh writes; {since} at the epoch: all).
CREATE VIEW IF NOT EXISTS kpi_receipt_facts_as_of AS
WITH
    {as_of:DateTime64(3, 'UTC')} AS T,
    {since:DateTime64(3, 'UTC')} AS S,
    touched AS (SELECT receipt_id FROM rules_receipts WHERE received_at > S),
    scope AS (
        SELECT receipt_id FROM touched
        UNION DISTINCT
        SELECT receipt_id FROM kpi_receipt_facts FINAL WHERE last_at > T
    )
SELECT receipt_id, site, received_at, posted_at, last_at
FROM kpi_receipt_facts FINAL
WHERE {with_kept:UInt8} = 1 AND last_at <= T AND receipt_id NOT IN touched
UNION ALL
SELECT receipt_id, tupleElement(first_received, 3) AS site,
    tupleElement(first_received, 1) AS received_at, posted_at, last_at
FROM (
    SELECT receipt_id,
        minIf((occurred_at, event_id, site), kind = 'goods.received') AS first_received,
        minIf(occurred_at, kind = 'receipt.posted') AS posted_at,
        countIf(kind = 'goods.received') AS n_received,
        countIf(kind = 'receipt.posted') AS n_posted,
        max(occurred_at) AS last_at
    FROM rules_receipts
    WHERE occurred_at <= T AND receipt_id IN scope
    GROUP BY receipt_id
    HAVING n_received > 0 AND n_posted > 0
);
