-- One transaction's events, each once, in time order. business_events is clustered by
-- correlation ID: one or two granules read.
SELECT
    event_id, event_type, occurred_at, received_at, correlation_id, source_system, site, domain,
    item_id, supplier_id, po_number, invoice_number, receipt_id, quantity, unit_price, amount,
    currency, cost_center, priority, status, expected_at, promised_at, due_at, trace_id,
    lines.line_no AS line_no, lines.item_id AS line_item_id, lines.quantity AS line_quantity,
    lines.unit_price AS line_unit_price, lines.uom AS line_uom, attributes
FROM business_events
WHERE correlation_id = {correlation_id:String}
  -- As of an instant (the console's time control): what had happened by then.
  AND occurred_at <= {as_of:DateTime64(3, 'UTC')}
ORDER BY occurred_at, event_id
LIMIT 1 BY event_id
