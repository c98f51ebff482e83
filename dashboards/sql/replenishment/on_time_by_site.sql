-- Requests made in the time range, per site: how many, how many are received (any goods
-- receipt on their correlation ID), and how many still carry an open replenishment exception.
WITH requests AS (
    SELECT correlation_id, any(site) AS request_site
    FROM business_events
    WHERE event_type = 'replenishment.requested'
        AND ('__all__' IN (${site:singlequote}) OR site IN (${site:singlequote}))
    GROUP BY correlation_id
    HAVING $__timeFilter(min(occurred_at))
)
SELECT q.request_site AS site, count() AS requests,
    countIf(q.correlation_id IN (
        SELECT correlation_id FROM business_events
        WHERE event_type = 'goods.received' AND occurred_at <= $__toTime)) AS received,
    countIf(q.correlation_id IN (
        SELECT correlation_id FROM exceptions_current
        WHERE family = 'open_replenishment' AND status != 'resolved')) AS open_exceptions
FROM requests AS q
GROUP BY site
ORDER BY site
