-- Every chained entry in chain order, for verification.
SELECT seq, prev_hash, hash, at, actor, action, object_type, object_id, detail
FROM audit_log
WHERE seq > 0
ORDER BY seq, hash
