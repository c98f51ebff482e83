-- Goods receipts per interval, by site.
SELECT $__timeInterval(occurred_at) AS time, site, count() AS receipts
FROM business_events
WHERE event_type = 'goods.received' AND $__timeFilter(occurred_at)
    AND ('__all__' IN (${site:singlequote}) OR site IN (${site:singlequote}))
GROUP BY time, site
ORDER BY time, site
