-- Rules stage: business-key maps, so an incremental run finds by primary key the POs of a
-- request (correlation_id -> po_number) and the invoices billing a PO (po_number ->
-- supplier_id + invoice_number) instead of scanning the fact tables.
CREATE TABLE IF NOT EXISTS rules_po_by_correlation (
    correlation_id String,
    po_number String
) ENGINE = ReplacingMergeTree
ORDER BY (correlation_id, po_number);

CREATE MATERIALIZED VIEW IF NOT EXISTS rules_po_by_correlation_mv TO rules_po_by_correlation AS
SELECT correlation_id, po_number
FROM business_events
WHERE event_type = 'po.created' AND po_number != '';

INSERT INTO rules_po_by_correlation
SELECT DISTINCT correlation_id, po_number FROM rules_po_lines;

CREATE TABLE IF NOT EXISTS rules_invoices_by_po (
    po_number String,
    supplier_id LowCardinality(String),
    invoice_number String
) ENGINE = ReplacingMergeTree
ORDER BY (po_number, supplier_id, invoice_number);

CREATE MATERIALIZED VIEW IF NOT EXISTS rules_invoices_by_po_mv TO rules_invoices_by_po AS
SELECT po_number, supplier_id, invoice_number
FROM business_events
WHERE event_type = 'invoice.received' AND invoice_number != '';

INSERT INTO rules_invoices_by_po
SELECT DISTINCT po_number, supplier_id, invoice_number FROM rules_invoice_lines;
