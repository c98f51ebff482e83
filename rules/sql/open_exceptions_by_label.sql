-- Open (not resolved) exceptions counted by family, reason, site and owner, for /metrics.
SELECT family, reason, site, owner, count() AS n
FROM (
    SELECT *
    FROM exception_history
    ORDER BY exception_id, version DESC
    LIMIT 1 BY exception_id
)
WHERE status != 'resolved'
GROUP BY family, reason, site, owner
