-- Current state of every exception still open, or resolved recently (its resolved
-- notification may still be owed): the history row of each one's highest version, which
-- exceptions_now keeps, instead of sorting the whole history to find it.
SELECT *
FROM exception_history
WHERE (exception_id, version) IN (
    SELECT exception_id, version
    FROM exceptions_now FINAL
    WHERE status != 'resolved' OR at >= {since:DateTime64(3)}
)
