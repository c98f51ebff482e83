-- Current state of every exception still open, or resolved recently (its resolved
-- notification may still be owed).
SELECT *
FROM (
    SELECT *
    FROM exception_history
    ORDER BY exception_id, version DESC
    LIMIT 1 BY exception_id
)
WHERE status != 'resolved' OR at >= {since:DateTime64(3)}
