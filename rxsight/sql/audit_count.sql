SELECT count()
FROM audit_log
WHERE ({actor:String} = '' OR actor = {actor:String})
  AND ({action:String} = '' OR action = {action:String})
  AND ({object_type:String} = '' OR object_type = {object_type:String})
  AND ({object_id:String} = '' OR object_id = {object_id:String})
  -- Within a time window (the console's time control); the defaults take everything.
  AND at >= {since:DateTime64(3, 'UTC')} AND at <= {until:DateTime64(3, 'UTC')}
