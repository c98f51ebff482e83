-- One row per transaction that a correlation ID, PO, invoice or receipt number names, as
-- of an instant (what had happened by then).
SELECT
    correlation_id,
    multiIf(correlation_id = {q:String}, 'correlation_id',
            po_number = {q:String}, 'po_number',
            invoice_number = {q:String}, 'invoice_number',
            'receipt_id') AS matched,
    min(occurred_at) AS first_at,
    max(occurred_at) AS last_at,
    groupUniqArray(event_type) AS event_types,
    anyIf(site, site != '') AS site
FROM business_events
-- A correlation ID is looked up by the primary key; business keys through console_keys.
WHERE (correlation_id = {q:String}
    OR correlation_id IN (SELECT correlation_id FROM console_keys WHERE key = {q:String}))
  AND (correlation_id = {q:String} OR po_number = {q:String}
   OR invoice_number = {q:String} OR receipt_id = {q:String})
  AND occurred_at <= {as_of:DateTime64(3, 'UTC')}
GROUP BY correlation_id, matched
ORDER BY first_at
LIMIT 100
