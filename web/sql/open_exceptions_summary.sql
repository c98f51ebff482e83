-- Overview: open (not resolved) exceptions by family and site, with the oldest `since`,
-- as they stood at an instant (exceptions_as_of, rules/migrations/091: the kept current
-- state, the history only for exceptions changed after the instant).
SELECT
    family,
    site,
    count() AS open,
    countIf(status = 'acknowledged') AS acknowledged,
    countIf(owner = {owner:String}) AS mine,
    min(since) AS oldest_since
FROM exceptions_as_of(as_of = {as_of:DateTime64(3, 'UTC')})
WHERE status != 'resolved'
GROUP BY family, site
ORDER BY family, site
