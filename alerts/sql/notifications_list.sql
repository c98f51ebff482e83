SELECT notification_id, version, at, status, receiver, target_url, format, group_key,
       alert_status, firing, resolved, created_at, attempts, next_attempt_at, last_error, actor
FROM (
    SELECT *
    FROM alert_notifications
    WHERE created_at >= {since:DateTime64(3)}
    ORDER BY notification_id, version DESC
    LIMIT 1 BY notification_id
)
WHERE ({status:String} = '' OR status = {status:String})
  AND ({receiver:String} = '' OR receiver = {receiver:String})
ORDER BY created_at DESC, notification_id
LIMIT {limit:UInt32}
