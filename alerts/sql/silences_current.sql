SELECT silence_id, version, at, matchers, starts_at, ends_at, created_by, comment, updated_by,
       deleted
FROM alert_silences
ORDER BY silence_id, version DESC
LIMIT 1 BY silence_id
