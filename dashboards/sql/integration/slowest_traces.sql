-- The slowest spans in the time range with their trace and correlation IDs: the trace ID
-- opens the trace view (the ClickHouse datasource in OTel mode), the correlation ID the
-- console's transaction page.
SELECT Timestamp AS time, TraceId AS traceID, Flow AS flow, ServiceName AS service,
    SpanName AS span, Duration / 1e6 AS duration_ms, StatusCode AS status,
    CorrelationId AS correlation_id
FROM otel_traces
WHERE $__timeFilter(Timestamp)
    AND ('__all__' IN (${flow:singlequote}) OR Flow IN (${flow:singlequote}))
ORDER BY Duration DESC
LIMIT 100
