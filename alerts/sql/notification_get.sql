SELECT notification_id, version, status, receiver, target_url, target_index, format, group_key,
       alert_status, firing, resolved, body, created_at, attempts, next_attempt_at, last_error
FROM alert_notifications
WHERE notification_id = {id:String}
ORDER BY version DESC
LIMIT 1
