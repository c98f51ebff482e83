-- Rules stage: unmatched_invoice judges the invoices of the POs a run looks at, so invoice
-- lines are ordered by PO number (each PO a range of the primary key, where the old table,
-- ordered by supplier and invoice, was scanned behind a bloom filter that skipped nothing
-- for thousands of POs) and matches by invoice number (how that rule finds them). With the
-- lines giving a PO's invoices, the key map turns the other way: the POs an invoice bills,
-- by invoice number (rules_invoices_by_po was scanned for that). The new tables get their
-- views before they are filled from the old ones, so nothing inserted meanwhile is missed
-- (a row written twice folds: ReplacingMergeTree). 019 drops the old.
CREATE TABLE IF NOT EXISTS rules_po_invoice_lines (
    po_number String,
    supplier_id LowCardinality(String),
    invoice_number String,
    event_id String,
    line_no UInt32,
    occurred_at DateTime64(3, 'UTC'),
    correlation_id String,
    site LowCardinality(String),
    domain LowCardinality(String),
    item_id String,
    quantity Decimal(18, 4),
    unit_price Nullable(Decimal(18, 4)),
    received_at DateTime64(3, 'UTC') DEFAULT now64(3),
    INDEX idx_received_at received_at TYPE minmax GRANULARITY 1
) ENGINE = ReplacingMergeTree
ORDER BY (po_number, supplier_id, invoice_number, event_id, line_no);

CREATE MATERIALIZED VIEW IF NOT EXISTS rules_po_invoice_lines_mv TO rules_po_invoice_lines AS
SELECT po_number, supplier_id, invoice_number, event_id, tupleElement(l, 1) AS line_no,
    occurred_at, correlation_id, site, domain, tupleElement(l, 2) AS item_id,
    ifNull(tupleElement(l, 3), toDecimal64(0, 4)) AS quantity, tupleElement(l, 4) AS unit_price
FROM (
    SELECT *, arrayJoin(if(empty(`lines.line_no`),
    [(toUInt32(0), item_id, quantity, unit_price)],
    arrayZip(`lines.line_no`, `lines.item_id`, `lines.quantity`, `lines.unit_price`))) AS l
    FROM business_events
    WHERE event_type = 'invoice.received' AND invoice_number != ''
);

INSERT INTO rules_po_invoice_lines
SELECT po_number, supplier_id, invoice_number, event_id, line_no, occurred_at, correlation_id,
    site, domain, item_id, quantity, unit_price, received_at
FROM rules_invoice_lines;

CREATE TABLE IF NOT EXISTS rules_invoice_matches (
    invoice_number String,
    supplier_id LowCardinality(String),
    event_id String,
    occurred_at DateTime64(3, 'UTC'),
    received_at DateTime64(3, 'UTC') DEFAULT now64(3),
    INDEX idx_received_at received_at TYPE minmax GRANULARITY 1
) ENGINE = ReplacingMergeTree
ORDER BY (invoice_number, supplier_id, event_id);

CREATE MATERIALIZED VIEW IF NOT EXISTS rules_invoice_matches_mv TO rules_invoice_matches AS
SELECT invoice_number, supplier_id, event_id, occurred_at
FROM business_events
WHERE event_type = 'invoice.matched' AND invoice_number != '';

INSERT INTO rules_invoice_matches
SELECT invoice_number, supplier_id, event_id, occurred_at, received_at
FROM rules_invoice_closes;

CREATE TABLE IF NOT EXISTS rules_pos_by_invoice (
    invoice_number String,
    supplier_id LowCardinality(String),
    po_number String
) ENGINE = ReplacingMergeTree
ORDER BY (invoice_number, supplier_id, po_number);

CREATE MATERIALIZED VIEW IF NOT EXISTS rules_pos_by_invoice_mv TO rules_pos_by_invoice AS
SELECT invoice_number, supplier_id, po_number
FROM business_events
WHERE event_type = 'invoice.received' AND invoice_number != '';

INSERT INTO rules_pos_by_invoice
SELECT invoice_number, supplier_id, po_number FROM rules_invoices_by_po;
