-- Open unmatched invoices by reason.
SELECT reason, count() AS invoices
FROM exceptions_current
WHERE family = 'unmatched_invoice' AND status != 'resolved'
    AND ('__all__' IN (${supplier:singlequote}) OR supplier_id IN (${supplier:singlequote}))
    AND ('__all__' IN (${site:singlequote}) OR site IN (${site:singlequote}))
GROUP BY reason
ORDER BY invoices DESC, reason
