-- Console sign-in sessions, held on the server so that signing out ends them
-- (rxsight/sessions.py). Only a hash of the session id is stored; the id is in the cookie.
-- Versions: the sign-in writes one, the sign-out (ended_at) a later one.
CREATE TABLE IF NOT EXISTS console_sessions (
    session_hash String,
    version UInt64,
    username String,
    address String,
    created_at DateTime64(3, 'UTC'),
    expires_at DateTime64(3, 'UTC'),
    ended_at Nullable(DateTime64(3, 'UTC'))
) ENGINE = ReplacingMergeTree(version)
ORDER BY session_hash
TTL toDateTime(expires_at) + INTERVAL 1 DAY;
