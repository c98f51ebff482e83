-- Only the latest refresh of the kept replenishment rows is ever read, and the scheduler
-- records one per run that brought new facts: keep a day of them, not a week.
ALTER TABLE rules_replenishments_refreshed MODIFY TTL toDateTime(refreshed_at) + INTERVAL 1 DAY;
