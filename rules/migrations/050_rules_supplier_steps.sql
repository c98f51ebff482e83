-- Rules stage: the supplier's side of a PO for supplier_response (DESIGN 5.5): when the PO
-- was transmitted (po.transmitted) and when the supplier sent an ASN (shipment.notified), by
-- PO number. Acknowledgements are in rules_po_acks, receipts in rules_receipt_lines. The view
-- comes before the back-fill, so nothing inserted meanwhile is missed (a row written twice
-- folds: ReplacingMergeTree by event_id).
CREATE TABLE IF NOT EXISTS rules_po_supplier_steps (
    po_number String,
    event_id String,
    kind LowCardinality(String),
    occurred_at DateTime64(3, 'UTC'),
    received_at DateTime64(3, 'UTC') DEFAULT now64(3),
    INDEX idx_received_at received_at TYPE minmax GRANULARITY 1
) ENGINE = ReplacingMergeTree
ORDER BY (po_number, event_id)
SETTINGS min_bytes_for_full_part_storage = 33554432;

CREATE MATERIALIZED VIEW IF NOT EXISTS rules_po_supplier_steps_mv TO rules_po_supplier_steps AS
SELECT po_number, event_id, event_type AS kind, occurred_at
FROM business_events
WHERE event_type IN ('po.transmitted', 'shipment.notified') AND po_number != '';

INSERT INTO rules_po_supplier_steps (po_number, event_id, kind, occurred_at)
SELECT po_number, event_id, event_type AS kind, occurred_at
FROM business_events
WHERE event_type IN ('po.transmitted', 'shipment.notified') AND po_number != '';
