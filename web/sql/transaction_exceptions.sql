-- Exceptions about one transaction's entities (its correlation ID, POs, invoices, receipts):
-- current state of each, open first. Entity fields never change within an exception_id.
SELECT
    exception_id,
    argMax(status, version) AS status,
    argMax(family, version) AS family,
    argMax(reason, version) AS reason,
    argMax(severity, version) AS severity,
    argMax(owner, version) AS owner,
    argMax(site, version) AS site,
    argMax(summary, version) AS summary,
    argMax(since, version) AS since,
    any(correlation_id) AS correlation_id,
    any(po_number) AS po_number,
    any(invoice_number) AS invoice_number,
    any(supplier_id) AS supplier_id,
    any(receipt_id) AS receipt_id,
    any(flow) AS flow
FROM exception_history
WHERE exception_id IN (
    SELECT exception_id
    FROM exception_history
    WHERE (correlation_id != '' AND correlation_id = {correlation_id:String})
       OR (po_number != '' AND po_number IN {po_numbers:Array(String)})
       OR (invoice_number != '' AND invoice_number IN {invoice_numbers:Array(String)})
       OR (receipt_id != '' AND receipt_id IN {receipt_ids:Array(String)})
)
GROUP BY exception_id
ORDER BY status = 'resolved', since
LIMIT 100
