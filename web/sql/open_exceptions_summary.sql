-- Overview: open (not resolved) exceptions by family and site, with the oldest `since`,
-- as they stood at an instant (the versions written up to then).
-- Current state = the highest version per exception_id (exception_history is append-only);
-- LIMIT 1 BY in the table's own order reads it in one ordered pass, no hash aggregation.
SELECT
    family,
    site,
    count() AS open,
    countIf(status = 'acknowledged') AS acknowledged,
    countIf(owner = {owner:String}) AS mine,
    min(since) AS oldest_since
FROM (
    SELECT status, family, site, owner, since
    FROM exception_history
    WHERE at <= {as_of:DateTime64(3, 'UTC')}
    ORDER BY exception_id, version DESC
    LIMIT 1 BY exception_id
)
WHERE status != 'resolved'
GROUP BY family, site
ORDER BY family, site
