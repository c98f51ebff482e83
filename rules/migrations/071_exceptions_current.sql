-- Each exception as it stands now (its highest version): what Grafana's dashboards
-- (dashboards/) and other SQL users read, instead of each repeating the LIMIT 1 BY.
CREATE VIEW IF NOT EXISTS exceptions_current AS
SELECT *
FROM exception_history
ORDER BY exception_id, version DESC
LIMIT 1 BY exception_id;
