-- Late, partial and unposted receipts now (open delayed_receipt exceptions), oldest first.
SELECT po_number, receipt_id, supplier_id AS supplier, site, reason, since, summary
FROM exceptions_current
WHERE family = 'delayed_receipt' AND status != 'resolved'
    AND ('__all__' IN (${site:singlequote}) OR site IN (${site:singlequote}))
    AND ('__all__' IN (${supplier:singlequote}) OR supplier_id IN (${supplier:singlequote}))
ORDER BY since
LIMIT 500
