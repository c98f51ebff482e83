-- Each flow over the time range: tier, volume, p95, error rate, and its open SLA breaches
-- (the rules judge them against the tier's objectives, rules/README).
WITH breaches AS (
    SELECT flow, count() AS open_breaches
    FROM exceptions_current
    WHERE family = 'sla_breach' AND status != 'resolved'
    GROUP BY flow
)
SELECT t.Flow AS flow, max(t.Tier) AS tier, count() AS spans,
    round(quantile(0.95)(t.Duration) / 1e6, 1) AS p95_ms,
    round(avg(t.IsError), 4) AS error_rate,
    any(b.open_breaches) AS open_breaches
FROM otel_traces AS t
LEFT JOIN breaches AS b ON b.flow = t.Flow
WHERE $__timeFilter(t.Timestamp)
    AND ('__all__' IN (${flow:singlequote}) OR t.Flow IN (${flow:singlequote}))
    AND ('__all__' IN (${tier:singlequote}) OR toString(t.Tier) IN (${tier:singlequote}))
GROUP BY t.Flow
ORDER BY open_breaches DESC, p95_ms DESC
