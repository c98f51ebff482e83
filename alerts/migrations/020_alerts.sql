-- Alerts stage: the durable outbox, delivery attempts and silences. Append-only and
-- versioned: current state = the row with the highest `version` per key.
-- One row per state change of a webhook notification (one target of one receiver).
-- notification_id is also the Standard Webhooks `webhook-id`, stable across retries.
-- status: pending | delivered | dead. group_key + firing + resolved (alert fingerprints)
-- of the version-1 row are the notification log used to decide what needs sending again.
CREATE TABLE IF NOT EXISTS alert_notifications (
    notification_id String,
    version UInt64,
    at DateTime64(3, 'UTC'),
    status LowCardinality(String),
    receiver LowCardinality(String),
    target_url String,
    target_index UInt16,
    format LowCardinality(String),
    group_key String,
    alert_status LowCardinality(String),
    firing Array(String),
    resolved Array(String),
    body String,
    created_at DateTime64(3, 'UTC'),
    attempts UInt32,
    next_attempt_at DateTime64(3, 'UTC'),
    last_error String,
    actor LowCardinality(String)
) ENGINE = MergeTree
ORDER BY (notification_id, version)
TTL toDateTime(at) + INTERVAL 90 DAY;
-- One row per HTTP attempt: outcome is delivered | retry | failed | dead.
CREATE TABLE IF NOT EXISTS alert_delivery_attempts (
    notification_id String,
    attempt UInt32,
    at DateTime64(3, 'UTC'),
    receiver LowCardinality(String),
    target_url String,
    status_code UInt16,
    latency_ms Float64,
    outcome LowCardinality(String),
    error String
) ENGINE = MergeTree
ORDER BY (notification_id, attempt, at)
TTL toDateTime(at) + INTERVAL 90 DAY;
-- Silences: matchers as JSON [{"name","value","isRegex","isEqual"}]; expired_at set when a
-- person expires one early (ends_at is then moved to that instant too).
CREATE TABLE IF NOT EXISTS alert_silences (
    silence_id String,
    version UInt64,
    at DateTime64(3, 'UTC'),
    matchers String,
    starts_at DateTime64(3, 'UTC'),
    ends_at DateTime64(3, 'UTC'),
    created_by LowCardinality(String),
    comment String,
    updated_by LowCardinality(String),
    deleted UInt8
) ENGINE = MergeTree
ORDER BY (silence_id, version);
