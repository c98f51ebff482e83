-- The last entry of the chain.
SELECT seq, hash
FROM audit_log
WHERE seq > 0
ORDER BY seq DESC, hash
LIMIT 1
