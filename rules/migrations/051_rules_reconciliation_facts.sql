-- Rules stage: the facts of reconciliation (DESIGN 5.6), by receipt_id. rules_receipt_bookings
-- holds the lines of what the dock received (goods.received) and of what the ERP booked
-- (receipt.posted, with its header amount; `has_lines` 0 when the posting carried none), so a
-- receipt's quantities side by side are one primary-key range. rules_journals holds the GL's
-- journal.posted: a journal naming a receipt sits under it; one naming only a PO has
-- receipt_id '' and sits in the range of that PO number. Views come before the back-fills, so
-- nothing inserted meanwhile is missed (a row written twice folds: ReplacingMergeTree).
CREATE TABLE IF NOT EXISTS rules_receipt_bookings (
    receipt_id String,
    event_id String,
    line_no UInt32,
    kind LowCardinality(String),
    occurred_at DateTime64(3, 'UTC'),
    site LowCardinality(String),
    domain LowCardinality(String),
    po_number String,
    supplier_id LowCardinality(String),
    correlation_id String,
    item_id String,
    quantity Decimal(18, 4),
    has_lines UInt8,
    amount Nullable(Decimal(18, 4)),
    received_at DateTime64(3, 'UTC') DEFAULT now64(3),
    INDEX idx_received_at received_at TYPE minmax GRANULARITY 1,
    INDEX idx_po_number po_number TYPE bloom_filter(0.01) GRANULARITY 1
) ENGINE = ReplacingMergeTree
ORDER BY (receipt_id, event_id, line_no)
SETTINGS min_bytes_for_full_part_storage = 33554432;

CREATE MATERIALIZED VIEW IF NOT EXISTS rules_receipt_bookings_mv TO rules_receipt_bookings AS
SELECT receipt_id, event_id, tupleElement(l, 1) AS line_no, event_type AS kind, occurred_at,
    site, domain, po_number, supplier_id, correlation_id, tupleElement(l, 2) AS item_id,
    ifNull(tupleElement(l, 3), toDecimal64(0, 4)) AS quantity,
    toUInt8(NOT empty(`lines.line_no`)) AS has_lines, amount
FROM (
    SELECT *, arrayJoin(if(empty(`lines.line_no`),
    [(toUInt32(0), item_id, quantity)],
    arrayZip(`lines.line_no`, `lines.item_id`, `lines.quantity`))) AS l
    FROM business_events
    WHERE event_type IN ('goods.received', 'receipt.posted') AND receipt_id != ''
);

INSERT INTO rules_receipt_bookings (receipt_id, event_id, line_no, kind, occurred_at, site,
    domain, po_number, supplier_id, correlation_id, item_id, quantity, has_lines, amount)
SELECT receipt_id, event_id, tupleElement(l, 1) AS line_no, event_type AS kind, occurred_at,
    site, domain, po_number, supplier_id, correlation_id, tupleElement(l, 2) AS item_id,
    ifNull(tupleElement(l, 3), toDecimal64(0, 4)) AS quantity,
    toUInt8(NOT empty(`lines.line_no`)) AS has_lines, amount
FROM (
    SELECT *, arrayJoin(if(empty(`lines.line_no`),
    [(toUInt32(0), item_id, quantity)],
    arrayZip(`lines.line_no`, `lines.item_id`, `lines.quantity`))) AS l
    FROM business_events
    WHERE event_type IN ('goods.received', 'receipt.posted') AND receipt_id != ''
);

CREATE TABLE IF NOT EXISTS rules_journals (
    receipt_id String,
    po_number String,
    event_id String,
    occurred_at DateTime64(3, 'UTC'),
    amount Nullable(Decimal(18, 4)),
    cost_center LowCardinality(String),
    received_at DateTime64(3, 'UTC') DEFAULT now64(3),
    INDEX idx_received_at received_at TYPE minmax GRANULARITY 1
) ENGINE = ReplacingMergeTree
ORDER BY (receipt_id, po_number, event_id)
SETTINGS min_bytes_for_full_part_storage = 33554432;

CREATE MATERIALIZED VIEW IF NOT EXISTS rules_journals_mv TO rules_journals AS
SELECT receipt_id, po_number, event_id, occurred_at, amount, cost_center
FROM business_events
WHERE event_type = 'journal.posted' AND (receipt_id != '' OR po_number != '');

INSERT INTO rules_journals (receipt_id, po_number, event_id, occurred_at, amount, cost_center)
SELECT receipt_id, po_number, event_id, occurred_at, amount, cost_center
FROM business_events
WHERE event_type = 'journal.posted' AND (receipt_id != '' OR po_number != '');
