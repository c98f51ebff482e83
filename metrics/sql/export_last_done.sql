-- The latest due instant each schedule has exported successfully.
SELECT schedule, max(due_at) AS due_at
FROM kpi_export_runs
WHERE status = 'ok'
GROUP BY schedule
