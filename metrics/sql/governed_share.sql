-- governed_workflow_share for the period [start, end) as of {as_of}: spans started in the
-- period with a correlation ID and a flow (one of {registered_flows} when flows are
-- configured, any otherwise) over all spans started in the period, each span once however
-- often it was sent.
WITH
    {start:DateTime64(3, 'UTC')} AS S,
    {end:DateTime64(3, 'UTC')} AS E,
    {as_of:DateTime64(3, 'UTC')} AS T
SELECT 'governed_workflow_share' AS kpi, '' AS dim, '' AS key,
    toFloat64(countIf(correlation_id != '' AND flow != ''
        AND (empty({registered_flows:Array(String)}) OR has({registered_flows:Array(String)}, flow))))
        AS numerator,
    toFloat64(count()) AS denominator, nan AS value, count() AS n
FROM (
    SELECT any(CorrelationId) AS correlation_id, any(Flow) AS flow
    FROM otel_traces
    WHERE Timestamp >= toDateTime64(S, 9) AND Timestamp < toDateTime64(E, 9)
        AND Timestamp <= toDateTime64(T, 9)
    GROUP BY TraceId, SpanId
)
