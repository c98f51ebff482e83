-- Overview: open (not resolved) exceptions by family and site, with the oldest `since`.
-- Current state = the highest version per exception_id (exception_history is append-only).
SELECT
    family,
    site,
    count() AS open,
    countIf(status = 'acknowledged') AS acknowledged,
    countIf(owner = {owner:String}) AS mine,
    min(since) AS oldest_since
FROM (
    SELECT
        exception_id,
        argMax(status, version) AS status,
        argMax(family, version) AS family,
        argMax(site, version) AS site,
        argMax(owner, version) AS owner,
        argMax(since, version) AS since
    FROM exception_history
    GROUP BY exception_id
)
WHERE status != 'resolved'
GROUP BY family, site
ORDER BY family, site
