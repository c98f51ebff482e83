-- The latest version of one session.
SELECT username, expires_at, ended_at
FROM console_sessions
WHERE session_hash = {session_hash:String}
ORDER BY version DESC
LIMIT 1
