-- Open exceptions (not resolved) by family and site.
SELECT family, if(site = '', '(no site)', site) AS site, count() AS open
FROM exceptions_current
WHERE status != 'resolved'
    AND ('__all__' IN (${site:singlequote}) OR site IN (${site:singlequote}))
GROUP BY family, site
ORDER BY open DESC, family, site
