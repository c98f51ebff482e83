-- The latest scheduled export attempts, newest first (the console's KPI page).
SELECT schedule, due_at, period, ran_at, status, file, bytes, error
FROM kpi_export_runs
ORDER BY ran_at DESC, due_at DESC
LIMIT {limit:UInt32}
