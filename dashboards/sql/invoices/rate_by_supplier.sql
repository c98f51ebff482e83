-- Of the invoices first received in the time range, per supplier: how many, how many have an
-- unmatched_invoice exception now, and the exception rate.
WITH received AS (
    SELECT supplier_id, invoice_number
    FROM business_events
    WHERE event_type = 'invoice.received' AND invoice_number != ''
        AND ('__all__' IN (${supplier:singlequote}) OR supplier_id IN (${supplier:singlequote}))
        AND ('__all__' IN (${site:singlequote}) OR site IN (${site:singlequote}))
    GROUP BY supplier_id, invoice_number
    HAVING $__timeFilter(min(occurred_at))
),
flagged AS (
    SELECT DISTINCT supplier_id, invoice_number
    FROM exceptions_current
    WHERE family = 'unmatched_invoice' AND status != 'resolved'
)
SELECT r.supplier_id AS supplier, count() AS invoices,
    countIf(f.invoice_number != '') AS exceptions,
    round(exceptions / invoices, 4) AS exception_rate
FROM received AS r
LEFT JOIN flagged AS f ON f.supplier_id = r.supplier_id AND f.invoice_number = r.invoice_number
GROUP BY supplier
ORDER BY exception_rate DESC, supplier
