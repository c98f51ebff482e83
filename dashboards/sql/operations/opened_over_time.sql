-- Exceptions by when their condition began (`since`), per interval and family.
SELECT $__timeInterval(since) AS time, family, count() AS exceptions
FROM exceptions_current
WHERE $__timeFilter(since)
    AND ('__all__' IN (${site:singlequote}) OR site IN (${site:singlequote}))
GROUP BY time, family
ORDER BY time, family
