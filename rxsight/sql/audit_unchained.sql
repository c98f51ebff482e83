-- Entries written before the chain began, in a fixed order, for the chain's seal.
SELECT at, actor, action, object_type, object_id, detail
FROM audit_log
WHERE seq = 0
ORDER BY at, actor, action, object_type, object_id, detail
