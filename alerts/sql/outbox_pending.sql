SELECT notification_id, version, status, receiver, target_url, target_index, format, group_key,
       alert_status, firing, resolved, body, created_at, attempts, next_attempt_at, last_error
FROM (
    SELECT *
    FROM alert_notifications
    ORDER BY notification_id, version DESC
    LIMIT 1 BY notification_id
)
WHERE status = 'pending'
