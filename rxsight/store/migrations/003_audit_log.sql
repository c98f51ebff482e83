-- Every change a person makes (exceptions, silences, replays), append-only.
CREATE TABLE IF NOT EXISTS audit_log (
    at DateTime64(3, 'UTC') DEFAULT now64(3),
    actor LowCardinality(String),
    action LowCardinality(String),
    object_type LowCardinality(String),
    object_id String,
    detail String
) ENGINE = MergeTree
ORDER BY (at, object_type, object_id);
