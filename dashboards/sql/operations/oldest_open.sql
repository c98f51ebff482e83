-- The oldest open exception: hours since its condition began, at the end of the time range.
SELECT dateDiff('hour', min(since), $__toTime) AS oldest_open_hours
FROM exceptions_current
WHERE status != 'resolved' AND since <= $__toTime
    AND ('__all__' IN (${site:singlequote}) OR site IN (${site:singlequote}))
