-- Exceptions about one transaction's entities (its correlation ID, POs, invoices, receipts):
-- current state of each (the highest version), open first.
SELECT
    exception_id, status, family, reason, severity, owner, site, summary, since,
    correlation_id, po_number, invoice_number, supplier_id, receipt_id, flow
FROM (
    SELECT *
    FROM exception_history
    -- Each as it stood at the instant (the console's time control), if it existed by then.
    WHERE at <= {as_of:DateTime64(3, 'UTC')} AND exception_id IN (
        SELECT exception_id
        FROM exception_history
        WHERE (correlation_id != '' AND correlation_id = {correlation_id:String})
           OR (po_number != '' AND po_number IN {po_numbers:Array(String)})
           OR (invoice_number != '' AND invoice_number IN {invoice_numbers:Array(String)})
           OR (receipt_id != '' AND receipt_id IN {receipt_ids:Array(String)})
    )
    ORDER BY exception_id, version DESC
    LIMIT 1 BY exception_id
)
ORDER BY status = 'resolved', since
LIMIT 100
