SELECT exception_id, max(version) AS version
FROM exception_history
GROUP BY exception_id
