-- The audit log, newest first, optionally narrowed to one actor, action or object.
SELECT seq, at, actor, action, object_type, object_id, detail, count() OVER () AS matching
FROM audit_log
WHERE ({actor:String} = '' OR actor = {actor:String})
  AND ({action:String} = '' OR action = {action:String})
  AND ({object_type:String} = '' OR object_type = {object_type:String})
  AND ({object_id:String} = '' OR object_id = {object_id:String})
ORDER BY at DESC, seq DESC
LIMIT {limit:UInt32} OFFSET {offset:UInt32}
