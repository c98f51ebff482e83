-- Open replenishment exceptions by reason (no PO yet, not received in time, ...).
SELECT reason, count() AS open
FROM exceptions_current
WHERE family = 'open_replenishment' AND status != 'resolved'
    AND ('__all__' IN (${site:singlequote}) OR site IN (${site:singlequote}))
GROUP BY reason
ORDER BY open DESC, reason
