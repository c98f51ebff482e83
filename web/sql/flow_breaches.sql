-- One flow's SLA breach exceptions, every version up to an instant, oldest first: the
-- console folds them into episodes (breaching since … until cleared).
SELECT exception_id, version, at, change, status, reason, since, summary
FROM exception_history
WHERE family = 'sla_breach' AND flow = {flow:String} AND at <= {as_of:DateTime64(3, 'UTC')}
ORDER BY exception_id, version
