-- The exceptions an evaluation may change: every one not resolved, and any with these ids.
SELECT *
FROM (
    SELECT *
    FROM exception_history
    ORDER BY exception_id, version DESC
    LIMIT 1 BY exception_id
)
WHERE status != 'resolved' OR exception_id IN {ids:Array(String)}
