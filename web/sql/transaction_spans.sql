SELECT
    Timestamp AS start, TraceId AS trace_id, SpanId AS span_id, ParentSpanId AS parent_span_id,
    SpanName AS name, SpanKind AS kind, ServiceName AS service, Flow AS flow,
    Duration AS duration_ns, StatusCode AS status_code, StatusMessage AS status_message,
    SpanAttributes AS attributes
FROM otel_traces
WHERE CorrelationId = {correlation_id:String}
  AND Timestamp <= {as_of:DateTime64(9, 'UTC')}
ORDER BY Timestamp, SpanId
LIMIT 1 BY TraceId, SpanId
LIMIT 5000
