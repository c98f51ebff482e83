-- Current state of the given exceptions.
SELECT *
FROM exception_history
WHERE exception_id IN {ids:Array(String)}
ORDER BY exception_id, version DESC
LIMIT 1 BY exception_id
