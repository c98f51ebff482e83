-- Spans per flow per hour over the 24 hours up to `as_of`: volume, errors and p95 (ms); of
-- every flow, or of the one `flow` names (a flow's page).
SELECT
    Flow AS flow,
    toStartOfHour(Timestamp) AS hour,
    count() AS spans,
    sum(IsError) AS errors,
    quantile(0.95)(Duration) / 1e6 AS p95_ms
FROM otel_traces
WHERE Timestamp > {as_of:DateTime64(3)} - INTERVAL 24 HOUR
  AND Timestamp <= {as_of:DateTime64(3)}
  AND ({flow:String} = '' OR Flow = {flow:String})
GROUP BY flow, hour
ORDER BY flow, hour
