-- sync_latency_seconds_p95 for each period [starts[i], ends[i]) as of {as_of}, by flow: the
-- duration of spans started in the period (and by as_of), each span once however often it was
-- sent (an exporter's retry resends it); nearest rank.
WITH
    {starts:Array(DateTime64(3, 'UTC'))} AS starts,
    {ends:Array(DateTime64(3, 'UTC'))} AS ends,
    {as_of:DateTime64(3, 'UTC')} AS T
SELECT toUInt32(period) AS period, 'sync_latency_seconds_p95' AS kpi, 'flow' AS dim,
    flow AS key, toFloat64(0) AS numerator, toFloat64(0) AS denominator,
    arraySort(groupArray(duration))[toUInt64(ceil(count() * 0.95))] / 1e9 AS value,
    count() AS n
FROM (
    SELECT any(Flow) AS flow, any(Duration) AS duration,
        arrayFirstIndex((s, e) -> any(Timestamp) >= toDateTime64(s, 9)
            AND any(Timestamp) < toDateTime64(e, 9), starts, ends) AS period
    FROM otel_traces
    WHERE Timestamp >= toDateTime64(arrayMin(starts), 9)
        AND Timestamp < toDateTime64(arrayMax(ends), 9)
        AND Timestamp <= toDateTime64(T, 9) AND Flow != ''
    GROUP BY TraceId, SpanId
)
WHERE period > 0
GROUP BY period, flow
