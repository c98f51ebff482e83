SELECT DISTINCT Flow FROM otel_traces WHERE Flow != '' ORDER BY Flow
