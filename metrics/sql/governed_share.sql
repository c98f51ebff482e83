-- governed_workflow_share for each period [starts[i], ends[i]) as of {as_of}: spans started in
-- the period with a correlation ID and a flow (one of {registered_flows} when flows are
-- configured, any otherwise) over all spans started in the period, each span once however
-- often it was sent.
WITH
    {starts:Array(DateTime64(3, 'UTC'))} AS starts,
    {ends:Array(DateTime64(3, 'UTC'))} AS ends,
    {as_of:DateTime64(3, 'UTC')} AS T
SELECT toUInt32(period) AS period, 'governed_workflow_share' AS kpi, '' AS dim, '' AS key,
    toFloat64(countIf(correlation_id != '' AND flow != ''
        AND (empty({registered_flows:Array(String)}) OR has({registered_flows:Array(String)}, flow))))
        AS numerator,
    toFloat64(count()) AS denominator, nan AS value, count() AS n
FROM (
    SELECT any(CorrelationId) AS correlation_id, any(Flow) AS flow,
        arrayFirstIndex((s, e) -> any(Timestamp) >= toDateTime64(s, 9)
            AND any(Timestamp) < toDateTime64(e, 9), starts, ends) AS period
    FROM otel_traces
    WHERE Timestamp >= toDateTime64(arrayMin(starts), 9)
        AND Timestamp < toDateTime64(arrayMax(ends), 9)
        AND Timestamp <= toDateTime64(T, 9)
    GROUP BY TraceId, SpanId
)
WHERE period > 0
GROUP BY period
