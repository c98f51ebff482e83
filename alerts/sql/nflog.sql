-- The notification log: per group and receiver, what the last notification said.
SELECT group_key, receiver,
       argMax(firing, created_at) AS firing,
       argMax(resolved, created_at) AS resolved,
       max(created_at) AS sent_at
FROM alert_notifications
WHERE group_key != '' AND created_at >= {since:DateTime64(3)}
GROUP BY group_key, receiver
