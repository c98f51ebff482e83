-- Console: business_events is ordered by correlation ID, so a transaction searched for by its
-- own correlation ID is read there directly (web/sql/search.sql) and needs no row in
-- console_keys. The view now keeps the business keys alone (PO, invoice, receipt): a third of
-- the rows, and a tenth of what inserting an event cost. Correlation-ID rows stored before
-- are left; search reads them harmlessly, and retention removes them.
DROP TABLE IF EXISTS console_keys_mv;

CREATE MATERIALIZED VIEW IF NOT EXISTS console_keys_mv TO console_keys AS
SELECT tupleElement(k, 1) AS key, tupleElement(k, 2) AS key_type, correlation_id, occurred_at
FROM (
    SELECT correlation_id, occurred_at, arrayJoin(arrayFilter(t -> tupleElement(t, 1) != '', [
        (po_number, 'po_number'), (invoice_number, 'invoice_number'),
        (receipt_id, 'receipt_id')])) AS k
    FROM business_events
    WHERE po_number != '' OR invoice_number != '' OR receipt_id != ''
);
