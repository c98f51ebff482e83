-- Console: the item and supplier codes each transaction's events carry, with the name the
-- source systems sent along (attributes `item.description`, `supplier.name`; '' when none
-- did), for the names shown beside codes (web/sql/names.sql). Read for a page's 50
-- transactions at a time: business_events holds them too, but a lookup there reads whole
-- 8192-row granules of a wide table, one per transaction (about 40 granules, ~35 ms at a
-- million transactions); here the rows are narrow and the granules 256 rows. Duplicates fold
-- (ReplacingMergeTree; readers group). Fed by a materialized view; the INSERT fills it from
-- what was stored before it existed. Its TTL follows the events' retention
-- (rxsight/store/client.py RETENTION). Parts under 32 MiB are written packed (033).
CREATE TABLE IF NOT EXISTS console_names (
    correlation_id String,
    kind LowCardinality(String),
    code String,
    name String,
    occurred_at DateTime64(3, 'UTC')
) ENGINE = ReplacingMergeTree(occurred_at)
ORDER BY (correlation_id, kind, code, name)
TTL toDateTime(occurred_at) + INTERVAL 730 DAY
SETTINGS index_granularity = 256, min_bytes_for_full_part_storage = 33554432;

CREATE MATERIALIZED VIEW IF NOT EXISTS console_names_mv TO console_names AS
SELECT correlation_id, tupleElement(named, 1) AS kind, tupleElement(named, 2) AS code,
    tupleElement(named, 3) AS name, occurred_at
FROM business_events
ARRAY JOIN arrayConcat(
    [('item', item_id, attributes['item.description']),
        ('supplier', toString(supplier_id), attributes['supplier.name'])],
    arrayMap(i -> ('item', i, ''), `lines.item_id`)) AS named
WHERE tupleElement(named, 2) != '';

INSERT INTO console_names
SELECT correlation_id, tupleElement(named, 1) AS kind, tupleElement(named, 2) AS code,
    tupleElement(named, 3) AS name, occurred_at
FROM business_events
ARRAY JOIN arrayConcat(
    [('item', item_id, attributes['item.description']),
        ('supplier', toString(supplier_id), attributes['supplier.name'])],
    arrayMap(i -> ('item', i, ''), `lines.item_id`)) AS named
WHERE tupleElement(named, 2) != '';
