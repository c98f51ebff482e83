-- The oldest open (not resolved) exception's condition start per family and site, for
-- /metrics: the age an operations team watches.
SELECT family, site, min(since) AS oldest_since
FROM (
    SELECT family, site, since, status
    FROM exception_history
    ORDER BY exception_id, version DESC
    LIMIT 1 BY exception_id
)
WHERE status != 'resolved'
GROUP BY family, site
