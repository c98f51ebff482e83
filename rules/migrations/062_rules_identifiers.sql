-- Rules stage: every identifier an event carried, by kind (item: the header's and each line's
-- item_id; supplier; site; cost_center) and the system that sent it, one row per event: what
-- master_data (DESIGN 5.7) checks against the crosswalk. An event delivered twice folds by
-- event_id (ReplacingMergeTree); readers count distinct event IDs.
CREATE TABLE IF NOT EXISTS rules_identifiers (
    kind LowCardinality(String),
    identifier String,
    source_system LowCardinality(String),
    event_id String,
    occurred_at DateTime64(3, 'UTC'),
    correlation_id String,
    received_at DateTime64(3, 'UTC') DEFAULT now64(3)
) ENGINE = ReplacingMergeTree
ORDER BY (kind, identifier, source_system, event_id)
SETTINGS min_bytes_for_full_part_storage = 33554432;

CREATE MATERIALIZED VIEW IF NOT EXISTS rules_identifiers_mv TO rules_identifiers AS
SELECT tupleElement(p, 1) AS kind, tupleElement(p, 2) AS identifier, source_system, event_id,
    occurred_at, correlation_id
FROM business_events
ARRAY JOIN arrayFilter(x -> tupleElement(x, 2) != '', arrayDistinct(arrayConcat(
    [('item', item_id), ('supplier', toString(supplier_id)), ('site', toString(site)),
        ('cost_center', toString(cost_center))],
    arrayMap(i -> ('item', i), `lines.item_id`)))) AS p;

INSERT INTO rules_identifiers (kind, identifier, source_system, event_id, occurred_at, correlation_id)
SELECT tupleElement(p, 1) AS kind, tupleElement(p, 2) AS identifier, source_system, event_id,
    occurred_at, correlation_id
FROM business_events
ARRAY JOIN arrayFilter(x -> tupleElement(x, 2) != '', arrayDistinct(arrayConcat(
    [('item', item_id), ('supplier', toString(supplier_id)), ('site', toString(site)),
        ('cost_center', toString(cost_center))],
    arrayMap(i -> ('item', i), `lines.item_id`)))) AS p;
