-- Flows breaching their service tier now (open sla_breach exceptions).
SELECT flow, tier, reason, min(opened_at) AS breaching_since, any(summary) AS summary
FROM exceptions_current
WHERE family = 'sla_breach' AND status != 'resolved'
GROUP BY flow, tier, reason
ORDER BY breaching_since
