-- Rules stage: the entity keys an incremental run looks at, one set per run and rule, read
-- by the rule queries as `IN (SELECT key FROM rules_scope WHERE run_id = ...)` (large key
-- lists do not belong in query text). Short-lived.
CREATE TABLE IF NOT EXISTS rules_scope (
    run_id String,
    key String,
    at DateTime DEFAULT now()
) ENGINE = MergeTree
ORDER BY (run_id, key)
TTL at + INTERVAL 1 HOUR;
