-- Which POs and invoices carry an item: its code in lower case (the console's item filter and
-- search are case-insensitive prefixes) with each document that names it, on a line or as
-- the event's own item. An exception of any family about one of those documents is "about"
-- the item, whether or not its finding names the item itself. Ordered by the code, so a
-- prefix reads a range of the key. Fed by a materialized view; the INSERT fills it from
-- what was stored before it existed. Its TTL follows the events' retention
-- (rxsight/store/client.py RETENTION).
CREATE TABLE IF NOT EXISTS rules_item_documents (
    item_key String,
    doc_type LowCardinality(String),
    doc String,
    occurred_at DateTime64(3, 'UTC')
) ENGINE = ReplacingMergeTree(occurred_at)
ORDER BY (item_key, doc_type, doc)
TTL toDateTime(occurred_at) + INTERVAL 730 DAY;

CREATE MATERIALIZED VIEW IF NOT EXISTS rules_item_documents_mv TO rules_item_documents AS
SELECT item_key, tupleElement(d, 2) AS doc_type, tupleElement(d, 1) AS doc, occurred_at
FROM (
    SELECT occurred_at,
        arrayJoin(arrayDistinct(arrayFilter(i -> i != '',
            arrayMap(i -> lower(i), arrayPushBack(`lines.item_id`, item_id))))) AS item_key,
        arrayJoin(arrayFilter(t -> tupleElement(t, 1) != '',
            [(po_number, 'po_number'), (invoice_number, 'invoice_number')])) AS d
    FROM business_events
    WHERE (po_number != '' OR invoice_number != '') AND (item_id != '' OR notEmpty(`lines.item_id`))
);

INSERT INTO rules_item_documents
SELECT item_key, tupleElement(d, 2) AS doc_type, tupleElement(d, 1) AS doc, occurred_at
FROM (
    SELECT occurred_at,
        arrayJoin(arrayDistinct(arrayFilter(i -> i != '',
            arrayMap(i -> lower(i), arrayPushBack(`lines.item_id`, item_id))))) AS item_key,
        arrayJoin(arrayFilter(t -> tupleElement(t, 1) != '',
            [(po_number, 'po_number'), (invoice_number, 'invoice_number')])) AS d
    FROM business_events
    WHERE (po_number != '' OR invoice_number != '') AND (item_id != '' OR notEmpty(`lines.item_id`))
);
