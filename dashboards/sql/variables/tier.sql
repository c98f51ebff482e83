SELECT DISTINCT toString(Tier) FROM otel_traces WHERE Tier > 0 ORDER BY 1
