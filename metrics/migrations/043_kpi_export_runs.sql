-- Scheduled KPI exports (metrics stage): one row per attempt of a schedule's run. A run is
-- done once a row with status 'ok' exists for its schedule and due instant; the scheduler
-- catches up every due instant after the latest done one (missed while rxsight was down).
CREATE TABLE IF NOT EXISTS kpi_export_runs (
    schedule String,
    due_at DateTime64(3, 'UTC'),
    period LowCardinality(String),
    ran_at DateTime64(3, 'UTC'),
    status LowCardinality(String),
    file String,
    bytes UInt64,
    error String
) ENGINE = MergeTree
ORDER BY (schedule, due_at, ran_at);
