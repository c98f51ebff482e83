-- Open (not resolved) exceptions counted by family, reason, site and owner, for /metrics:
-- each exception's current state as kept in exceptions_now (rules/migrations/091).
SELECT family, reason, site, owner, count() AS n
FROM exceptions_now FINAL
WHERE status != 'resolved'
GROUP BY family, reason, site, owner
