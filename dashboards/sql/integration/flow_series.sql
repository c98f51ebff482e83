-- Per flow and interval: p95 span duration (ms), share of spans in error, spans. Three
-- panels read it, each showing one of the three.
SELECT $__timeInterval(Timestamp) AS time, Flow,
    quantile(0.95)(Duration) / 1e6 AS p95_ms, avg(IsError) AS error_rate, count() AS spans
FROM otel_traces
WHERE $__timeFilter(Timestamp)
    AND ('__all__' IN (${flow:singlequote}) OR Flow IN (${flow:singlequote}))
    AND ('__all__' IN (${tier:singlequote}) OR toString(Tier) IN (${tier:singlequote}))
GROUP BY time, Flow
ORDER BY time, Flow
