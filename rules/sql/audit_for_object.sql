-- Audit entries about one exception, oldest first.
SELECT at, actor, action, object_type, object_id, detail
FROM audit_log
WHERE object_type = 'exception' AND object_id = {object_id:String}
ORDER BY at
