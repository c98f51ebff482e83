-- Events of other transactions that share a business key with this one: an invoice or a
-- receipt that carries the PO number under the AP or receiving system's own correlation ID.
-- console_keys names those transactions; only theirs are read.
SELECT
    event_id, event_type, occurred_at, received_at, correlation_id, source_system, site, domain,
    item_id, supplier_id, po_number, invoice_number, receipt_id, quantity, unit_price, amount,
    currency, cost_center, priority, status, expected_at, promised_at, due_at, trace_id,
    lines.line_no AS line_no, lines.item_id AS line_item_id, lines.quantity AS line_quantity,
    lines.unit_price AS line_unit_price, lines.uom AS line_uom, attributes
FROM business_events
WHERE correlation_id IN (
        SELECT correlation_id FROM console_keys
        WHERE ((key_type = 'po_number' AND key IN {po_numbers:Array(String)})
            OR (key_type = 'receipt_id' AND key IN {receipt_ids:Array(String)})
            OR (key_type = 'invoice_number' AND key IN {invoice_numbers:Array(String)}))
          AND correlation_id != {correlation_id:String}
    )
  AND correlation_id != {correlation_id:String}
  AND occurred_at <= {as_of:DateTime64(3, 'UTC')}
  AND ((po_number != '' AND po_number IN {po_numbers:Array(String)})
    OR (receipt_id != '' AND receipt_id IN {receipt_ids:Array(String)})
    OR (invoice_number != '' AND invoice_number IN {invoice_numbers:Array(String)}))
ORDER BY occurred_at, event_id
LIMIT 1 BY event_id
LIMIT 1000
