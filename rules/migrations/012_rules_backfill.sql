-- Rules stage: fill the fact tables of 011 from data stored before they existed. Re-running
-- is harmless for the ReplacingMergeTree tables (readers use FINAL); the span tables are
-- filled only when empty.
INSERT INTO rules_requests
SELECT correlation_id, event_id, event_type AS kind, occurred_at, site, domain, priority,
    item_id, quantity
FROM business_events
WHERE event_type IN ('replenishment.requested', 'replenishment.cancelled');
INSERT INTO rules_po_lines
SELECT po_number, event_id, tupleElement(l, 1) AS line_no, occurred_at, correlation_id, site, domain,
    supplier_id, expected_at, tupleElement(l, 2) AS item_id, ifNull(tupleElement(l, 3), toDecimal64(0, 4)) AS quantity,
    tupleElement(l, 4) AS unit_price
FROM (
    SELECT *, arrayJoin(if(empty(`lines.line_no`),
    [(toUInt32(0), item_id, quantity, unit_price)],
    arrayZip(`lines.line_no`, `lines.item_id`, `lines.quantity`, `lines.unit_price`))) AS l
    FROM business_events
    WHERE event_type = 'po.created' AND po_number != ''
);
INSERT INTO rules_po_acks
SELECT po_number, event_id, occurred_at, status, promised_at
FROM business_events
WHERE event_type = 'po.acknowledged' AND po_number != '';
INSERT INTO rules_receipt_lines
SELECT po_number, event_id, tupleElement(l, 1) AS line_no, occurred_at, receipt_id, tupleElement(l, 2) AS item_id,
    ifNull(tupleElement(l, 3), toDecimal64(0, 4)) AS quantity
FROM (
    SELECT *, arrayJoin(if(empty(`lines.line_no`),
    [(toUInt32(0), item_id, quantity)],
    arrayZip(`lines.line_no`, `lines.item_id`, `lines.quantity`))) AS l
    FROM business_events
    WHERE event_type = 'goods.received' AND po_number != ''
);
INSERT INTO rules_receipts
SELECT receipt_id, event_id, event_type AS kind, occurred_at, site, domain, po_number,
    supplier_id, correlation_id
FROM business_events
WHERE event_type IN ('goods.received', 'receipt.posted') AND receipt_id != '';
INSERT INTO rules_invoice_lines
SELECT supplier_id, invoice_number, event_id, tupleElement(l, 1) AS line_no, occurred_at, po_number,
    correlation_id, site, domain, tupleElement(l, 2) AS item_id, ifNull(tupleElement(l, 3), toDecimal64(0, 4)) AS quantity,
    tupleElement(l, 4) AS unit_price
FROM (
    SELECT *, arrayJoin(if(empty(`lines.line_no`),
    [(toUInt32(0), item_id, quantity, unit_price)],
    arrayZip(`lines.line_no`, `lines.item_id`, `lines.quantity`, `lines.unit_price`))) AS l
    FROM business_events
    WHERE event_type = 'invoice.received' AND invoice_number != ''
);
INSERT INTO rules_invoice_closes
SELECT supplier_id, invoice_number, event_id, event_type AS kind, occurred_at
FROM business_events
WHERE event_type = 'invoice.matched' AND invoice_number != '';
INSERT INTO rules_spans
SELECT Flow, Timestamp, Duration, IsError, Tier
FROM otel_traces
WHERE (SELECT count() FROM rules_spans) = 0;
INSERT INTO rules_flow_hours
SELECT Flow, toStartOfHour(Timestamp) AS hour, max(Timestamp) AS last,
    toUInt64(count()) AS spans, max(Tier) AS tier
FROM otel_traces
WHERE (SELECT count() FROM rules_flow_hours) = 0
GROUP BY Flow, hour;
