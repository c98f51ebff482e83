-- Rules stage: with several processes on one ClickHouse server, an insert under way while
-- 017 ran may have reached only the old invoice tables and map; the last hour of them is copied
-- again before 019 drops them (a row written twice folds: ReplacingMergeTree).
INSERT INTO rules_po_invoice_lines
SELECT po_number, supplier_id, invoice_number, event_id, line_no, occurred_at, correlation_id,
    site, domain, item_id, quantity, unit_price, received_at
FROM rules_invoice_lines
WHERE received_at > now64(3) - INTERVAL 1 HOUR;

INSERT INTO rules_invoice_matches
SELECT invoice_number, supplier_id, event_id, occurred_at, received_at
FROM rules_invoice_closes
WHERE received_at > now64(3) - INTERVAL 1 HOUR;

INSERT INTO rules_pos_by_invoice
SELECT DISTINCT invoice_number, supplier_id, po_number
FROM rules_invoice_lines
WHERE received_at > now64(3) - INTERVAL 1 HOUR;
