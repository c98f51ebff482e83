-- Console: each business key (PO, invoice, receipt, correlation ID) with the transactions
-- that carry it, for search and for events linked only by business key. Fed by a
-- materialized view; the INSERT fills it from data stored before it existed. Duplicates
-- fold (ReplacingMergeTree); readers use DISTINCT. A transaction's own events are read
-- from business_events, which is clustered by correlation ID.
CREATE TABLE IF NOT EXISTS console_keys (
    key String,
    key_type LowCardinality(String),
    correlation_id String,
    occurred_at DateTime64(3, 'UTC')
) ENGINE = ReplacingMergeTree(occurred_at)
ORDER BY (key, key_type, correlation_id)
TTL toDateTime(occurred_at) + INTERVAL 730 DAY;

CREATE MATERIALIZED VIEW IF NOT EXISTS console_keys_mv TO console_keys AS
SELECT tupleElement(k, 1) AS key, tupleElement(k, 2) AS key_type, correlation_id, occurred_at
FROM (
    SELECT correlation_id, occurred_at, arrayJoin(arrayFilter(t -> tupleElement(t, 1) != '', [
        (correlation_id, 'correlation_id'), (po_number, 'po_number'),
        (invoice_number, 'invoice_number'), (receipt_id, 'receipt_id')])) AS k
    FROM business_events
);

INSERT INTO console_keys
SELECT tupleElement(k, 1) AS key, tupleElement(k, 2) AS key_type, correlation_id, occurred_at
FROM (
    SELECT correlation_id, occurred_at, arrayJoin(arrayFilter(t -> tupleElement(t, 1) != '', [
        (correlation_id, 'correlation_id'), (po_number, 'po_number'),
        (invoice_number, 'invoice_number'), (receipt_id, 'receipt_id')])) AS k
    FROM business_events
);
