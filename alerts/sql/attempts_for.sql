SELECT notification_id, attempt, at, receiver, target_url, status_code, latency_ms, outcome, error
FROM alert_delivery_attempts
WHERE notification_id IN {ids:Array(String)}
ORDER BY notification_id, at, attempt
