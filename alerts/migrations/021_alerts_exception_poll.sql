-- The alerts dispatcher reads exception_history by `at` several times a second; a min-max
-- skip index lets it skip the parts written before its window. Additive, no data change.
ALTER TABLE exception_history ADD INDEX IF NOT EXISTS alerts_at_minmax at TYPE minmax GRANULARITY 1;
