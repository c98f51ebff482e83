"""OTLP ingest: `wire` reads request bodies, `attributes` turns AnyValues and span
attributes into stored strings, `traces` flattens spans into otel_traces rows, `logs` turns
log records into business events."""
