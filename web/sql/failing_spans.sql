-- Recent failing or slow spans of one flow, newest first, up to `as_of`.
SELECT
    Timestamp AS start, TraceId AS trace_id, SpanId AS span_id, SpanName AS name,
    ServiceName AS service, Duration / 1e6 AS duration_ms, StatusCode AS status_code,
    StatusMessage AS status_message, CorrelationId AS correlation_id
FROM otel_traces
WHERE Flow = {flow:String}
  AND Timestamp > {as_of:DateTime64(3)} - INTERVAL 24 HOUR
  AND Timestamp <= {as_of:DateTime64(3)}
  AND (IsError = 1 OR Duration >= {slow_ns:UInt64})
ORDER BY Timestamp DESC
LIMIT 50
