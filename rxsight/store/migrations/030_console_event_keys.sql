-- Console: every business event under each business key it carries (correlation ID, PO,
-- invoice, receipt), ordered by key, so a transaction timeline or a search reads a few
-- granules instead of probing the bloom filters of all of business_events (which is
-- ordered by event_id). Fed by a materialized view; the INSERT below fills it from data
-- stored before it existed. Duplicates fold (ReplacingMergeTree); readers use DISTINCT.
CREATE TABLE IF NOT EXISTS console_event_keys (
    key String,
    key_type LowCardinality(String),
    event_id String,
    occurred_at DateTime64(3, 'UTC')
) ENGINE = ReplacingMergeTree
ORDER BY (key, key_type, event_id);

CREATE MATERIALIZED VIEW IF NOT EXISTS console_event_keys_mv TO console_event_keys AS
SELECT tupleElement(k, 1) AS key, tupleElement(k, 2) AS key_type, event_id, occurred_at
FROM (
    SELECT event_id, occurred_at, arrayJoin(arrayFilter(t -> tupleElement(t, 1) != '', [
        (correlation_id, 'correlation_id'), (po_number, 'po_number'),
        (invoice_number, 'invoice_number'), (receipt_id, 'receipt_id')])) AS k
    FROM business_events
);

INSERT INTO console_event_keys
SELECT tupleElement(k, 1) AS key, tupleElement(k, 2) AS key_type, event_id, occurred_at
FROM (
    SELECT event_id, occurred_at, arrayJoin(arrayFilter(t -> tupleElement(t, 1) != '', [
        (correlation_id, 'correlation_id'), (po_number, 'po_number'),
        (invoice_number, 'invoice_number'), (receipt_id, 'receipt_id')])) AS k
    FROM business_events
);
