-- Every span of one trace, with attributes and events, for the waterfall. The trace's time
-- range comes from otel_traces_trace_id_ts first (as Grafana's ClickHouse plugin does), so
-- the span table is read only in the partitions and granules of that range.
WITH bounds AS (
    SELECT min(Start) AS lo, max(End) AS hi
    FROM otel_traces_trace_id_ts
    WHERE TraceId = {trace_id:String}
)
SELECT
    Timestamp AS start, SpanId AS span_id, ParentSpanId AS parent_span_id,
    SpanName AS name, SpanKind AS kind, ServiceName AS service, Flow AS flow,
    Duration AS duration_ns, StatusCode AS status_code, StatusMessage AS status_message,
    SpanAttributes AS attributes, ResourceAttributes AS resource,
    Events.Timestamp AS event_times, Events.Name AS event_names,
    Events.Attributes AS event_attributes, CorrelationId AS correlation_id
FROM otel_traces
WHERE TraceId = {trace_id:String}
    AND Timestamp >= (SELECT lo FROM bounds) - INTERVAL 1 SECOND
    AND Timestamp <= (SELECT hi FROM bounds) + INTERVAL 1 SECOND
    -- As of an instant (the console's time control): the spans begun by then.
    AND Timestamp <= {as_of:DateTime64(9, 'UTC')}
ORDER BY Timestamp, SpanId
LIMIT 1 BY SpanId
LIMIT 2000
