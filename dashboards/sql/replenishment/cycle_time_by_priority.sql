-- Replenishment cycle time by priority: request → its latest goods receipt (same correlation
-- ID), for requests made in the time range and received since; p50 and p90 in hours.
WITH requests AS (
    SELECT correlation_id, any(priority) AS priority, min(occurred_at) AS requested_at
    FROM business_events
    WHERE event_type = 'replenishment.requested'
        AND ('__all__' IN (${site:singlequote}) OR site IN (${site:singlequote}))
    GROUP BY correlation_id
    HAVING $__timeFilter(requested_at)
),
receipts AS (
    SELECT correlation_id, max(occurred_at) AS received_at
    FROM business_events
    WHERE event_type = 'goods.received' AND occurred_at <= $__toTime
    GROUP BY correlation_id
)
SELECT if(q.priority = '', '(none)', q.priority) AS priority, count() AS received,
    round(quantileExact(0.5)(dateDiff('second', q.requested_at, r.received_at)) / 3600, 2)
        AS p50_hours,
    round(quantileExact(0.9)(dateDiff('second', q.requested_at, r.received_at)) / 3600, 2)
        AS p90_hours
FROM requests AS q
INNER JOIN receipts AS r ON r.correlation_id = q.correlation_id
GROUP BY priority
ORDER BY priority
