-- First-pass match rate per interval: invoices first received in it that never had an
-- unmatched_invoice exception, over all invoices first received in it.
WITH received AS (
    SELECT supplier_id, invoice_number, min(occurred_at) AS first_received
    FROM business_events
    WHERE event_type = 'invoice.received' AND invoice_number != ''
        AND ('__all__' IN (${supplier:singlequote}) OR supplier_id IN (${supplier:singlequote}))
    GROUP BY supplier_id, invoice_number
    HAVING $__timeFilter(first_received)
),
ever_flagged AS (
    SELECT DISTINCT supplier_id, invoice_number
    FROM exception_history
    WHERE family = 'unmatched_invoice'
)
SELECT $__timeInterval(r.first_received) AS time,
    round(countIf(f.invoice_number = '') / count(), 4) AS first_pass_match_rate
FROM received AS r
LEFT JOIN ever_flagged AS f ON f.supplier_id = r.supplier_id AND f.invoice_number = r.invoice_number
GROUP BY time
ORDER BY time
