-- sync_latency_seconds_p95 for the period [start, end) as of {as_of}, by flow: the duration
-- of spans started in the period (and by as_of), each span once however often it was sent
-- (an exporter's retry resends it); nearest rank.
WITH
    {start:DateTime64(3, 'UTC')} AS S,
    {end:DateTime64(3, 'UTC')} AS E,
    {as_of:DateTime64(3, 'UTC')} AS T
SELECT 'sync_latency_seconds_p95' AS kpi, 'flow' AS dim, flow AS key,
    toFloat64(0) AS numerator, toFloat64(0) AS denominator,
    arraySort(groupArray(duration))[toUInt64(ceil(count() * 0.95))] / 1e9 AS value,
    count() AS n
FROM (
    SELECT any(Flow) AS flow, any(Duration) AS duration
    FROM otel_traces
    WHERE Timestamp >= toDateTime64(S, 9) AND Timestamp < toDateTime64(E, 9)
        AND Timestamp <= toDateTime64(T, 9) AND Flow != ''
    GROUP BY TraceId, SpanId
)
GROUP BY flow
